/**
 * GraphQL over WebSocket (graphql-ws) on the HTTP server's /graphql. Apollo's validation rules
 * and formatError do not run here, so the same rules and the same error formatter are given to
 * graphql-ws's own hooks: `validate` (the HTTP rules), `onSubscribe` (per-connection limit, the
 * token limit before any parse, a coded parse error), `onNext`/`onError` (formatGraphQLError).
 * The handshake checks the browser Origin (ALLOWED_ORIGINS; 403 auth/origin_refused) and
 * messages are limited to maxPayloadBytes (GraphQL operations; images go over HTTP): a larger
 * one closes the socket with 1009.
 */
import type * as http from 'http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, GraphQLSchema, ValidationRule, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import type { Logger } from '../logger';
import type { AppServices, GraphQLContext } from '../resolvers/context';
import { formatGraphQLError } from '../resolvers/errors';
import type { Principal } from '../auth/principal';
import { isCodedError, isErrorCode } from '../errors';
import { OriginPolicy, verifyOrigin } from './cors';
import { limitsFirst, tokenLimitError, withoutSuggestions } from './query-limits';

export interface WebSocketOptions {
  httpServer: http.Server;
  schema: GraphQLSchema;
  /** the validation rules HTTP uses (beyond graphql's specified rules) */
  rules: readonly ValidationRule[];
  services: AppServices;
  log: Logger;
  /** the largest message (WS_MAX_PAYLOAD_BYTES) */
  maxPayloadBytes: number;
  maxSubscriptionsPerConnection: number;
  /** lexical tokens per operation document (MAX_QUERY_TOKENS), counted before parsing */
  maxQueryTokens: number;
  /** browser origins allowed on the handshake */
  origins: OriginPolicy;
  /** drop "Did you mean" suggestions (schema details) from validation errors: while introspection is off */
  hideSchemaDetails: boolean;
}

export function createWebSocketServer(o: WebSocketOptions): { dispose(): Promise<void>; close(): void } {
  const wsServer = new WebSocketServer({ server: o.httpServer, path: '/graphql', maxPayload: o.maxPayloadBytes, verifyClient: verifyOrigin(o.origins) });
  // ws reports a peer's protocol violations (a message over maxPayload: WS_ERR_UNSUPPORTED_MESSAGE_LENGTH,
  // bad frames, bad UTF-8) as an 'error' after it has closed the socket with their code (1009,
  // 1002, 1007); graphql-ws would print each to the console with its stack as an internal error.
  // They are the client's: one log line, no stack.
  wsServer.on('connection', (socket) => {
    const emit = socket.emit.bind(socket);
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      const err = args[0] as { code?: unknown; message?: unknown } | undefined;
      if (event === 'error' && typeof err?.code === 'string' && err.code.startsWith('WS_ERR_')) {
        o.log.info({ code: err.code, reason: err.message }, 'WebSocket client broke the protocol; socket closed');
        return true;
      }
      return emit(event, ...args);
    }) as typeof socket.emit;
  });
  const operations = new WeakMap<object, number>();
  const format = (errors: readonly GraphQLError[]) =>
    errors.map((e) => formatGraphQLError(e.toJSON(), e, o.log));
  const principals = new WeakMap<object, Principal>();
  const cleanup = useServer<Record<string, unknown>, { socket: { close(code: number, reason: string): void } }>(
    {
      schema: o.schema,
      context: (ctx): GraphQLContext => {
        const principal = principals.get(ctx.extra.socket);
        if (!principal) throw new Error('operation on an unauthenticated connection');
        return { services: o.services, requestId: randomUUID(), log: o.log, principal };
      },
      // the key travels in connectionParams.authorization; a refusal closes with 4401 and the code
      onConnect: async (ctx) => {
        try {
          principals.set(ctx.extra.socket, await o.services.auth.authenticate(ctx.connectionParams?.authorization));
          return true;
        } catch (e) {
          if (!isCodedError(e)) throw e;
          ctx.extra.socket.close(e.code === 'auth/unauthenticated' ? 4401 : 4403, `${e.code}: ${e.message}`.slice(0, 120));
          return false;
        }
      },
      // the same rules as HTTP: a rule's own code (the limits) as there, else the code Apollo gives validation errors
      validate: (schema, document) =>
        limitsFirst(validate(schema, document, [...specifiedRules, ...o.rules])).map(
          (e) =>
            new GraphQLError(o.hideSchemaDetails ? withoutSuggestions(e.message) : e.message, {
              nodes: e.nodes,
              extensions: isErrorCode(e.extensions.code) ? e.extensions : { code: 'GRAPHQL_VALIDATION_FAILED' },
            }),
        ),
      onSubscribe: (ctx, _id, payload) => {
        const n = operations.get(ctx.extra.socket) ?? 0;
        if (n >= o.maxSubscriptionsPerConnection) {
          return [new GraphQLError(`at most ${o.maxSubscriptionsPerConnection} operations per connection`, { extensions: { code: 'server/overloaded' } })];
        }
        // the token limit before any AST is built, as on HTTP
        const tooMany = tokenLimitError(payload.query, o.maxQueryTokens);
        if (tooMany) return [tooMany];
        // graphql-ws would let a parse error close the socket; answer it as HTTP does
        let document;
        try {
          document = parse(payload.query, { maxTokens: o.maxQueryTokens });
        } catch (e) {
          return [new GraphQLError((e as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        if (!getOperationAST(document, payload.operationName)) {
          return [new GraphQLError('name the operation to run (operationName)', { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        operations.set(ctx.extra.socket, n + 1);
        return undefined;
      },
      // execution results: variable-coercion errors (no data, no path) read BAD_USER_INPUT as on HTTP
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatGraphQLError(e.toJSON(), e, o.log)) } : result),
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onComplete: (ctx) => {
        operations.set(ctx.extra.socket, Math.max(0, (operations.get(ctx.extra.socket) ?? 1) - 1));
      },
    },
    wsServer,
  );
  return { dispose: async () => { await cleanup.dispose(); }, close: () => wsServer.close() };
}
