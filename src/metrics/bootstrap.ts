/**
 * Percentile bootstrap intervals over images: resample the n images with replacement B times,
 * recompute the statistic on each resample, take the (1-level)/2 and (1+level)/2 quantiles.
 * Seeded, so a table is reproducible.
 */
import { Rng } from '../engine/toolkit';

export type Interval = [number, number];

export function bootstrapInterval(n: number, statistic: (idx: Int32Array) => number, opts: { resamples?: number; level?: number; seed?: number } = {}): Interval {
  const B = opts.resamples ?? 200;
  const level = opts.level ?? 0.95;
  const rng = new Rng(opts.seed ?? 12345);
  const values: number[] = [];
  const idx = new Int32Array(n);
  for (let b = 0; b < B; b++) {
    const u = rng.uniforms(n, 0, 1);
    for (let i = 0; i < n; i++) idx[i] = Math.min(n - 1, Math.floor(u[i] * n));
    const v = statistic(idx);
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) return [NaN, NaN];
  values.sort((a, b) => a - b);
  const q = (p: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(p * (values.length - 1))))];
  return [q((1 - level) / 2), q((1 + level) / 2)];
}

/** The mean of per-image values over a resample. */
export function meanOf(values: Float64Array | number[]): (idx: Int32Array) => number {
  return (idx) => {
    let s = 0;
    for (let i = 0; i < idx.length; i++) s += values[idx[i]];
    return s / idx.length;
  };
}
