/** Messages between the API thread (worker-host.ts) and the engine thread (worker-main.ts). */
import type { EngineErrorCode } from '../errors';
import type { EngineStatus, PackInfo, RunEvent, RunParams, TranslateRequest } from '../types';
import type { EngineOptions } from './engine-core';

export interface WorkerData {
  options: EngineOptions;
}

export type ToWorker =
  | { type: 'start'; reqId: number; request: TranslateRequest }
  | { type: 'cancel'; runId: string }
  | { type: 'status'; reqId: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; packs: PackInfo[]; status: EngineStatus }
  | { type: 'failed'; code: EngineErrorCode; message: string }
  | { type: 'started'; reqId: number; runId: string; params: RunParams }
  | { type: 'rejected'; reqId: number; code: EngineErrorCode; message: string; details: Record<string, unknown> }
  | { type: 'event'; event: RunEvent }
  | { type: 'status'; reqId: number; status: EngineStatus }
  /** unasked: the engine's status after a step, a start or a cancel (the host answers status() from it while runs step) */
  | { type: 'statusUpdate'; status: EngineStatus }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { type: 'closed' };
