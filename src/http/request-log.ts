/**
 * One log line per HTTP request, when its response is finished (or the client went away):
 *
 *   {"msg":"POST /graphql 200","method":"POST","path":"/graphql","status":200,"ms":12.3,
 *    "requestId":"...","operationName":"CreateRun"}
 *
 * The path is logged without its query string (signed image URLs carry their signature there).
 * For /graphql the operation name is the request's operationName, else the name of the query
 * document's first operation, when it has one. WebSocket traffic (graphql-ws) is not HTTP
 * requests and is not logged here. 5xx responses are logged at warn, the rest at info.
 */
import type express from 'express';
import type { Logger } from '../logger';
import { requestIdOf } from './request-errors';

const NAMED_OPERATION = /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/;

function nameOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  const { operationName, query } = params as { operationName?: unknown; query?: unknown };
  if (typeof operationName === 'string' && operationName) return operationName.slice(0, 100);
  if (typeof query === 'string') return NAMED_OPERATION.exec(query.slice(0, 10_000))?.[1]?.slice(0, 100);
  return undefined;
}

/** The operation name of a /graphql request, when known (JSON or multipart body, or GET query). */
export function operationNameOf(req: express.Request): string | undefined {
  const body: unknown = req.body;
  if (Array.isArray(body)) {
    const names = body.map(nameOf).filter((n): n is string => !!n);
    return names.length ? names.join(',') : undefined;
  }
  return nameOf(body) ?? nameOf(req.query);
}

/** Mount right after requestIds(): it reads the request id that middleware set. */
export function requestLog(log: Logger): express.RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      const path = (req.originalUrl || req.url).split('?')[0];
      const operationName = path === '/graphql' ? operationNameOf(req) : undefined;
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
      const line = { method: req.method, path, status: res.statusCode, ms, requestId: requestIdOf(res), ...(operationName ? { operationName } : {}), ...(aborted ? { aborted: true } : {}) };
      const msg = `${req.method} ${path} ${res.statusCode}${aborted ? ' (aborted)' : ''}`;
      if (res.statusCode >= 500) log.warn(line, msg);
      else log.info(line, msg);
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));
    next();
  };
}
