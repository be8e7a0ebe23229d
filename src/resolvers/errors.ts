/**
 * The one translation from thrown errors to what clients see, for HTTP and WebSocket alike.
 *
 * - Resolvers throw CodedErrors (from any layer). {@link ErrorMiddleware}, a type-graphql global
 *   middleware, turns them into GraphQL errors with `extensions.code` (and the error's details);
 *   anything else is an internal error: logged with its cause and the request id, and masked as
 *   `INTERNAL_SERVER_ERROR` with that request id.
 * - {@link formatGraphQLError} is the last step of both transports (Apollo's formatError, graphql-ws
 *   onNext/onError): coded errors pass; errors raised before any resolver (parse, validation,
 *   variable coercion) without a code become BAD_USER_INPUT; whatever is left is masked and logged.
 */
import { randomUUID } from 'node:crypto';
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { isCodedError } from '../errors';
import type { Logger } from '../logger';
import type { GraphQLContext } from './context';

export const INTERNAL = 'INTERNAL_SERVER_ERROR';

/** A thrown value as a GraphQL error; internal ones are logged and masked. */
export function toGraphQLError(e: unknown, log: Logger, requestId: string): GraphQLError {
  if (isCodedError(e)) return new GraphQLError(e.message, { extensions: { ...e.details, code: e.code } });
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

/** The last step of both transports. `error` is the original GraphQLError where the transport has it. */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown, log: Logger): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && code !== INTERNAL) return formatted;
  if (code === INTERNAL && typeof formatted.extensions?.requestId === 'string') return { message: formatted.message, extensions: { code: INTERNAL, requestId: formatted.extensions.requestId } };
  const original = error instanceof GraphQLError ? error : undefined;
  if (original && !original.originalError && original.path === undefined) {
    // parse, validation and variable-coercion errors: the request's fault
    return { message: formatted.message, ...(formatted.locations ? { locations: formatted.locations } : {}), extensions: { code: 'BAD_USER_INPUT' } };
  }
  const requestId = randomUUID();
  log.error({ err: original?.originalError ?? error, requestId, path: formatted.path }, 'internal error (masked for the client)');
  return { message: 'internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: INTERNAL, requestId } };
}
