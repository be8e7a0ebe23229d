/**
 * Errors a client causes before GraphQL runs (a body that is not JSON, too large, a bad multipart
 * request, an unknown route) and everything else express would otherwise answer itself (its
 * default handler prints the stack trace outside production): each becomes JSON with a code, in
 * one shape per route: GraphQL-shaped `{ errors: [{ message, extensions: { code } }] }` on
 * /graphql, `{ error: { code, message } }` elsewhere. Internal errors are logged with the
 * request id and masked.
 */
import { randomUUID } from 'node:crypto';
import type express from 'express';
import type { ErrorCode } from '../errors';
import type { Logger } from '../logger';

const REQUEST_ID = Symbol('requestId');

/** A refusal with its HTTP status and code. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** Names every request (logs, masked errors, the x-request-id response header). */
export function requestIds(): express.RequestHandler {
  return (_req, res, next) => {
    const id = randomUUID();
    (res.locals as Record<symbol, string>)[REQUEST_ID] = id;
    res.setHeader('x-request-id', id);
    next();
  };
}

export function requestIdOf(res: express.Response): string {
  return (res.locals as Record<symbol, string | undefined>)[REQUEST_ID] ?? randomUUID();
}

/** The /graphql shape. */
export function sendGraphQLError(res: express.Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ errors: [{ message, extensions: { code, ...extra } }] });
}

/** The shape of every other route. */
export function sendJsonError(res: express.Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error: { code, message, ...extra } });
}

interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
}

function statusOf(e: unknown): number | undefined {
  const s = (e as HttpishError | null)?.status ?? (e as HttpishError | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** express.json's errors (body-parser): 413 input/too_large, other 4xx input/malformed_request. */
export function jsonBody(parser: express.RequestHandler, maxBytes: number): express.RequestHandler {
  return (req, res, next) =>
    parser(req, res, (e?: unknown) => {
      if (!e) return next();
      const status = statusOf(e);
      const type = (e as HttpishError).type;
      if (status === 413 || type === 'entity.too.large') return next(new RequestError(413, 'input/too_large', `the request body is larger than ${maxBytes} bytes`));
      if (type === 'entity.parse.failed') return next(new RequestError(400, 'input/malformed_request', 'the request body is not valid JSON'));
      if (type === 'encoding.unsupported' || type === 'charset.unsupported') return next(new RequestError(415, 'input/malformed_request', 'unsupported body encoding or charset (send UTF-8 JSON)'));
      if (status !== undefined && status >= 400 && status < 500) return next(new RequestError(400, 'input/malformed_request', 'the request body could not be read'));
      next(e);
    });
}

/**
 * graphql-upload-minimal's errors (missing or misordered operations/map fields, bad JSON in
 * them, busboy's malformed-form errors): 400 input/bad_multipart; a field or file count over its
 * limit: 413 input/too_large. (A file over the size limit surfaces in the resolver, which reads
 * the upload: input/image_too_large.)
 */
export function multipartBody(parser: express.RequestHandler): express.RequestHandler {
  return (req, res, next) =>
    parser(req, res, (e?: unknown) => {
      if (!e) return next();
      const message = e instanceof Error ? e.message.replace(/ \(https?:\/\/[^)]*\)/, '') : 'malformed multipart request';
      if (statusOf(e) === 413) return next(new RequestError(413, 'input/too_large', message));
      next(new RequestError(400, 'input/bad_multipart', `not a GraphQL multipart request: ${message}`));
    });
}

/** The GraphQL shape on /graphql, the plain one elsewhere. */
function isGraphQLPath(req: express.Request): boolean {
  const p = req.originalUrl.split('?')[0];
  return p === '/graphql' || p.startsWith('/graphql/');
}

/** Unknown routes: 404 with a code. */
export function notFound(): express.RequestHandler {
  return (req, res) => {
    const message = `no route ${req.method} ${req.path.slice(0, 200)}`;
    if (isGraphQLPath(req)) sendGraphQLError(res, 404, 'input/invalid', message);
    else sendJsonError(res, 404, 'input/invalid', message);
  };
}

/** The last handler: coded refusals as they are, anything else logged and masked. */
export function errorHandler(log: Logger): express.ErrorRequestHandler {
  return (e: unknown, req, res, next) => {
    if (res.headersSent) return next(e);
    let status: number;
    let code: string;
    let message: string;
    let extra: Record<string, unknown> = {};
    if (e instanceof RequestError) {
      ({ status, code, message } = e);
    } else {
      const s = statusOf(e);
      if (s !== undefined && s >= 400 && s < 500 && (e as HttpishError).expose !== false) {
        // a client error some middleware raised without a code of ours
        status = s;
        code = s === 413 ? 'input/too_large' : 'input/malformed_request';
        message = 'the request could not be read';
      } else {
        const requestId = requestIdOf(res);
        log.error({ err: e, requestId, method: req.method, path: req.path }, 'internal error in an HTTP route (masked for the client)');
        status = 500;
        code = 'INTERNAL_SERVER_ERROR';
        message = 'internal server error';
        extra = { requestId };
      }
    }
    if (isGraphQLPath(req)) sendGraphQLError(res, status, code, message, extra);
    else sendJsonError(res, status, code, message, extra);
  };
}
