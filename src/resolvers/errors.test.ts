/** The one error path: coded errors keep their code and details; internal ones are masked and logged with cause and request id. */
import { GraphQLError } from 'graphql';
import pino from 'pino';
import { CodedError } from '../errors';
import { formatGraphQLError, toGraphQLError } from './errors';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

test('a CodedError from any layer becomes its code, plain message and details', () => {
  const { log, lines } = capturingLogger();
  const e = toGraphQLError(new CodedError('run/not_found', 'no run x', { id: 'x' }), log, 'req-1');
  expect(e.message).toBe('no run x');
  expect(e.extensions).toEqual({ id: 'x', code: 'run/not_found' });
  // wrapped by graphql-js (a located error) it is the same
  const located = new GraphQLError('no run x', { originalError: new CodedError('run/not_found', 'no run x') });
  expect(toGraphQLError(located, log, 'req-1').extensions.code).toBe('run/not_found');
  expect(lines).toHaveLength(0);
});

test('an internal error is masked with the request id and logged with its cause', () => {
  const { log, lines } = capturingLogger();
  const e = toGraphQLError(new TypeError('secret detail'), log, 'req-2');
  expect(e.message).toBe('internal server error');
  expect(e.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-2' });
  expect(JSON.stringify(e)).not.toMatch(/secret/);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ requestId: 'req-2', err: { message: 'secret detail', type: 'TypeError' } });
});

test('the formatter: coded errors pass, pre-resolver errors are BAD_USER_INPUT, leftovers are masked and logged', () => {
  const { log, lines } = capturingLogger();
  const coded = new GraphQLError('bad', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
  expect(formatGraphQLError(coded.toJSON(), coded, log)).toEqual(coded.toJSON());
  const coercion = new GraphQLError('Variable "$x" got invalid value');
  expect(formatGraphQLError(coercion.toJSON(), coercion, log).extensions).toEqual({ code: 'BAD_USER_INPUT' });
  const leaked = new GraphQLError('db password wrong', { path: ['run'], originalError: new Error('db password wrong') });
  const out = formatGraphQLError(leaked.toJSON(), leaked, log);
  expect(out.message).toBe('internal server error');
  expect(out.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  expect(typeof out.extensions?.requestId).toBe('string');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ requestId: out.extensions?.requestId, err: { message: 'db password wrong' } });
  // already masked by the middleware: kept as is, not logged twice
  const masked = new GraphQLError('internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'r' } });
  expect(formatGraphQLError(masked.toJSON(), masked, log).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'r' });
  expect(lines).toHaveLength(1);
});
