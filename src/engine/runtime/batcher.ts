/**
 * Steps concurrent runs together: runs that share a step graph (same pack, sampler and energy
 * kinds) go through batched session runs, each run at its own timestep, in batches of the size
 * measured to be cheapest per sample (batch-sizer.ts). New runs join
 * at the next step boundary, cancelled runs leave at it, and a run whose step fails is isolated
 * by re-running its batch one run at a time.
 */
import { EngineError, isEngineError } from '../errors';
import { RunState, StepRecord } from '../sampling/run-state';
import { acceptStep } from '../sampling/sample';
import { StepExecutor, StepOutputs } from './step-executor';
import { BatchSizer } from './batch-sizer';

export interface BatchedRun {
  id: string;
  /** runs with the same key share a step graph */
  key: string;
  state: RunState;
  onStep(record: StepRecord, out: StepOutputs): void;
  onDone(): void;
  onCancelled(): void;
  onError(err: EngineError): void;
}

export interface BatcherOptions {
  /** Largest batch per session run. Default 8. */
  maxBatch?: number;
  /**
   * How runs of one graph are split into session runs: 'measured' (default) picks the size with
   * the lowest measured time per sample (batch-sizer.ts); 'max' always fills batches to maxBatch.
   */
  batching?: 'measured' | 'max';
  executorFor(key: string): Promise<StepExecutor>;
}

export interface BatcherStatus {
  activeRuns: number;
  /** batch sizes of the most recent step */
  lastBatchSizes: number[];
  /** sample-steps per second over the last few seconds */
  stepsPerSecond: number;
}

function asEngineError(e: unknown, fallback: string): EngineError {
  if (isEngineError(e)) return e;
  return new EngineError('engine/model_error', `${fallback}: ${(e as Error)?.message ?? String(e)}`);
}

export class Batcher {
  private readonly maxBatch: number;
  private readonly active: BatchedRun[] = [];
  private readonly pending: BatchedRun[] = [];
  private readonly cancelled = new Set<string>();
  private lastBatchSizes: number[] = [];
  private readonly recent: { at: number; n: number }[] = [];
  private readonly sizer: BatchSizer | null;

  constructor(private readonly opts: BatcherOptions) {
    this.maxBatch = opts.maxBatch ?? 8;
    this.sizer = (opts.batching ?? 'measured') === 'measured' ? new BatchSizer({ maxBatch: this.maxBatch }) : null;
  }

  admit(run: BatchedRun): void {
    this.pending.push(run);
  }

  /** Mark a run cancelled; it leaves at the next step boundary. Returns whether it was known. */
  cancel(id: string): boolean {
    const known = this.active.some((r) => r.id === id) || this.pending.some((r) => r.id === id);
    if (known) this.cancelled.add(id);
    return known;
  }

  get idle(): boolean {
    return this.active.length === 0 && this.pending.length === 0;
  }

  status(): BatcherStatus {
    const now = Date.now();
    while (this.recent.length && now - this.recent[0].at > 5000) this.recent.shift();
    const n = this.recent.reduce((s, r) => s + r.n, 0);
    const span = this.recent.length ? Math.max(1, now - this.recent[0].at) / 1000 : 1;
    return { activeRuns: this.active.length + this.pending.length, lastBatchSizes: [...this.lastBatchSizes], stepsPerSecond: this.recent.length > 1 ? n / span : 0 };
  }

  /** One step of every active run (admitting pending runs first). Returns false when idle. */
  async stepOnce(): Promise<boolean> {
    this.active.push(...this.pending.splice(0));
    this.dropCancelled();
    if (this.active.length === 0) return false;
    const groups = new Map<string, BatchedRun[]>();
    for (const r of this.active) {
      const g = groups.get(r.key);
      if (g) g.push(r);
      else groups.set(r.key, [r]);
    }
    const sizes: number[] = [];
    for (const [key, runs] of groups) {
      let executor: StepExecutor;
      try {
        executor = await this.opts.executorFor(key);
      } catch (e) {
        for (const r of runs) this.fail(r, asEngineError(e, 'loading the models failed'));
        continue;
      }
      const plan = this.sizer ? this.sizer.plan(key, runs.length) : maxChunks(runs.length, this.maxBatch);
      let at = 0;
      for (const size of plan) {
        const chunk = runs.slice(at, at + size);
        at += size;
        sizes.push(chunk.length);
        const t0 = performance.now();
        const ok = await this.stepChunk(executor, chunk);
        if (ok) this.sizer?.record(key, chunk.length, performance.now() - t0);
      }
    }
    this.lastBatchSizes = sizes;
    this.recent.push({ at: Date.now(), n: sizes.reduce((a, b) => a + b, 0) });
    this.dropCancelled();
    return true;
  }

  /** One session run for the chunk; false when it failed (and its runs were retried one by one). */
  private async stepChunk(executor: StepExecutor, chunk: BatchedRun[]): Promise<boolean> {
    let outs: StepOutputs[];
    try {
      outs = await executor.step(chunk.map((r) => r.state));
    } catch (e) {
      if (chunk.length === 1) {
        this.fail(chunk[0], asEngineError(e, 'the model failed'));
        return false;
      }
      // isolate: one run at a time
      for (const r of chunk) await this.stepChunk(executor, [r]);
      return false;
    }
    chunk.forEach((r, i) => {
      const out = outs[i];
      let record;
      try {
        // the same per-run bookkeeping as sample(): refuse a non-finite sample, advance
        record = acceptStep(r.state, out, `run ${r.id}`);
      } catch (e) {
        this.fail(r, asEngineError(e, 'advancing the run failed'));
        return;
      }
      try {
        r.onStep(record, out);
      } catch {
        // a listener's failure must not stop the batch
      }
      if (r.state.done) {
        this.remove(r);
        try {
          r.onDone();
        } catch (e) {
          r.onError(asEngineError(e, 'finishing the run failed'));
        }
      }
    });
    return true;
  }

  private fail(r: BatchedRun, err: EngineError): void {
    this.remove(r);
    r.onError(err);
  }

  private remove(r: BatchedRun): void {
    const i = this.active.indexOf(r);
    if (i >= 0) this.active.splice(i, 1);
  }

  private dropCancelled(): void {
    if (this.cancelled.size === 0) return;
    for (const list of [this.active, this.pending]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const r = list[i];
        if (this.cancelled.has(r.id)) {
          list.splice(i, 1);
          this.cancelled.delete(r.id);
          r.onCancelled();
        }
      }
    }
  }
}

/** n runs in chunks of at most max. */
function maxChunks(n: number, max: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i += max) out.push(Math.min(max, n - i));
  return out;
}
