/**
 * `npm run worker` and `egsde worker`: an engine worker process (scale-out). It opens the database, the queue, the
 * event bus and the image storage the configuration names (src/compose.ts), starts the engine,
 * advertises itself (id, provider, packs, capacity) and heartbeats, takes runs only for the packs
 * it has, steps them with the batcher, holds each by a renewed lease and checkpoints it, and
 * sweeps for runs whose worker died. No HTTP: API instances (ENGINE=off) serve the clients.
 * SIGINT/SIGTERM drain: running work finishes for DRAIN_MS, then goes back to the queue.
 */
import { loadConfig } from './config';
import { createLogger } from './logger';
import type { Engine } from './engine';
import { openPorts, startEngine, stopOnSignals, supervisorOf, workerDispatcher } from './compose';
import { PackCatalog } from './services/pack-catalog';

/** Start an engine worker from the environment's configuration; resolves once it is ready. */
export async function work(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger().child({ role: 'worker', workerId: config.workerId });
  const ports = await openPorts(config, log);
  let engine: Engine | undefined;
  try {
    engine = await startEngine(config, log);
    if (engine.packs.length === 0) throw new Error(`no model packs in ${config.modelsDir}: a worker needs at least one (MODELS_DIR)`);
    const { dispatcher, info, queue } = await workerDispatcher(ports, engine, config, log);
    const supervisor = supervisorOf(ports, new PackCatalog(engine.packs, ports.registry), queue, config, log);
    await supervisor.start();
    await dispatcher.start();
    log.info({ provider: info.provider, packs: info.packs.map((p) => p.name), capacity: info.capacity, database: ports.db.provider, queue: config.queue, events: config.events, storage: config.storage }, 'engine worker ready');
    stopOnSignals(log, async () => {
      await supervisor.stop();
      await dispatcher.stop(config.drainMs);
      await engine!.close();
      await ports.close();
    });
  } catch (e) {
    await engine?.close().catch(() => {});
    await ports.close();
    throw e;
  }
}

if (require.main === module) {
  work().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
