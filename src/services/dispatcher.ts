/**
 * The worker side of the service: claims queued runs while the engine has room, feeds them to
 * the engine, and turns the engine's events into persisted run events, stored images and run
 * state transitions. Works the same over the embedded queue and a distributed one.
 */
import type { RunEvent } from '../engine';
import { CodedError, isCodedError } from '../errors';
import { encodePng, pngToTensor, rgbToPng } from '../images';
import { topics } from '../events/event-bus';
import type { CancelRequest } from '../events/event-bus';
import type { Logger } from '../logger';
import { l2Distance, psnr, ssim } from '../metrics/image-metrics';
import type { RunRecord } from '../runs';
import type { RunDeps } from './run-service';

interface Active {
  run: RunRecord;
  done: Promise<void>;
  stopping: boolean;
}

export class Dispatcher {
  private readonly active = new Map<string, Active>();
  private stopped = false;
  private loopDone: Promise<void> | null = null;
  private stopCancels: () => void = () => {};
  private stopSignal!: () => void;
  private readonly stopping = new Promise<void>((resolve) => (this.stopSignal = resolve));

  constructor(private readonly deps: RunDeps & { log: Logger; concurrency: number }) {}

  start(): void {
    this.loopDone = this.loop();
    void this.followCancels();
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
      const a: Active = { run, done: Promise.resolve(), stopping: false };
      this.active.set(run.id, a);
      a.done = this.execute(a).finally(() => this.active.delete(run!.id));
    }
  }

  /** At-least-once delivery: a taken id that another worker claimed first is skipped. */
  private async takeAndClaim(): Promise<RunRecord | null> {
    for (;;) {
      const id = await this.deps.queue.take();
      if (id === null) return null;
      try {
        const { applied, run } = await this.deps.store.claim(id);
        if (applied) return run;
      } catch (e) {
        // deleted between take and claim
        if (!isCodedError(e, 'run/not_found')) throw e;
      }
    }
  }

  private async execute(a: Active): Promise<void> {
    const { store, events, storage, engine, bus, log } = this.deps;
    const run = a.run;
    events.track(run.id, run.lastSeq);
    let started = false;
    const publishRun = async () => {
      const r = await store.get(run.id);
      if (r) bus.publish(topics.runsChanged, r);
    };
    try {
      await events.append(run.id, { type: 'STATUS', status: 'RUNNING' });
      await publishRun();
      const source = await storage.get(run.sourceKey);
      if (!source) throw new CodedError('storage/not_found', `source image ${run.sourceKey} is missing from storage`, { key: run.sourceKey });
      const { tensor, width } = await pngToTensor(source.bytes);
      const image = tensor.map((v) => 2 * v - 1);
      const params = { ...run.params, seed: run.seed };
      const handle = await engine.start({ runId: run.id, pack: run.task, image, params });
      started = true;
      // a cancel (or a shutdown) that arrived between the claim and the engine's start
      if (a.stopping || (await store.get(run.id))?.cancelRequested) engine.cancel(run.id);
      let stepsDone = 0;
      let terminal: RunEvent | null = null;
      for await (const ev of handle.events) {
        if (ev.type === 'step') {
          stepsDone = ev.step;
          const previewKey = ev.preview ? (await storage.put(await rgbToPng(ev.preview.rgb, ev.preview.width, ev.preview.height), 'image/png')).key : null;
          await events.append(run.id, { type: 'STEP', step: { step: ev.step, totalSteps: ev.totalSteps, t: ev.t, energies: ev.energies, previewKey } }, stepsDone);
        } else terminal = ev;
      }
      if (!terminal) throw new Error('the engine ended the run without a result');
      switch (terminal.type) {
        case 'result': {
          const out = await storage.put(await encodePng(terminal.image, terminal.size), 'image/png');
          const src01 = tensor;
          const metrics = { l2: l2Distance(src01, terminal.image), psnr: psnr(src01, terminal.image), ssim: ssim(src01, terminal.image, width) };
          await store.markSucceeded(run.id, { outputKey: out.key, timings: { ...terminal.timings }, metrics, stepsDone });
          await events.append(run.id, { type: 'RESULT', outputKey: out.key });
          break;
        }
        case 'cancelled':
          if (a.stopping && (await store.requeue(run.id))) {
            await events.append(run.id, { type: 'STATUS', status: 'QUEUED' });
            log.info({ runId: run.id }, 'run given back to the queue at shutdown');
          } else {
            await store.markCancelled(run.id);
            await events.append(run.id, { type: 'CANCELLED' });
          }
          break;
        case 'error':
          if (terminal.code === 'engine/closed' && (await store.requeue(run.id))) {
            await events.append(run.id, { type: 'STATUS', status: 'QUEUED' });
            log.error({ runId: run.id }, 'engine closed under a run; re-queued');
          } else await this.fail(run, terminal.code, terminal.message);
          break;
      }
    } catch (e) {
      const code = isCodedError(e) ? e.code : 'engine/model_error';
      if (code === 'engine/closed' && (await store.requeue(run.id).catch(() => false))) {
        // the engine went away (not the run's fault): give the run back to the queue
        await events.append(run.id, { type: 'STATUS', status: 'QUEUED' }).catch(() => undefined);
        log.error({ runId: run.id }, 'engine closed under a run; re-queued');
        return;
      }
      log.error({ runId: run.id, err: (e as Error).message }, 'run failed');
      // the engine must not keep stepping a run this side has given up on
      if (started) engine.cancel(run.id);
      await this.fail(run, code, (e as Error).message).catch((err) => log.error({ runId: run.id, err: (err as Error).message }, 'marking the run failed did not work'));
    } finally {
      events.forget(run.id);
      await publishRun().catch(() => {});
    }
  }

  private async fail(run: RunRecord, code: string, message: string): Promise<void> {
    const { applied } = await this.deps.store.markFailed(run.id, code, message);
    if (applied) await this.deps.events.append(run.id, { type: 'ERROR', error: { code, message } });
  }
}
