/**
 * How many runs to put in one batched step, learned from measured step times per step graph:
 * batching pays on a GPU and can lose on a CPU (at 256 px on two cores one sample at a time is
 * fastest), so the size is whichever has the lowest measured time per sample.
 *
 * Sizes are tried up a ladder (1, 2, 4, ... up to the runs at hand and the cap): a size's first
 * step only warms it up (onnxruntime allocates for a new shape) and is not counted; after that a
 * larger rung is tried only while the best size so far is the largest measured one. Every
 * `reexploreEvery` steps the rung above the best is measured again, so a changed machine load
 * or a different mix of runs can move the choice. The runs are then spread evenly over chunks of
 * at most the chosen size.
 */
export interface BatchSizerOptions {
  /** Largest batch. */
  maxBatch: number;
  /** Re-measure the size above the best after this many steps of a graph. Default 200. */
  reexploreEvery?: number;
  /** Weight of a new measurement in the running mean. Default 0.3. */
  alpha?: number;
}

interface SizeStats {
  /** session runs seen at this size, warm-up included */
  runs: number;
  /** running mean of milliseconds per sample, after warm-up */
  msPerSample: number | null;
}

export interface BatchCost {
  size: number;
  msPerSample: number;
}

export class BatchSizer {
  private readonly stats = new Map<string, Map<number, SizeStats>>();
  private readonly steps = new Map<string, number>();
  private readonly reexploreEvery: number;
  private readonly alpha: number;

  constructor(private readonly opts: BatchSizerOptions) {
    this.reexploreEvery = opts.reexploreEvery ?? 200;
    this.alpha = opts.alpha ?? 0.3;
  }

  /** Chunk sizes (summing to n) for one step of n runs of step graph `key`. */
  plan(key: string, n: number): number[] {
    if (n <= 0) return [];
    const cap = Math.max(1, Math.min(n, this.opts.maxBatch));
    const size = this.choose(key, cap);
    const chunks = Math.ceil(n / size);
    const base = Math.floor(n / chunks);
    const extra = n % chunks;
    return Array.from({ length: chunks }, (_, i) => base + (i < extra ? 1 : 0));
  }

  /** A session run of `size` samples of graph `key` took `ms`. */
  record(key: string, size: number, ms: number): void {
    const table = this.table(key);
    const s = table.get(size) ?? { runs: 0, msPerSample: null };
    s.runs++;
    if (s.runs > 1) {
      const per = ms / size;
      s.msPerSample = s.msPerSample === null ? per : s.msPerSample + this.alpha * (per - s.msPerSample);
    }
    table.set(size, s);
  }

  /** Measured sizes of graph `key` and their time per sample, smallest size first. */
  costs(key: string): BatchCost[] {
    return [...this.table(key)]
      .filter(([, s]) => s.msPerSample !== null)
      .map(([size, s]) => ({ size, msPerSample: s.msPerSample! }))
      .sort((a, b) => a.size - b.size);
  }

  /** The size the learned costs prefer for up to `cap` runs (no exploration). */
  preferred(key: string, cap: number): number {
    let best: BatchCost | null = null;
    for (const c of this.costs(key)) if (c.size <= cap && (!best || c.msPerSample < best.msPerSample)) best = c;
    return best?.size ?? 1;
  }

  private choose(key: string, cap: number): number {
    const table = this.table(key);
    const step = (this.steps.get(key) ?? 0) + 1;
    this.steps.set(key, step);
    const ladder = rungs(cap);
    // a rung whose warm-up has run but that has no measurement yet goes first
    const unmeasured = ladder.find((r) => (table.get(r)?.runs ?? 0) > 0 && table.get(r)!.msPerSample === null);
    if (unmeasured !== undefined) return unmeasured;
    const best = this.preferred(key, cap);
    const above = ladder.find((r) => r > best);
    if (above === undefined) return best;
    const measuredAbove = this.costs(key).some((c) => c.size > best && c.size <= cap);
    // climb while the best is the largest size measured; else stay, re-checking now and then
    if (!measuredAbove) return (table.get(best)?.msPerSample ?? null) === null ? best : above;
    return step % this.reexploreEvery === 0 ? above : best;
  }

  private table(key: string): Map<number, SizeStats> {
    let t = this.stats.get(key);
    if (!t) {
      t = new Map();
      this.stats.set(key, t);
    }
    return t;
  }
}

/** 1, 2, 4, ... below cap, then cap. */
function rungs(cap: number): number[] {
  const out: number[] = [];
  for (let r = 1; r < cap; r *= 2) out.push(r);
  out.push(cap);
  return out;
}
