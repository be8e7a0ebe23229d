/**
 * The run lifecycle as the API sees it: validate and queue translations, cancel, delete, query
 * history, and follow a run's events (replay of what a subscriber missed, then live).
 * Resolvers are thin wrappers around this.
 */
import { randomUUID } from 'crypto';
import type { Engine, PackInfo, RunParams } from '../engine';
import { resolveParams } from '../engine';
import { decodeSourceImage, encodePng, parseDataUrl } from '../images';
import type { ArtifactStorage } from '../storage';
import type { EventBus } from '../events/event-bus';
import { topics } from '../events/event-bus';
import type { CancelRequest } from '../events/event-bus';
import type { RunQueue } from '../queue/run-queue';
import type { AppConfig } from '../config';
import { CodedError } from '../errors';
import { RUN_INTERRUPTED, isTerminal, runNotFound, recoverInterruptedRuns } from '../runs';
import type { RecoveryCounts } from '../runs';
import type { RunFilter, RunPage, RunRecord, RunStore } from '../runs';

/** Published on a run's topic when it is deleted: its subscriptions end. */
const DELETED = Symbol('deleted');
import { RunEventsLog } from './run-events-log';
import { RunEventView, isTerminalEvent, viewOfRecord } from './run-events';

export interface TranslateRequest {
  task: string;
  /** a data URL, or the bytes of an upload */
  image: { dataUrl: string } | { bytes: Buffer };
  params?: Partial<RunParams>;
}

/** What the run lifecycle works with (the dispatcher shares all but the config). */
export interface RunDeps {
  store: RunStore;
  queue: RunQueue;
  bus: EventBus;
  events: RunEventsLog;
  storage: ArtifactStorage;
  engine: Engine;
}

export class RunService {
  constructor(private readonly deps: RunDeps & { config: AppConfig }) {}

  packs(): PackInfo[] {
    return this.deps.engine.packs;
  }

  private pack(task: string): PackInfo {
    const p = this.deps.engine.packs.find((x) => x.name === task);
    if (!p) throw new CodedError('input/unknown_task', `unknown task ${JSON.stringify(task)}; available: ${this.deps.engine.packs.map((x) => x.name).join(', ') || '(none)'}`, { field: 'task' });
    return p;
  }

  /** Validate everything first; only then store the source and write the run. */
  async translate(req: TranslateRequest): Promise<RunRecord> {
    const { config, storage, store, queue, bus, events } = this.deps;
    const pack = this.pack(req.task);
    const { seed, ...settings } = resolveParams(pack, req.params ?? {});
    const bytes = 'dataUrl' in req.image ? parseDataUrl(req.image.dataUrl, config.maxImageBytes).bytes : req.image.bytes;
    if (bytes.length > config.maxImageBytes) throw new CodedError('input/image_too_large', `the image has ${bytes.length} bytes; the limit is ${config.maxImageBytes}`, { field: 'image' });
    const source = await decodeSourceImage(bytes, pack.imageSize, { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels });
    // the model's input, cropped and resized, is what the run keeps
    const png = await encodePng(source.tensor.map((v) => (v + 1) / 2), pack.imageSize);
    const { key } = await storage.put(png, 'image/png');
    const run = await store.create({
      id: randomUUID(),
      task: pack.name,
      params: settings,
      seed,
      totalSteps: settings.steps * settings.repeats,
      sourceKey: key,
    });
    events.track(run.id, 0);
    await events.append(run.id, { type: 'STATUS', status: 'QUEUED' });
    await queue.enqueue(run.id);
    bus.publish(topics.runsChanged, run);
    return run;
  }

  async get(id: string): Promise<RunRecord> {
    const r = await this.deps.store.get(id);
    if (!r) throw runNotFound(id);
    return r;
  }

  find(id: string): Promise<RunRecord | null> {
    return this.deps.store.get(id);
  }

  list(filter: RunFilter, first: number, after?: string | null): Promise<RunPage> {
    return this.deps.store.list(filter, first, after);
  }

