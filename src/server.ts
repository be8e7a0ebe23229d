/** `npm start`: the embedded service (see src/app.ts), stopped cleanly on SIGINT and SIGTERM. */
import { buildApp } from './app';
import { createLogger } from './logger';
import { stopOnSignals } from './compose';

void (async () => {
  const log = createLogger();
  const app = await buildApp({ logger: log });
  const { url } = await app.start();
  log.info(`GraphQL at ${url}/graphql (HTTP and WebSocket)`);
  stopOnSignals(log, () => app.stop());
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
