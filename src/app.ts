/**
 * buildApp() -> { start(port), stop() }: wiring only. One port serves POST /graphql (Apollo
 * Server), WebSocket /graphql (graphql-ws), GET /artifacts/:key and GET /healthz.
 * Embedded defaults: SQLite, the Run table as the queue, in-process events, local-disk images,
 * the engine in a worker thread. ENGINE=off makes an API instance (engine workers, src/worker.ts,
 * step the runs); src/compose.ts picks the other adapters.
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
import { Engine, readPackInfos } from './engine';
import { openPorts, startEngine, supervisorOf, workerDispatcher } from './compose';
import { RunService } from './services/run-service';
import { PackCatalog } from './services/pack-catalog';
import type { Dispatcher } from './services/dispatcher';
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
  const ports = await openPorts(config, log);
  let engine: Engine | undefined;
  try {
    if (config.engine === 'embedded') {
      engine = await startEngine(config, log);
    }
    const localPacks = engine ? engine.packs : await readPackInfos(config.modelsDir, { root: config.modelsRoot, allowSharedFiles: config.allowSharedModelFiles }).catch(() => []);
    const catalog = new PackCatalog(localPacks, ports.registry);
    // one queue object serves as producer and, with an engine here, as this worker's consumer
    const queue = ports.queue(engine ? engine.packs.map((p) => p.name) : undefined);
    let dispatcher: Dispatcher | undefined;
    if (engine) dispatcher = (await workerDispatcher(ports, engine, config, log, queue)).dispatcher;
    const { store, bus, events, storage } = ports;
    const runs = new RunService({ store, queue, bus, events, storage, catalog, config, log });
    const supervisor = supervisorOf(ports, catalog, queue, config, log);
    const services: AppServices = { runs, dispatcher, engine, catalog, queue, bus, config };
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
    mountRoutes(app, { services, storage, database: ports.db.provider });

    let started = false;
    return {
      config,
      services,
      async start(port = config.port) {
        // the first sweep recovers runs whose worker died (expired leases only) before any work starts
        await supervisor.start();
        await apollo.start();
        app.use(
          '/graphql',
          requireToken(config.apiToken),
          graphqlUploadExpress({ maxFileSize: config.maxImageBytes + 1, maxFiles: 1 }),
          express.json({ limit: maxBodyBytes }),
          expressMiddleware(apollo, { context: async (): Promise<GraphQLContext> => ({ services, requestId: randomUUID(), log }) }),
        );
        await new Promise<void>((resolve) => httpServer.listen(port, resolve));
        await dispatcher?.start();
        started = true;
        const p = (httpServer.address() as AddressInfo).port;
        log.info(
          { port: p, database: ports.db.provider, queue: config.queue, events: config.events, storage: config.storage, engine: config.engine, packs: catalog.packs().map((x) => x.name), ...(engine ? { workerId: config.workerId } : {}) },
          'egsde service listening',
        );
        return { port: p, url: `http://127.0.0.1:${p}` };
      },
      async stop() {
        await supervisor.stop();
        await dispatcher?.stop(config.drainMs);
        await ports.bus.close(); // ends every subscription
        if (started) await apollo.stop();
        else await ws.dispose();
        ws.close();
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await engine?.close();
        await ports.close();
      },
    };
  } catch (e) {
    await engine?.close().catch(() => {});
    await ports.close();
    throw e;
  }
}
