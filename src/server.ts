/** `npm start` and `egsde serve`: the embedded service (see src/app.ts), stopped cleanly on SIGINT and SIGTERM. */
import { buildApp } from './app';
import { createLogger } from './logger';
import { stopOnSignals } from './compose';

/** Build and start the service from the environment's configuration; resolves once it listens. */
export async function serve(): Promise<{ port: number; url: string }> {
  const log = createLogger();
  const app = await buildApp({ logger: log });
  const started = await app.start();
  log.info(`web app at ${started.url}/ · GraphQL at ${started.url}/graphql (HTTP and WebSocket; an IDE in a browser)`);
  stopOnSignals(log, () => app.stop());
  return started;
}

if (require.main === module) {
  serve().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
