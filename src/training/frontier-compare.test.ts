/**
 * The frontier's matched comparison: ILVR's curve is interpolated in log FID between the runs
 * that bracket an L2 (NaN outside), and the paired FID difference of two translations of the same
 * images is 0 for identical outputs and clearly positive, interval above 0, when one is degraded.
 */
import * as path from 'path';
import { Rng } from '../engine/toolkit';
import { images, interpolateFid, Judge, formatComparisons } from './evaluate';

const PACK = path.join(__dirname, '..', '..', 'models', 'demo');

test('interpolateFid: log-linear between the bracketing points, NaN outside the curve', () => {
  const pts = [{ l2: 3, fid: 1 }, { l2: 2, fid: 4 }, { l2: NaN, fid: 9 }];
  expect(interpolateFid(pts, 2)).toBeCloseTo(4, 9);
  expect(interpolateFid(pts, 2.5)).toBeCloseTo(2, 9);
  expect(interpolateFid(pts, 3.5)).toBeNaN();
  expect(formatComparisons([], 'none')).toContain('no SDEdit run within 2%');
});

test('pairedFidDifference: 0 for the same outputs, above 0 with its interval for degraded ones', async () => {
  const judge = await Judge.create(PACK, images('square', 128, 4242), 32);
  try {
    const n = 96;
    const a = images('square', n, 777).map((v) => (v + 1) / 2);
    const ok = new Array<boolean>(n).fill(true);
    const same = await judge.pairedFidDifference(a, ok, a, ok);
    expect(same.difference).toBeCloseTo(0, 9);
    expect(same.ci).toEqual([0, 0]);
    const rng = new Rng(5);
    const noisy = a.map((v) => Math.min(1, Math.max(0, v + 0.25 * rng.normal())));
    const worse = await judge.pairedFidDifference(noisy, ok, a, ok);
    expect(worse.difference).toBeGreaterThan(0);
    expect(worse.ci[0]).toBeGreaterThan(0);
    // images that failed in either run are left out of both
    const some = ok.map((_, i) => i % 4 !== 0);
    expect((await judge.pairedFidDifference(noisy, some, a, ok)).n).toBe(72);
  } finally {
    await judge.release();
  }
});
