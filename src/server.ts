/**
 * buildApp() -> { start(port), stop() }: one port serves POST /graphql (Apollo Server),
 * WebSocket /graphql (graphql-ws), GET /artifacts/:key (images) and GET /healthz.
 * Embedded defaults: SQLite, the Run table as the queue, in-process events, local-disk images.
 */
import 'reflect-metadata';
import * as http from 'http';
import { AddressInfo } from 'net';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, GraphQLFormattedError, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import { AppConfig, loadConfig } from './config';
import { createLogger, Logger } from './logger';
import { createEngine, Engine } from './engine';
import { openDatabase, Database } from './db/client';
import { PrismaRunStore, RunStore } from './services/run-store';
import { LocalDiskStorage } from './storage';
import { MemoryEventBus } from './events/memory-event-bus';
import { TableRunQueue } from './queue/table-queue';
import { RunEventsLog } from './services/run-events-log';
import { RunService } from './services/run-service';
import { Dispatcher } from './services/dispatcher';
import { buildAppSchema } from './resolvers/schema';
import { depthLimit } from './resolvers/depth-limit';
import type { AppServices, GraphQLContext } from './resolvers/context';

export interface BuildAppOptions {
  /** configuration over the environment's (loadConfig) */
  config?: Partial<AppConfig>;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface App {
  readonly config: AppConfig;
  readonly services: AppServices;
  /** Listen (port 0: any free port); resolves with the port and base URL. */
  start(port?: number): Promise<{ port: number; url: string }>;
  /** Drain: stop taking work, finish or re-queue running runs, complete subscriptions, close. */
  stop(): Promise<void>;
}

/** Runs left RUNNING by a crash: retried, or failed with a reason; their subscribers are told. */
async function recover(store: RunStore, events: RunEventsLog, config: AppConfig, log: Logger): Promise<void> {
  const interrupted = (await store.list({ status: 'RUNNING' }, 200)).rows;
  if (interrupted.length === 0) return;
  const counts = await store.recoverInterrupted(config.maxAttempts);
  for (const r of interrupted) {
    const now = await store.get(r.id);
    if (!now) continue;
    events.track(r.id, now.lastSeq);
    if (now.status === 'QUEUED') await events.append(r.id, { type: 'STATUS', status: 'QUEUED' });
    else if (now.status === 'FAILED') await events.append(r.id, { type: 'ERROR', error: { code: now.errorCode ?? 'run/interrupted', message: now.errorMessage ?? '' } });
    else if (now.status === 'CANCELLED') await events.append(r.id, { type: 'CANCELLED' });
    events.forget(r.id);
  }
  log.warn({ ...counts }, 'recovered runs interrupted by the last shutdown');
}

/** Errors without a code become a masked internal error; coded ones pass. */
function codedError(e: GraphQLError): GraphQLError {
  const code = e.extensions?.code as string | undefined;
  if (code && code !== 'INTERNAL_SERVER_ERROR') return e;
  if (!e.originalError && e.path === undefined) return new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'BAD_USER_INPUT' } });
  return new GraphQLError('internal server error', { path: e.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

export async function buildApp(options: BuildAppOptions = {}): Promise<App> {
  const config = loadConfig(options.env ?? process.env, options.config);
  const log = options.logger ?? createLogger();
  const db: Database = await openDatabase(config.databaseUrl);
  let engine: Engine | undefined;
  try {
    const store = new PrismaRunStore(db.prisma);
    const storage = new LocalDiskStorage(config.artifactsDir);
    engine = await createEngine(
      { modelsDir: config.modelsDir, allowSharedFiles: config.allowSharedModelFiles, packsRoot: config.modelsRoot, providers: config.providers, maxBatch: config.maxBatch, intraOpThreads: config.threads },
      log,
    );
    const bus = new MemoryEventBus();
    const queue = new TableRunQueue(store);
    const events = new RunEventsLog(store, bus);
    await recover(store, events, config, log);
    const dispatcher = new Dispatcher({ store, queue, bus, events, storage, engine, log, concurrency: config.concurrency });
    const runs = new RunService({ store, queue, bus, events, storage, engine, config });
    const services: AppServices = { runs, dispatcher, engine, queue, bus, config };
    const schema = buildAppSchema(bus);
    const rules = [depthLimit(config.maxQueryDepth)];

    const app = express();
    app.disable('x-powered-by');
    const httpServer = http.createServer(app);
    const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: Math.ceil(config.maxImageBytes * 1.4) + 65536 });
    const wsSubscriptions = new WeakMap<object, number>();
    const wsCleanup = useServer<Record<string, unknown>, { socket: object }>(
      {
        schema,
        context: (): GraphQLContext => ({ services }),
        onConnect: (ctx) => {
          if (!config.apiToken) return true;
          const auth = ctx.connectionParams?.authorization;
          return typeof auth === 'string' && bearer(auth) === config.apiToken;
        },
        onSubscribe: (ctx, _id, payload) => {
          const n = wsSubscriptions.get(ctx.extra.socket) ?? 0;
          if (n >= config.maxSubscriptionsPerConnection) {
            return [new GraphQLError(`at most ${config.maxSubscriptionsPerConnection} operations per connection`, { extensions: { code: 'server/overloaded' } })];
          }
          let doc;
          try {
            doc = parse(payload.query);
          } catch (e) {
            return [new GraphQLError((e as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
          }
          if (!getOperationAST(doc, payload.operationName)) {
            return [new GraphQLError('name the operation to run (operationName)', { extensions: { code: 'BAD_USER_INPUT' } })];
          }
          const errors = validate(schema, doc, [...specifiedRules, ...rules]);
          // the same code Apollo gives validation errors over HTTP
          if (errors.length) return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
          wsSubscriptions.set(ctx.extra.socket, n + 1);
          return undefined;
        },
        // the same masking and codes as HTTP (Apollo's formatError does not see WebSocket results)
        onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map(codedError) } : result),
        onError: (_ctx, _id, _payload, errors) => errors.map(codedError),
        onComplete: (ctx) => {
          wsSubscriptions.set(ctx.extra.socket, Math.max(0, (wsSubscriptions.get(ctx.extra.socket) ?? 1) - 1));
        },
      },
      wsServer,
    );
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      validationRules: rules,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
      ],
      formatError: (formatted: GraphQLFormattedError): GraphQLFormattedError => {
        const code = formatted.extensions?.code as string | undefined;
        if (!code || code === 'INTERNAL_SERVER_ERROR') return { message: 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
        return formatted;
      },
    });

    app.get('/healthz', async (_req, res) => {
      try {
        const s = await engine!.status();
        res.json({ status: 'ok', provider: s.provider, database: db.provider, packs: s.packs, activeRuns: dispatcher.activeRuns, queueLength: await queue.length() });
      } catch (e) {
        res.status(503).json({ status: 'unavailable', error: (e as Error).message });
      }
    });
    app.get('/artifacts/:key', async (req, res) => {
      try {
        const a = await storage.get(req.params.key);
        if (!a) {
          res.status(404).json({ error: { code: 'storage/not_found', message: `no artifact ${req.params.key}` } });
          return;
        }
        res.setHeader('content-type', a.contentType);
        res.setHeader('cache-control', 'public, max-age=31536000, immutable');
        res.end(a.bytes);
      } catch {
        res.status(404).json({ error: { code: 'storage/not_found', message: 'not an artifact key' } });
      }
    });
    const auth: express.RequestHandler = (req, res, next) => {
      if (config.apiToken && bearer(req.headers.authorization) !== config.apiToken) {
        res.status(401).json({ errors: [{ message: 'missing or wrong API token', extensions: { code: 'auth/forbidden' } }] });
        return;
      }
      next();
    };

    let started = false;
    return {
      config,
      services,
      async start(port = config.port) {
        await apollo.start();
        app.use(
          '/graphql',
          auth,
          graphqlUploadExpress({ maxFileSize: config.maxImageBytes + 1, maxFiles: 1 }),
          express.json({ limit: Math.ceil(config.maxImageBytes * 1.4) + 65536 }),
          expressMiddleware(apollo, { context: async (): Promise<GraphQLContext> => ({ services }) }),
        );
        await new Promise<void>((resolve) => httpServer.listen(port, resolve));
        dispatcher.start();
        started = true;
        const p = (httpServer.address() as AddressInfo).port;
        log.info({ port: p, database: db.provider, packs: engine!.packs.map((x) => x.name) }, 'egsde service listening');
        return { port: p, url: `http://127.0.0.1:${p}` };
      },
      async stop() {
        await dispatcher.stop(config.drainMs);
        await bus.close();
        if (started) await apollo.stop();
        else await wsCleanup.dispose();
        wsServer.close();
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await engine!.close();
        await db.close();
      },
    };
  } catch (e) {
    await engine?.close().catch(() => {});
    await db.close();
    throw e;
  }
}

if (require.main === module) {
  void (async () => {
    const log = createLogger();
    const app = await buildApp({ logger: log });
    const { url } = await app.start();
    log.info(`GraphQL at ${url}/graphql (HTTP and WebSocket)`);
    const shutdown = async (signal: string) => {
      log.info({ signal }, 'stopping');
      await app.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
