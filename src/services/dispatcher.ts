/**
 * The worker side of the service: claims queued runs while the engine has room, holds each by a
 * lease it renews, feeds them to the engine (resuming from a run's checkpoint), and turns the
 * engine's events into persisted run events, checkpoints, stored images and run state
 * transitions, each written only while the lease is still ours. Works the same in the embedded
 * server and in a scale-out worker process, over any queue, bus and storage adapter.
 */
import type { RunCheckpoint, RunEvent } from '../engine';
import { decodeCheckpoint, encodeCheckpoint } from '../engine';
import { CodedError, isCodedError } from '../errors';
import { pngToTensor } from '../images';
import { topics } from '../events/event-bus';
import type { CancelRequest } from '../events/event-bus';
import type { Logger } from '../logger';
import type { RunRecord, WorkerInfo, WorkerRegistry } from '../runs';
import type { RunDeps } from './run-service';
import { type ImageJobs, startImageJobsThread } from './image-jobs';

/** While a run steps, runsChanged carries its progress at most this often (status changes always). */
export const PROGRESS_PUBLISH_MS = 1000;

interface Active {
  run: RunRecord;
  done: Promise<void>;
  stopping: boolean;
  /** another worker holds the run now: stop it and write nothing more */
  lost: boolean;
}

export interface DispatcherOptions {
  log: Logger;
  /** runs held at once */
  concurrency: number;
  /** this worker's id: the owner of its leases */
  workerId: string;
  leaseMs: number;
  /** renew leases this often (well under leaseMs) */
  renewMs: number;
  /** checkpoint every this many steps (0: never) */
  checkpointEvery: number;
  /** where this worker advertises itself (heartbeat at every renewal) */
  presence: { registry: WorkerRegistry; info: WorkerInfo };
  /** preview and output PNGs, result metrics; default: a thread of their own (off the event loop) */
  images?: ImageJobs;
}

export class Dispatcher {
  private readonly active = new Map<string, Active>();
  private stopped = false;
  private loopDone: Promise<void> | null = null;
  private stopCancels: () => void = () => {};
  private stopSignal!: () => void;
  private readonly stopping = new Promise<void>((resolve) => (this.stopSignal = resolve));
  private renewTimer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> = Promise.resolve();
  private readonly images: ImageJobs;

  constructor(private readonly deps: Omit<RunDeps, 'catalog'> & DispatcherOptions) {
    this.images = deps.images ?? startImageJobsThread();
  }

  /** Advertise this worker, then claim and run work until stop(). */
  async start(): Promise<void> {
    await this.heartbeat();
    this.loopDone = this.loop();
    void this.followCancels();
    this.renewTimer = setInterval(() => {
      this.renewing = this.renewing.then(async () => {
        await this.renewLeases();
        await this.heartbeat();
      });
    }, this.deps.renewMs);
    this.renewTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    const { registry, info } = this.deps.presence;
    await registry.heartbeat(info, this.active.size).catch((e) => this.deps.log.error({ err: (e as Error).message }, 'worker heartbeat failed; retrying'));
  }

  /**
   * Extend the leases of every held run. A run another worker holds now (our lease lapsed, e.g.
   * while this process was stalled) is stopped without further writes; a requested cancel that
   * the bus did not deliver is picked up here.
   */
  async renewLeases(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    try {
      for (const r of await this.deps.store.renewLeases(this.deps.workerId, ids, this.deps.leaseMs)) {
        const a = this.active.get(r.id);
        if (!a) continue;
        if (!r.held) {
          if (!a.lost) this.deps.log.warn({ runId: r.id }, 'lost the lease on a run (another worker holds it now); stopping it here');
          a.lost = true;
          this.deps.engine.cancel(r.id);
        } else if (r.cancelRequested) this.deps.engine.cancel(r.id);
      }
    } catch (e) {
      this.deps.log.error({ err: (e as Error).message }, 'renewing leases failed; retrying');
    }
  }

  /** Cancels arrive on the bus from any API instance; the worker holding the run stops it at its next step. */
  private async followCancels(): Promise<void> {
    const requests = this.deps.bus.subscribe(topics.cancel)[Symbol.asyncIterator]();
    this.stopCancels = () => void requests.return?.();
    for (;;) {
      const { value, done } = await requests.next();
      if (done || this.stopped) return;
      const id = (value as CancelRequest).id;
      if (this.active.has(id)) this.deps.engine.cancel(id);
    }
  }

  get activeRuns(): number {
    return this.active.size;
  }

