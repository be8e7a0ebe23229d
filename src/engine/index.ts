/**
 * The engine's door for the service (the second, for tooling, is ./toolkit.ts). Nothing outside
 * src/engine imports past these two files; the linter (eslint.config.mjs) enforces it.
 *
 *   const engine = await createEngine({ modelsDir: 'models' });
 *   const run = await engine.start({ pack: 'cat2dog', image, params: { seed: 1 } });
 *   for await (const ev of run.events) { ... }   // step states, then result | error | cancelled
 */
import { startEngineThread, Engine, EngineLogger, RunHandle } from './runtime/worker-host';
import type { EngineOptions } from './runtime/engine-core';

export type { Engine, EngineLogger, RunHandle, EngineOptions };
export * from './types';
export * from './vocabulary';
export { CodedError, isCodedError, ERROR_CODES } from '../errors';
export type { ErrorCode } from '../errors';
export { encodeCheckpoint, decodeCheckpoint } from './sampling/checkpoint';
export { readPackInfos } from './packs/info';
export { resolveParams, runParamsSchema, DEFAULT_PREVIEW_EVERY, MAX_SEED } from './params';

/** Start the engine in a worker thread (the embedded mode), so the caller's loop never blocks. */
export function createEngine(options: EngineOptions, logger?: EngineLogger): Promise<Engine> {
  return startEngineThread(options, logger);
}
