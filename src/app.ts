/**
 * buildApp() -> { start(port), stop() }: wiring only. One port serves POST /graphql (Apollo
 * Server), WebSocket /graphql (graphql-ws), GET /artifacts/:key, GET /livez, /readyz and /healthz;
 * every other route and every error a client causes is answered as JSON with a code.
 * Embedded defaults: SQLite, the Run table as the queue, in-process events, local-disk images,
 * the engine in a worker thread. ENGINE=off makes an API instance (engine workers, src/worker.ts,
 * step the runs); src/compose.ts picks the other adapters.
 */
import 'reflect-metadata';
import * as http from 'http';
import { AddressInfo } from 'net';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { graphqlUploadExpress } from 'graphql-upload-minimal';
import { AppConfig, loadConfig } from './config';
import { createLogger, Logger } from './logger';
import { Engine, readPackInfos } from './engine';
import { openPorts, startEngine, supervisorOf, urlSignerOf, workerDispatcher } from './compose';
import { KeyAuthenticator } from './auth/authenticator';
import { Admission } from './services/admission';
import { RunService } from './services/run-service';
import { PackCatalog } from './services/pack-catalog';
import type { Dispatcher } from './services/dispatcher';
import { buildAppSchema } from './resolvers/schema';
import { formatGraphQLError } from './resolvers/errors';
import type { AppServices, GraphQLContext } from './resolvers/context';
import { mountRoutes } from './http/routes';
import { graphiqlPage, mountWeb } from './http/web';
import { authenticateHttp, principalOf } from './http/auth';
import { createWebSocketServer } from './http/websocket';
import { queryLimitRules, queryLimitsPlugin, tokenLimitMiddleware } from './http/query-limits';
import { corsHeaders, originGuard, originPolicy } from './http/cors';
import { errorHandler, jsonBody, multipartBody, notFound, requestIdOf, requestIds } from './http/request-errors';
import { MAX_PAGE_SIZE } from './runs';
import { requestLog } from './http/request-log';

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
    const admission = new Admission(store, ports.keys, { maxTotalSteps: config.maxTotalSteps, maxQueued: config.maxQueued });
    const runs = new RunService({ store, queue, bus, events, storage, catalog, config, log, admission });
    const auth = new KeyAuthenticator(ports.keys, {
      operatorToken: config.apiToken,
      defaults: { ratePerMinute: config.ratePerMinute, burst: config.rateBurst, maxActive: config.maxActivePerKey },
      cacheMs: config.authCacheMs,
    });
    const urls = await urlSignerOf(ports, config);
    const supervisor = supervisorOf(ports, catalog, queue, config, log);
    const services: AppServices = { runs, dispatcher, engine, catalog, queue, bus, config, auth, urls };
    const schema = buildAppSchema(bus);
    // one list of query limits for both transports (src/http/query-limits.ts)
    const limits = {
      maxAliases: config.maxAliases,
      maxDepth: config.maxQueryDepth,
      maxCost: config.maxQueryCost,
      maxTokens: config.maxQueryTokens,
      maxDirectives: config.maxDirectives,
      introspection: config.introspection,
      maxPageSize: MAX_PAGE_SIZE,
    };
    const rules = queryLimitRules(limits);
    // a JSON body may carry an image as a data URL (base64: 4/3 of the bytes); at least 1 MiB, so
    // that an oversized query is parsed as JSON and refused by the token limit with its own code
    const maxBodyBytes = Math.max(Math.ceil(config.maxImageBytes * 1.4) + 65536, 2 ** 20);
    const origins = originPolicy(config.allowedOrigins);

    const app = express();
    app.disable('x-powered-by');
    app.use(requestIds(), requestLog(log), corsHeaders(origins));
    const httpServer = http.createServer(app);
    const ws = createWebSocketServer({
      httpServer,
      schema,
      rules,
      services,
      log,
      maxPayloadBytes: config.wsMaxPayloadBytes,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      maxQueryTokens: config.maxQueryTokens,
      origins,
      hideSchemaDetails: !config.introspection,
    });
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      validationRules: rules,
      introspection: config.introspection,
      // "Did you mean ...?" names schema members: hidden while introspection is off
      hideSchemaDetailsFromClientErrors: !config.introspection,
      // never, in any NODE_ENV (formatGraphQLError drops them too)
      includeStacktraceInErrorResponses: false,
      // the backstop of the token check that tokenLimitMiddleware runs before parsing
      parseOptions: { maxTokens: config.maxQueryTokens },
      // SIGINT/SIGTERM belong to stopOnSignals (src/compose.ts): Apollo's own handlers re-raised the signal
      stopOnTerminationSignals: false,
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        // the CDN landing page is replaced by the bundled IDE (src/http/web.ts)
        ApolloServerPluginLandingPageDisabled(),
        { async serverWillStart() { return { async drainServer() { await ws.dispose(); } }; } },
        queryLimitsPlugin(),
      ],
      formatError: (formatted, error) => formatGraphQLError(formatted, error, log),
    });
    mountRoutes(app, { services, storage, database: ports.db.provider, pingDatabase: () => ports.db.prisma.$queryRawUnsafe('SELECT 1') });
    mountWeb(app, config.modelsDir);

    let started = false;
    return {
      config,
      services,
      async start(port = config.port) {
        // the first sweep recovers runs whose worker died (expired leases only) before any work starts
        await supervisor.start();
        await apollo.start();
        // /graphql: request id and CORS headers (app-wide, above), the origin check (a refused
        // browser origin gets 403 before anything runs; preflights of listed origins were answered
        // 204 by CORS), authentication, the body (multipart, then JSON; coded refusals), the token
        // limit (before any parse), Apollo (validation rules, formatError); then 404 and the error
        // handler, app-wide
        app.all(
          '/graphql',
          graphiqlPage(),
          originGuard(origins),
          authenticateHttp(auth),
          multipartBody(graphqlUploadExpress({ maxFileSize: config.maxImageBytes + 1, maxFiles: 1 })),
          jsonBody(express.json({ limit: maxBodyBytes }), maxBodyBytes),
          tokenLimitMiddleware(config.maxQueryTokens),
          expressMiddleware(apollo, { context: async ({ res }): Promise<GraphQLContext> => ({ services, requestId: requestIdOf(res), log, principal: principalOf(res) }) }),
        );
        app.use(notFound(), errorHandler(log));
        await new Promise<void>((resolve) => httpServer.listen(port, resolve));
        await dispatcher?.start();
        started = true;
        const p = (httpServer.address() as AddressInfo).port;
        if (await auth.isOpen()) log.warn('no API key exists and API_TOKEN is not set: the service is OPEN, every caller is an admin (local use); create a key with `npm run egsde -- keys create --name NAME`');
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