  /**
   * Stop claiming; let running work finish for up to drainMs, then give the rest back to the
   * queue (it resumes from the start on the next worker or restart).
   */
  async stop(drainMs: number): Promise<void> {
    this.stopped = true;
    this.stopSignal();
    this.stopCancels();
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.renewing;
    await this.deps.queue.close();
    await this.loopDone;
    const all = Promise.all([...this.active.values()].map((a) => a.done));
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), drainMs).unref());
    if ((await Promise.race([all.then(() => 'done' as const), timeout])) === 'timeout') {
      for (const a of this.active.values()) {
        a.stopping = true;
        this.deps.engine.cancel(a.run.id);
      }
      await all;
    }
    await this.images.close();
    await this.deps.presence.registry.remove(this.deps.presence.info.id).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    const { queue, log } = this.deps;
    while (!this.stopped) {
      if (this.active.size >= this.deps.concurrency) {
        await Promise.race([...[...this.active.values()].map((a) => a.done), this.stopping]);
        continue;
      }
      let run: RunRecord | null = null;
      try {
        run = await this.takeAndClaim();
      } catch (e) {
        log.error({ err: (e as Error).message }, 'claiming a run failed');
      }
      if (!run) {
        await queue.waitForWork(1000);
        continue;
      }
      const a: Active = { run, done: Promise.resolve(), stopping: false, lost: false };
      this.active.set(run.id, a);
      void this.heartbeat();
      a.done = this.execute(a).finally(() => {
        this.active.delete(run!.id);
        void this.heartbeat(); // engineStatus shows the change now, not at the next renewal
      });
    }
  }

  /** At-least-once delivery: a taken id that another worker claimed first is skipped. */
  private async takeAndClaim(): Promise<RunRecord | null> {
    for (;;) {
      const id = await this.deps.queue.take();
      if (id === null) return null;
      try {
        const { applied, run } = await this.deps.store.claim(id, { owner: this.deps.workerId, ttlMs: this.deps.leaseMs });
        if (applied) return run;
      } catch (e) {
        // deleted between take and claim
        if (!isCodedError(e, 'run/not_found')) throw e;
      }
    }
  }

  private async execute(a: Active): Promise<void> {
    const { store, events, storage, engine, bus, log, workerId: owner } = this.deps;
    const run = a.run;
    events.track(run.id, run.lastSeq);
    let started = false;
    /** the run as last published on runsChanged, and when */
    let published: RunRecord = run;
    let publishedAt = 0;
    const publishRun = async () => {
      const r = await store.get(run.id);
      if (r) {
        bus.publish(topics.runsChanged, r);
        published = r;
        publishedAt = Date.now();
      }
    };
    /**
     * Progress for runsChanged while the run steps, at most once per PROGRESS_PUBLISH_MS: the
     * record as last read, with its steps and last seq now (no read of its own; the step was written).
     */
    const publishProgress = (stepsDone: number, lastSeq: number) => {
      const now = Date.now();
      if (now - publishedAt < PROGRESS_PUBLISH_MS || published.status !== 'RUNNING') return;
      published = { ...published, stepsDone, lastSeq: Math.max(published.lastSeq, lastSeq) };
      publishedAt = now;
      bus.publish(topics.runsChanged, published);
    };
    try {
      await events.append(run.id, { type: 'STATUS', status: 'RUNNING' }, undefined, owner);
      await publishRun();
      const source = await storage.get(run.sourceKey);
      if (!source) throw new CodedError('storage/not_found', `source image ${run.sourceKey} is missing from storage`, { key: run.sourceKey });
      const { tensor } = await pngToTensor(source.bytes);
      const image = tensor.map((v) => 2 * v - 1);
      const params = { ...run.params, seed: run.seed };
      const resume = await this.checkpointOf(run);
      if (resume) log.info({ runId: run.id, step: resume.stepsDone, attempt: run.attempts }, 'resuming a run from its checkpoint');
      const handle = await engine.start({ runId: run.id, pack: run.task, image, params, resume, checkpointEvery: this.deps.checkpointEvery });
      started = true;
      // a cancel (or a shutdown) that arrived between the claim and the engine's start
      if (a.stopping || (await store.get(run.id))?.cancelRequested) engine.cancel(run.id);
      let stepsDone = resume?.stepsDone ?? 0;
      let terminal: RunEvent | null = null;
      for await (const ev of handle.events) {
        if (a.lost) continue; // drain the engine's events; write nothing
        if (ev.type === 'step') {
          stepsDone = ev.step;
          const previewKey = ev.preview ? await this.storePreview(run.id, ev.step, ev.preview) : null;
          const written = await events.append(run.id, { type: 'STEP', step: { step: ev.step, totalSteps: ev.totalSteps, t: ev.t, energies: ev.energies, previewKey } }, stepsDone, owner);
          publishProgress(stepsDone, written.seq);
          if (ev.checkpoint) await store.saveCheckpoint(run.id, owner, { step: ev.checkpoint.stepsDone, bytes: encodeCheckpoint(ev.checkpoint) });
        } else terminal = ev;
      }
      if (a.lost) return;
      if (!terminal) throw new Error('the engine ended the run without a result');
      switch (terminal.type) {
        case 'result': {
          // encoding and metrics (SSIM in JS) in the image thread; the source was in [0, 1] already
          const { png, metrics } = await this.images.result(terminal.image, terminal.size, tensor);
          const out = await storage.put(png, 'image/png').catch((e: unknown) => {
            throw isCodedError(e, 'storage/failed') ? e : new CodedError('storage/failed', `the output image could not be stored: ${(e as Error)?.message ?? String(e)}`);
          });
          const { applied } = await store.markSucceeded(run.id, { outputKey: out.key, timings: { ...terminal.timings }, metrics, stepsDone }, owner);
          if (applied) await events.append(run.id, { type: 'RESULT', outputKey: out.key });
          break;
        }
        case 'cancelled':
          if (a.stopping && (await store.requeue(run.id, owner))) {
            await events.append(run.id, { type: 'STATUS', status: 'QUEUED' });
            await this.deps.queue.enqueue(run).catch(() => undefined); // else the next sweep enqueues it
            log.info({ runId: run.id }, 'run given back to the queue at shutdown');
          } else if ((await store.markCancelled(run.id, owner)).applied) {
            await events.append(run.id, { type: 'CANCELLED' });
          }
          break;
        case 'error':
          if (terminal.code === 'engine/closed' && (await this.giveBack(run))) break;
          await this.fail(run, terminal.code, terminal.message);
          break;
      }
    } catch (e) {
      if (isCodedError(e, 'run/lease_lost') || a.lost) {
        log.warn({ runId: run.id }, 'another worker holds the run now; this worker stopped writing to it');
        if (started) engine.cancel(run.id);
        return;
      }
      const code = isCodedError(e) ? e.code : 'engine/model_error';
      if (code === 'engine/closed' && (await this.giveBack(run).catch(() => false))) return;
      log.error({ runId: run.id, err: (e as Error).message }, 'run failed');
      // the engine must not keep stepping a run this side has given up on
      if (started) engine.cancel(run.id);
      await this.fail(run, code, (e as Error).message).catch((err) => log.error({ runId: run.id, err: (err as Error).message }, 'marking the run failed did not work'));
    } finally {
      events.forget(run.id);
      await publishRun().catch(() => {});
    }
  }

  /**
   * A step's preview, encoded (in the image thread) and stored; its key, or null when it could not
   * be had: a preview is an extra, so the step goes out without it and the run goes on.
   */
  private async storePreview(runId: string, step: number, preview: { rgb: Uint8Array; width: number; height: number }): Promise<string | null> {
    try {
      const png = await this.images.previewPng(preview.rgb, preview.width, preview.height);
      return (await this.deps.storage.put(png, 'image/png')).key;
    } catch (e) {
      this.deps.log.warn({ runId, step, err: (e as Error)?.message ?? String(e) }, 'a preview could not be stored; the step goes out without one');
      return null;
    }
  }

  /** The run's stored checkpoint, if it has one this engine can resume from (else it starts over). */
  private async checkpointOf(run: RunRecord): Promise<RunCheckpoint | undefined> {
    if (run.checkpointStep === 0) return undefined;
    const stored = await this.deps.store.loadCheckpoint(run.id);
    if (!stored) return undefined;
    try {
      return decodeCheckpoint(stored.bytes);
    } catch (e) {
      this.deps.log.warn({ runId: run.id, err: (e as Error).message }, 'the run checkpoint is unreadable; starting the run over');
      return undefined;
    }
  }

  /** The engine went away (not the run's fault): give the run back to the queue. */
  private async giveBack(run: RunRecord): Promise<boolean> {
    if (!(await this.deps.store.requeue(run.id, this.deps.workerId))) return false;
    await this.deps.events.append(run.id, { type: 'STATUS', status: 'QUEUED' }).catch(() => undefined);
    await this.deps.queue.enqueue(run).catch(() => undefined);
    this.deps.log.error({ runId: run.id }, 'engine closed under a run; re-queued');
    return true;
  }

  private async fail(run: RunRecord, code: string, message: string): Promise<void> {
    const { applied } = await this.deps.store.markFailed(run.id, code, message, this.deps.workerId);
    if (applied) await this.deps.events.append(run.id, { type: 'ERROR', error: { code, message } });
  }
}
