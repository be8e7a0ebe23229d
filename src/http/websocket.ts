/**
 * GraphQL over WebSocket (graphql-ws) on the HTTP server's /graphql. Apollo's validation rules
 * and formatError do not run here, so the same rules and the same error formatter are given to
 * graphql-ws's own hooks: `validate` (the HTTP rules), `onSubscribe` (token, per-connection
 * limit, a coded parse error), `onNext`/`onError` (formatGraphQLError).
 */
import type * as http from 'http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, GraphQLSchema, ValidationRule, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import type { Logger } from '../logger';
import type { AppServices, GraphQLContext } from '../resolvers/context';
import { formatGraphQLError } from '../resolvers/errors';
import { authorised } from './auth';

export interface WebSocketOptions {
  httpServer: http.Server;
  schema: GraphQLSchema;
  /** the validation rules HTTP uses (beyond graphql's specified rules) */
  rules: readonly ValidationRule[];
  services: AppServices;
  log: Logger;
  apiToken: string | undefined;
  maxPayloadBytes: number;
  maxSubscriptionsPerConnection: number;
}

export function createWebSocketServer(o: WebSocketOptions): { dispose(): Promise<void>; close(): void } {
  const wsServer = new WebSocketServer({ server: o.httpServer, path: '/graphql', maxPayload: o.maxPayloadBytes });
  const operations = new WeakMap<object, number>();
  const format = (errors: readonly GraphQLError[]) =>
    errors.map((e) => formatGraphQLError(e.toJSON(), e, o.log));
  const cleanup = useServer<Record<string, unknown>, { socket: object }>(
    {
      schema: o.schema,
      context: (): GraphQLContext => ({ services: o.services, requestId: randomUUID(), log: o.log }),
      onConnect: (ctx) => authorised(o.apiToken, ctx.connectionParams?.authorization),
      // the same rules as HTTP, with the code Apollo gives validation errors there
      validate: (schema, document) =>
        validate(schema, document, [...specifiedRules, ...o.rules]).map(
          (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
        ),
      onSubscribe: (ctx, _id, payload) => {
        const n = operations.get(ctx.extra.socket) ?? 0;
        if (n >= o.maxSubscriptionsPerConnection) {
          return [new GraphQLError(`at most ${o.maxSubscriptionsPerConnection} operations per connection`, { extensions: { code: 'server/overloaded' } })];
        }
        // graphql-ws would let a parse error close the socket; answer it as HTTP does
        let document;
        try {
          document = parse(payload.query);
        } catch (e) {
          return [new GraphQLError((e as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        if (!getOperationAST(document, payload.operationName)) {
          return [new GraphQLError('name the operation to run (operationName)', { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        operations.set(ctx.extra.socket, n + 1);
        return undefined;
      },
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatGraphQLError(e, undefined, o.log)) } : result),
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onComplete: (ctx) => {
        operations.set(ctx.extra.socket, Math.max(0, (operations.get(ctx.extra.socket) ?? 1) - 1));
      },
    },
    wsServer,
  );
  return { dispose: async () => { await cleanup.dispose(); }, close: () => wsServer.close() };
}
