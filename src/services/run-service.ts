/**
 * The run lifecycle as the API sees it: validate and queue translations, cancel, delete, query
 * history, and follow a run's events (replay of what a subscriber missed, then live).
 * Resolvers are thin wrappers around this.
 */
import { randomUUID } from 'crypto';
import type { Engine, PackInfo, RunParams } from '../engine';
import { resolveParams } from '../engine';
import type { Logger } from '../logger';
import { decodeSourceImage, encodePng, parseDataUrl } from '../images';
import { type ArtifactStorage, artifactKey } from '../storage';
import type { EventBus, RunDeleted } from '../events/event-bus';
import { isRunDeleted, topics } from '../events/event-bus';
import type { CancelRequest } from '../events/event-bus';
import type { RunQueue } from '../queue/run-queue';
import type { AppConfig } from '../config';
import { CodedError } from '../errors';
import { isTerminal, runNotFound } from '../runs';
import type { RunFilter, RunPage, RunRecord, RunStore } from '../runs';
import type { PackCatalog } from './pack-catalog';
import { RunEventsLog } from './run-events-log';
import { RunEventView, isTerminalEvent, viewOfRecord } from './run-events';
import { type Principal, SYSTEM_PRINCIPAL, canSee } from '../auth/principal';
import type { Admission } from './admission';

export interface TranslateRequest {
  task: string;
  /** a data URL, or the bytes of an upload */
  image: { dataUrl: string } | { bytes: Buffer };
  params?: Partial<RunParams>;
}

/** What the run lifecycle works with (the dispatcher shares the ports, with its engine). */
export interface RunDeps {
  store: RunStore;
  queue: RunQueue;
  bus: EventBus;
  events: RunEventsLog;
  storage: ArtifactStorage;
  engine: Engine;
  /** the packs runs may ask for (this process's engine's, and the workers') */
  catalog: PackCatalog;
}

export class RunService {
  constructor(private readonly deps: Omit<RunDeps, 'engine'> & { config: AppConfig; log: Logger; admission: Admission }) {}

  packs(): PackInfo[] {
    return this.deps.catalog.packs();
  }

  private pack(task: string): PackInfo {
    const packs = this.packs();
    const p = packs.find((x) => x.name === task);
    if (!p) throw new CodedError('input/unknown_task', `unknown task ${JSON.stringify(task)}; available: ${packs.map((x) => x.name).join(', ') || '(none)'}`, { field: 'task' });
    return p;
  }

  /** Validate everything first; only then store the source and write the run. */
  async translate(req: TranslateRequest, principal: Principal = SYSTEM_PRINCIPAL): Promise<RunRecord> {
    const { config, storage, store, queue, bus, events, admission } = this.deps;
    const pack = this.pack(req.task);
    const { seed, ...settings } = resolveParams(pack, req.params ?? {});
    const totalSteps = settings.steps * settings.repeats;
    admission.checkSteps(totalSteps);
    const bytes = 'dataUrl' in req.image ? parseDataUrl(req.image.dataUrl, config.maxImageBytes).bytes : req.image.bytes;
    if (bytes.length > config.maxImageBytes) throw new CodedError('input/image_too_large', `the image has ${bytes.length} bytes; the limit is ${config.maxImageBytes}`, { field: 'image' });
    const source = await decodeSourceImage(bytes, pack.imageSize, { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels });
    // a queue that cannot take the run now (Redis down): refuse before writing anything
    await queue.assertAvailable();
    // the model's input, cropped and resized, is what the run keeps
    const png = await encodePng(source.tensor.map((v) => (v + 1) / 2), pack.imageSize);
    const run = await admission.admit(principal, totalSteps, async () => {
      const existed = await storage.exists(artifactKey(png, 'image/png'));
      const { key } = await storage.put(png, 'image/png');
      try {
        return await store.create({ id: randomUUID(), task: pack.name, params: settings, seed, totalSteps, sourceKey: key, ownerId: principal.ownerId });
      } catch (e) {
        // no file left behind by a run that was not written
        if (!existed && !(await store.referencedKeys([key]).catch(() => new Set([key]))).has(key)) await storage.delete(key).catch(() => false);
        throw e;
      }
    });
    events.track(run.id, 0);
    try {
      await events.append(run.id, { type: 'STATUS', status: 'QUEUED' });
    } finally {
      events.forget(run.id);
    }
    // the run is stored QUEUED: if the enqueue is lost now, the supervisor's sweep enqueues it again
    await queue.enqueue(run).catch((e) => this.deps.log.warn({ runId: run.id, err: (e as Error).message }, 'enqueue failed; the next sweep re-enqueues the run'));
    bus.publish(topics.runsChanged, run);
    return run;
  }

  /** The run, if `principal` may see it; another owner's run is 'run/not_found' as an unknown one is. */
  async get(id: string, principal: Principal = SYSTEM_PRINCIPAL): Promise<RunRecord> {
    const r = await this.deps.store.get(id);
    if (!r || !canSee(principal, r)) throw runNotFound(id);
    return r;
  }

  /** History: an admin's filter over every run, anyone else's over their own. */
  list(filter: RunFilter, first: number, after?: string | null, principal: Principal = SYSTEM_PRINCIPAL): Promise<RunPage> {
    return this.deps.store.list(this.owned(filter, principal), first, after);
  }

