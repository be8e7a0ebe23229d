/**
 * The engine's one public surface. The server imports from here only.
 *
 *   const engine = await createEngine({ modelsDir: 'models' });
 *   const run = await engine.start({ pack: 'cat2dog', image, params: { seed: 1 } });
 *   for await (const ev of run.events) { ... }   // step states, then result | error | cancelled
 */
import { startEngineThread, Engine, EngineLogger, RunHandle } from './runtime/worker-host';
import type { EngineOptions } from './runtime/engine-core';

export type { Engine, EngineLogger, RunHandle, EngineOptions };
export * from './types';
export { EngineError, isEngineError, ENGINE_ERROR_CODES } from './errors';
export type { EngineErrorCode } from './errors';
export { EngineCore } from './runtime/engine-core';
export { resolveParams, DEFAULT_PREVIEW_EVERY } from './params';

/** Start the engine in a worker thread (the embedded mode), so the caller's loop never blocks. */
export function createEngine(options: EngineOptions, logger?: EngineLogger): Promise<Engine> {
  return startEngineThread(options, logger);
}
