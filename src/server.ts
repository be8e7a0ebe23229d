/** `npm start`: the embedded service (see src/app.ts), stopped cleanly on SIGINT and SIGTERM. */
import { buildApp } from './app';
import { createLogger } from './logger';

void (async () => {
  const log = createLogger();
  const app = await buildApp({ logger: log });
  const { url } = await app.start();
  log.info(`GraphQL at ${url}/graphql (HTTP and WebSocket)`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
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
