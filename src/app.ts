/**
 * buildApp() -> { start(port), stop() }: wiring only. One port serves POST /graphql (Apollo
 * Server), WebSocket /graphql (graphql-ws), GET /artifacts/:key and GET /healthz.
 * Embedded defaults: SQLite, the Run table as the queue, in-process events, local-disk images,
 * the engine in a worker thread.
 */
import 'reflect-metadata';
import * as http from 'http';
import { randomUUID } from 'node:crypto';
import { AddressInfo } from 'net';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import { AppConfig, loadConfig } from './config';
import { createLogger, Logger } from './logger';
import { createEngine, Engine } from './engine';
import { openDatabase, Database } from './db/client';
import { PrismaRunStore } from './adapters/prisma/run-store';
import { LocalDiskStorage } from './storage';
import { MemoryEventBus } from './events/memory-event-bus';
import { TableRunQueue } from './queue/table-queue';
import { RunEventsLog } from './services/run-events-log';
import { RunService } from './services/run-service';
import { Dispatcher } from './services/dispatcher';
import { buildAppSchema } from './resolvers/schema';
import { depthLimit } from './resolvers/depth-limit';
import { formatGraphQLError } from './resolvers/errors';
import type { AppServices, GraphQLContext } from './resolvers/context';
import { mountRoutes, requireToken } from './http/routes';
import { createWebSocketServer } from './http/websocket';

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
    const runs = new RunService({ store, queue, bus, events, storage, engine, config });
    const recovered = await runs.recover(config.maxAttempts);
    if (recovered.requeued + recovered.failed + recovered.cancelled > 0) log.warn({ ...recovered }, 'recovered runs interrupted by the last shutdown');
    const dispatcher = new Dispatcher({ store, queue, bus, events, storage, engine, log, concurrency: config.concurrency });
    const services: AppServices = { runs, dispatcher, engine, queue, bus, config };
    const schema = buildAppSchema(bus);
    const rules = [depthLimit(config.maxQueryDepth)];
    const maxBodyBytes = Math.ceil(config.maxImageBytes * 1.4) + 65536;

    const app = express();
    app.disable('x-powered-by');
    const httpServer = http.createServer(app);
    const ws = createWebSocketServer({
      httpServer,
      schema,
      rules,
      services,
      log,
      apiToken: config.apiToken,
      maxPayloadBytes: maxBodyBytes,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
    });
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      validationRules: rules,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        { async serverWillStart() { return { async drainServer() { await ws.dispose(); } }; } },
      ],
      formatError: (formatted, error) => formatGraphQLError(formatted, error, log),
    });
    mountRoutes(app, { engine, storage, queue, database: db.provider, activeRuns: () => dispatcher.activeRuns });

    let started = false;
    return {
      config,
      services,
      async start(port = config.port) {
        await apollo.start();
        app.use(
          '/graphql',
          requireToken(config.apiToken),
          graphqlUploadExpress({ maxFileSize: config.maxImageBytes + 1, maxFiles: 1 }),
          express.json({ limit: maxBodyBytes }),
          expressMiddleware(apollo, { context: async (): Promise<GraphQLContext> => ({ services, requestId: randomUUID(), log }) }),
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
        else await ws.dispose();
        ws.close();
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
