/** Bootstrap intervals: cover the statistic, shrink with more images, are reproducible, and mean what they say. */
import { bootstrapInterval, meanOf } from './bootstrap';
import { Rng } from '../engine/toolkit';

test('the interval of a mean holds the mean, narrows with n, and repeats with its seed', () => {
  const rng = new Rng(7);
  const small = Array.from(rng.normals(32));
  const big = Array.from(rng.normals(512));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const a = bootstrapInterval(small.length, meanOf(small));
  const b = bootstrapInterval(big.length, meanOf(big));
  expect(a[0]).toBeLessThan(mean(small));
  expect(a[1]).toBeGreaterThan(mean(small));
  expect(b[1] - b[0]).toBeLessThan((a[1] - a[0]) / 2);
  expect(bootstrapInterval(small.length, meanOf(small))).toEqual(a);
  expect(bootstrapInterval(small.length, meanOf(small), { seed: 99 })).not.toEqual(a);
});

test('95% intervals of a normal mean cover the true mean about 95% of the time', () => {
  const rng = new Rng(11);
  let covered = 0;
  const trials = 200;
  for (let t = 0; t < trials; t++) {
    const xs = Array.from(rng.normals(64));
    const [lo, hi] = bootstrapInterval(xs.length, meanOf(xs), { seed: t, resamples: 300 });
    if (lo <= 0 && 0 <= hi) covered++;
  }
  expect(covered / trials).toBeGreaterThan(0.88);
  expect(covered / trials).toBeLessThan(0.99);
});

test('a statistic that is never finite gives NaN bounds', () => {
  expect(bootstrapInterval(5, () => NaN).every(Number.isNaN)).toBe(true);
});
