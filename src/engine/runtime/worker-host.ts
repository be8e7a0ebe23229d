/**
 * The API-thread side of the engine: starts the engine thread, forwards requests, turns each
 * run's events into an async iterable.
 */
import { randomUUID } from 'crypto';
import { Worker } from 'worker_threads';
import { EngineError } from '../errors';
import type { EngineStatus, PackInfo, RunEvent, RunParams, TranslateRequest } from '../types';
import { Channel } from '../../util/channel';
import type { EngineOptions } from './engine-core';
import type { FromWorker, ToWorker } from './worker-protocol';
import { workerEntry } from './worker-entry';

export interface EngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RunHandle {
  runId: string;
  params: RunParams;
  /** step states, then exactly one of result | error | cancelled; then it ends */
  events: AsyncIterable<RunEvent>;
}

export interface Engine {
  readonly packs: PackInfo[];
  start(req: TranslateRequest): Promise<RunHandle>;
  /** Cancel a run; it stops at the next step boundary. */
  cancel(runId: string): void;
  /** The engine's status; while runs step, as of the latest step boundary (it never waits for a step). */
  status(): Promise<EngineStatus>;
  /** Stop the engine thread; unfinished runs end with engine/closed. */
  close(): Promise<void>;
}

export async function startEngineThread(options: EngineOptions, logger?: EngineLogger): Promise<Engine> {
  const { file, execArgv } = workerEntry(__dirname, 'worker-main', __filename.endsWith('.ts'));
  const worker = new Worker(file, { workerData: { options }, execArgv });
  const channels = new Map<string, Channel<RunEvent>>();
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextReq = 1;
  let closed = false;
  let onClosed: (() => void) | null = null;
  /** the engine's status as of its latest step, start or cancel (see worker-main's pushStatus) */
  let latest: EngineStatus | null = null;
  const send = (m: ToWorker, transfer: ArrayBuffer[] = []) => worker.postMessage(m, transfer);

  const ready = new Promise<PackInfo[]>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          latest = m.status;
          resolve(m.packs);
          break;
        case 'failed':
          reject(new EngineError(m.code, m.message));
          break;
        case 'started':
          pending.get(m.reqId)?.resolve(m);
          pending.delete(m.reqId);
          break;
        case 'rejected':
          pending.get(m.reqId)?.reject(new EngineError(m.code, m.message, m.details));
          pending.delete(m.reqId);
          break;
        case 'status':
          latest = m.status;
          pending.get(m.reqId)?.resolve(m.status);
          pending.delete(m.reqId);
          break;
        case 'statusUpdate':
          latest = m.status;
          break;
        case 'event': {
          const ch = channels.get(m.event.runId);
          if (!ch) break;
          ch.push(m.event);
          if (m.event.type !== 'step') {
            ch.close();
            channels.delete(m.event.runId);
          }
          break;
        }
        case 'log':
          logger?.[m.level]({ ...m.fields, component: 'engine' }, m.msg);
          break;
        case 'closed':
          onClosed?.();
          break;
      }
    });
    worker.on('error', (e) => {
      logger?.error({ err: e.message }, 'engine thread crashed');
      reject(e);
    });
    worker.on('exit', (code) => {
      closed = true;
      for (const [runId, ch] of channels) {
        ch.push({ type: 'error', runId, seq: Number.MAX_SAFE_INTEGER, code: 'engine/closed', message: `the engine thread exited (code ${code})` });
        ch.close();
      }
      channels.clear();
      for (const p of pending.values()) p.reject(new EngineError('engine/closed', 'the engine thread exited'));
      pending.clear();
      onClosed?.();
    });
  });
  const packs = await ready;

  const request = <T>(make: (reqId: number) => ToWorker, transfer: ArrayBuffer[] = []): Promise<T> => {
    if (closed) return Promise.reject(new EngineError('engine/closed', 'the engine is closed'));
    const reqId = nextReq++;
    return new Promise<T>((resolve, reject) => {
      pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject });
      send(make(reqId), transfer);
    });
  };

  return {
    packs,
    async start(req) {
      const image = Float32Array.from(req.image ?? []);
      const runId = req.runId ?? randomUUID();
      const ch = new Channel<RunEvent>();
      channels.set(runId, ch);
      try {
        const started = await request<{ runId: string; params: RunParams }>((reqId) => ({ type: 'start', reqId, request: { ...req, runId, image } }), [image.buffer]);
        return { runId, params: started.params, events: ch };
      } catch (e) {
        channels.delete(runId);
        throw e;
      }
    },
    cancel(runId) {
      if (!closed) send({ type: 'cancel', runId });
    },
    status() {
      // While runs step, the engine thread is inside session.run most of the time and would answer
      // only at the end of the step: report its status as of the latest step instead (/healthz
      // and engineStatus stay fast). An idle engine answers at once, with a current rate.
      if (latest && channels.size > 0 && !closed) return Promise.resolve({ ...latest, lastBatchSizes: [...latest.lastBatchSizes] });
      return request<EngineStatus>((reqId) => ({ type: 'status', reqId }));
    },
    async close() {
      if (closed) return;
      const done = new Promise<void>((resolve) => (onClosed = resolve));
      send({ type: 'close' });
      await done;
      await worker.terminate();
      closed = true;
    },
  };
}
