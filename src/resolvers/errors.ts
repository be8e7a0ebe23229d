/**
 * Every error a client sees carries a code in extensions.code: service codes (input/*, run/*),
 * engine codes (engine/*, pack/*), GraphQL's own (GRAPHQL_VALIDATION_FAILED, ...). Anything
 * else is an internal error whose details stay in the log.
 */
import { GraphQLError } from 'graphql';
import { isEngineError } from '../engine';
import { isServiceError } from '../services/errors';

export function toGraphQLError(e: unknown): GraphQLError {
  if (e instanceof GraphQLError) return e;
  if (isServiceError(e)) return new GraphQLError(e.message, { extensions: { code: e.code, ...e.details } });
  if (isEngineError(e)) {
    const code = e.code === 'engine/invalid_input' ? 'input/params_out_of_range' : e.code;
    return new GraphQLError(e.message.replace(`${e.code}: `, ''), { extensions: { code, ...e.details } });
  }
  return new GraphQLError('internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' }, originalError: e as Error });
}

/** Convert thrown errors of an async function. */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toGraphQLError(e);
  }
}

/** Convert errors raised while iterating. */
export async function* guardIterable<T>(it: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* it;
  } catch (e) {
    throw toGraphQLError(e);
  }
}
