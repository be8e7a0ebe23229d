/**
 * The one translation from thrown errors to what clients see, for HTTP and WebSocket alike.
 *
 * - Resolvers throw CodedErrors (from any layer). {@link ErrorMiddleware}, a type-graphql global
 *   middleware, turns them into GraphQL errors with `extensions.code` (and the error's details);
 *   anything else is an internal error: logged with its cause and the request id, and masked as
 *   `INTERNAL_SERVER_ERROR` with that request id.
 * - {@link formatGraphQLError} is the last step of both transports (Apollo's formatError, graphql-ws
 *   onNext/onError): coded errors pass (a code of ours under Apollo's validation wrapper wins;
 *   Apollo's BAD_REQUEST becomes input/malformed_request, or query/wrong_transport for a method or
 *   GET it refuses); errors raised before any resolver (parse, validation, variable coercion)
 *   without a code become BAD_USER_INPUT; whatever is left is masked and logged. No stack trace
 *   goes out in any mode.
 */
import { randomUUID } from 'node:crypto';
import { GraphQLError, GraphQLFormattedError, Kind } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { ErrorCode, isCodedError, isErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { GraphQLContext } from './context';

export const INTERNAL = 'INTERNAL_SERVER_ERROR';

/**
 * graphql-upload-minimal rejects an upload a multipart request promised but did not deliver (the
 * file missing, the request cut off) with an http-errors style error (status, expose): the
 * request's fault, found only when the resolver awaits the upload.
 */
function uploadError(e: unknown): GraphQLError | undefined {
  const x = e as { status?: unknown; expose?: unknown; message?: unknown } | null;
  if (!(e instanceof Error) || typeof x?.status !== 'number' || x.expose !== true || x.status < 400 || x.status >= 500) return undefined;
  const tooLarge = x.status === 413;
  return new GraphQLError(tooLarge ? e.message : `not a GraphQL multipart request: ${e.message}`, {
    extensions: { code: tooLarge ? 'input/too_large' : 'input/bad_multipart', http: { status: tooLarge ? 413 : 400 } },
  });
}

/** A thrown value as a GraphQL error; internal ones are logged and masked. */
export function toGraphQLError(e: unknown, log: Logger, requestId: string): GraphQLError {
  if (isCodedError(e)) return new GraphQLError(e.message, { extensions: { ...e.details, code: e.code } });
  const upload = uploadError(e);
  if (upload) return upload;
  if (e instanceof GraphQLError) {
    if (isCodedError(e.originalError)) return toGraphQLError(e.originalError, log, requestId);
    const code = e.extensions?.code;
    if (typeof code === 'string' && code !== INTERNAL) return e;
  }
  log.error({ err: e, requestId }, 'internal error (masked for the client)');
  return new GraphQLError('internal server error', { extensions: { code: INTERNAL, requestId } });
}

/** The global middleware every resolver runs through. */
export const ErrorMiddleware: MiddlewareFn<GraphQLContext> = async ({ context }, next) => {
  try {
    return await next();
  } catch (e) {
    throw toGraphQLError(e, context.log, context.requestId);
  }
};

/** Errors raised while a subscription's source stream iterates (outside any resolver). */
export async function* translateIterationErrors<T>(it: AsyncIterable<T>, ctx: GraphQLContext): AsyncGenerator<T> {
  try {
    yield* it;
  } catch (e) {
    throw toGraphQLError(e, ctx.log, ctx.requestId);
  }
}

/** What a refused __schema / __type says (our rule and Apollo's, so HTTP reports it once). */
export const INTROSPECTION_DISABLED_MESSAGE = 'introspection is disabled on this server (INTROSPECTION=0): __schema and __type are refused';

/** Extensions a client never sees: stack traces (any mode), Apollo's transport details. */
const HIDDEN_EXTENSIONS = new Set(['stacktrace', 'exception', 'http', 'validationErrorCode']);

function visibleExtensions(ext: GraphQLFormattedError['extensions']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ext ?? {})) if (!HIDDEN_EXTENSIONS.has(k)) out[k] = v;
  return out;
}

/** A code of ours under a transport's wrapper: Apollo wraps a validation rule's coded error as GRAPHQL_VALIDATION_FAILED. */
function innerCode(error: unknown): ErrorCode | undefined {
  const inner = error instanceof GraphQLError ? error.originalError : undefined;
  if (inner instanceof GraphQLError && isErrorCode(inner.extensions?.code)) return inner.extensions.code;
  if (isCodedError(inner)) return inner.code;
  return undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  const http = error instanceof GraphQLError ? (error.extensions?.http as { status?: unknown } | undefined) : undefined;
  return typeof http?.status === 'number' ? http.status : undefined;
}

/**
 * The last step of both transports. `error` is the original GraphQLError where the transport has
 * it. Nothing but message, locations, path and extensions (without any stack trace) goes out.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, log: Logger): GraphQLFormattedError {
  const where = { ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) };
  const extensions = visibleExtensions(formatted.extensions);
  const inner = innerCode(error);
  if (inner) return { message: formatted.message, ...where, extensions: { ...extensions, code: inner } };
  // Apollo's own refusals of a request that is not GraphQL over HTTP as it takes it
  if (formatted.extensions?.validationErrorCode === 'INTROSPECTION_DISABLED') {
    return { message: INTROSPECTION_DISABLED_MESSAGE, ...where, extensions: { code: 'query/introspection_disabled' } };
  }
  if (formatted.extensions?.code === 'BAD_REQUEST') {
    return { message: formatted.message, extensions: { code: httpStatusOf(error) === 405 ? 'query/wrong_transport' : 'input/malformed_request' } };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && code !== INTERNAL) return { message: formatted.message, ...where, extensions };
  if (code === INTERNAL && typeof formatted.extensions?.requestId === 'string') return { message: formatted.message, extensions: { code: INTERNAL, requestId: formatted.extensions.requestId } };
  const original = error instanceof GraphQLError ? error : undefined;
  // a variable's value that does not coerce (its scalar's own error is the cause): no path, located at the variable
  const coercion = original?.path === undefined && original?.nodes?.[0]?.kind === Kind.VARIABLE_DEFINITION;
  if (original && ((!original.originalError && original.path === undefined) || coercion)) {
    // parse, validation and variable-coercion errors: the request's fault
    return { message: formatted.message, ...where, extensions: { code: 'BAD_USER_INPUT' } };
  }
  const requestId = randomUUID();
  log.error({ err: original?.originalError ?? error, requestId, path: formatted.path }, 'internal error (masked for the client)');
  return { message: 'internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: INTERNAL, requestId } };
}