  /** How many runs the history holds under `filter`, with the same ownership as {@link list}. */
  count(filter: RunFilter, principal: Principal = SYSTEM_PRINCIPAL): Promise<number> {
    return this.deps.store.count(this.owned(filter, principal));
  }

  /**
   * A queued run's 1-based place among the QUEUED runs of its pack (oldest first), or null when it
   * is not queued (any more). For a run the caller has read already (so may see): the place counts
   * every owner's runs, and reveals nothing else of them.
   */
  queuePositionOf(run: Pick<RunRecord, 'id' | 'status'>): Promise<number | null> {
    return run.status === 'QUEUED' ? this.deps.store.queuePosition(run.id) : Promise.resolve(null);
  }

  private owned(filter: RunFilter, principal: Principal): RunFilter {
    return principal.admin ? filter : { ...filter, ownerId: principal.ownerId ?? '\u0000none' };
  }

  /** Queued runs are cancelled at once; running ones at their next step, on whichever worker holds them. */
  async cancel(id: string, principal: Principal = SYSTEM_PRINCIPAL): Promise<RunRecord> {
    const { store, events, bus } = this.deps;
    const before = await this.get(id, principal);
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

  /** Deletes a finished run, its events, and the image files no other run references. */
  async delete(id: string, principal: Principal = SYSTEM_PRINCIPAL): Promise<boolean> {
    const run = await this.get(id, principal);
    const orphaned = await this.deps.store.delete(id);
    await this.removeFiles(orphaned);
    const deleted: RunDeleted = { deleted: true, id, ownerId: run.ownerId };
    this.deps.bus.publish(topics.run(id), deleted);
    this.deps.bus.publish(topics.runsChanged, deleted);
    return true;
  }

  /**
   * Removes files no run references. A run created meanwhile may reference the same content
   * (keys are content hashes): after removing, the references are read again and a file that
   * gained one is put back.
   */
  private async removeFiles(keys: readonly string[]): Promise<void> {
    const { storage, store, log } = this.deps;
    const removed: { key: string; bytes: Buffer; contentType: string }[] = [];
    for (const key of keys) {
      try {
        const a = await storage.get(key);
        if (!a) continue;
        await storage.delete(key);
        removed.push({ key, bytes: a.bytes, contentType: a.contentType });
      } catch (e) {
        log.warn({ key, err: (e as Error).message }, 'could not remove an unreferenced image');
      }
    }
    if (removed.length === 0) return;
    const again = await store.referencedKeys(removed.map((r) => r.key));
    for (const r of removed) if (again.has(r.key)) await storage.put(r.bytes, r.contentType);
  }

  /**
   * A run's events after `afterSeq`: the persisted ones first, then live ones, each seq exactly
   * once and in order, ending after the terminal event.
   */
  events(id: string, afterSeq = 0, principal: Principal = SYSTEM_PRINCIPAL): AsyncIterable<RunEventView> {
    return {
      [Symbol.asyncIterator]: () => {
        // subscribe (confirmed) before reading the log, so nothing published in between is missed
        const sub = this.deps.bus.subscribe(topics.run(id));
        const live = sub[Symbol.asyncIterator]();
        const gen = this.replayThenLive(id, afterSeq, live, sub.ready, principal);
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

  private async *replayThenLive(id: string, afterSeq: number, live: AsyncIterator<unknown>, ready: Promise<void>, principal: Principal): AsyncGenerator<RunEventView> {
    let last = afterSeq;
    /** the log's events after `last` (up to `before`), each once */
    const fromLog = async function* (store: RunStore, before = Infinity): AsyncGenerator<RunEventView> {
      for (const rec of await store.eventsAfter(id, last)) {
        if (rec.seq >= before) return;
        const v = viewOfRecord(rec);
        yield v;
        last = v.seq;
        if (isTerminalEvent(v.type)) return;
      }
    };
    try {
      await ready;
      await this.get(id, principal);
      for await (const v of fromLog(this.deps.store)) {
        yield v;
        if (isTerminalEvent(v.type)) return;
      }
      // a finished run publishes nothing more: end now if its terminal event is already behind us
      const run = await this.deps.store.get(id);
      if (!run) return;
      if (isTerminal(run.status)) {
        const [lastEvent] = await this.deps.store.eventsAfter(id, Math.max(0, run.lastSeq - 1), 1);
        if (lastEvent && isTerminalEvent(lastEvent.type) && last >= lastEvent.seq) return;
      }
      let pending = live.next();
      for (;;) {
        // an idle subscription re-reads the log now and then: a live event lost on the way (a bus
        // outage) is never waited for forever
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<'idle'>((resolve) => (timer = setTimeout(() => resolve('idle'), this.deps.config.resyncMs)));
        const got = await Promise.race([pending, idle]).finally(() => clearTimeout(timer));
        if (got === 'idle') {
          for await (const v of fromLog(this.deps.store)) {
            yield v;
            if (isTerminalEvent(v.type)) return;
          }
          if (!(await this.deps.store.get(id))) return;
          continue;
        }
        pending = live.next();
        const { value, done } = got;
        if (done || isRunDeleted(value)) return;
        const v = value as RunEventView;
        if (v.seq <= last) continue;
        if (v.seq > last + 1) {
          // published out of order with the log: fill the gap from the log
          for await (const g of fromLog(this.deps.store, v.seq)) yield g;
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