  /**
   * After a crash, before any worker runs: every run left RUNNING is requeued, cancelled or
   * failed (src/runs/recovery.ts), and its subscribers get the matching event.
   */
  async recover(maxAttempts: number): Promise<RecoveryCounts> {
    const { store, events, bus } = this.deps;
    return recoverInterruptedRuns(store, maxAttempts, async (run) => {
      events.track(run.id, run.lastSeq);
      try {
        switch (run.status) {
          case 'QUEUED':
            await events.append(run.id, { type: 'STATUS', status: 'QUEUED' });
            break;
          case 'FAILED':
            await events.append(run.id, { type: 'ERROR', error: { code: run.errorCode ?? RUN_INTERRUPTED, message: run.errorMessage ?? '' } });
            break;
          case 'CANCELLED':
            await events.append(run.id, { type: 'CANCELLED' });
            break;
          default:
            break;
        }
      } finally {
        events.forget(run.id);
      }
      bus.publish(topics.runsChanged, run);
    });
  }

  /** Queued runs are cancelled at once; running ones at their next step, on whichever worker holds them. */
  async cancel(id: string): Promise<RunRecord> {
    const { store, events, bus } = this.deps;
    const before = await this.get(id);
    const after = await store.requestCancel(id);
    if (before.status === 'QUEUED' && after.status === 'CANCELLED') {
      await events.append(id, { type: 'CANCELLED' });
      events.forget(id);
      bus.publish(topics.runsChanged, after);
    } else if (after.status === 'RUNNING') {
      const request: CancelRequest = { id };
      bus.publish(topics.cancel, request);
    }
    return after;
  }

  async delete(id: string): Promise<boolean> {
    await this.get(id);
    await this.deps.store.delete(id);
    this.deps.bus.publish(topics.run(id), DELETED);
    this.deps.bus.publish(topics.runsChanged, { id, deleted: true });
    return true;
  }

  /**
   * A run's events after `afterSeq`: the persisted ones first, then live ones, each seq exactly
   * once and in order, ending after the terminal event.
   */
  events(id: string, afterSeq = 0): AsyncIterable<RunEventView> {
    return {
      [Symbol.asyncIterator]: () => {
        // subscribe before reading the log, so nothing published in between is missed
        const live = this.deps.bus.subscribe(topics.run(id))[Symbol.asyncIterator]();
        const gen = this.replayThenLive(id, afterSeq, live);
        return {
          next: () => gen.next(),
          // unsubscribing ends a generator parked on live.next() at once
          return: async () => {
            await live.return?.();
            return gen.return(undefined);
          },
        };
      },
    };
  }

  private async *replayThenLive(id: string, afterSeq: number, live: AsyncIterator<unknown>): AsyncGenerator<RunEventView> {
    let last = afterSeq;
    try {
      await this.get(id);
      for (const rec of await this.deps.store.eventsAfter(id, afterSeq)) {
        const v = viewOfRecord(rec);
        yield v;
        last = v.seq;
        if (isTerminalEvent(v.type)) return;
      }
      // a finished run publishes nothing more: end now if its terminal event is already behind us
      const run = await this.deps.store.get(id);
      if (!run) return;
      if (isTerminal(run.status)) {
        const [lastEvent] = await this.deps.store.eventsAfter(id, Math.max(0, run.lastSeq - 1), 1);
        if (lastEvent && isTerminalEvent(lastEvent.type) && last >= lastEvent.seq) return;
      }
      for (;;) {
        const { value, done } = await live.next();
        if (done || value === DELETED) return;
        const v = value as RunEventView;
        if (v.seq <= last) continue;
        if (v.seq > last + 1) {
          // published out of order with the log: fill the gap from the log
          for (const rec of await this.deps.store.eventsAfter(id, last)) {
            if (rec.seq >= v.seq) break;
            yield viewOfRecord(rec);
          }
        }
        yield v;
        last = v.seq;
        if (isTerminalEvent(v.type)) return;
      }
    } finally {
      await live.return?.();
    }
  }
}
