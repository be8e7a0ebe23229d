/**
 * The frontier's matched comparison: ILVR's curve is interpolated in log FID between the runs
 * that bracket an L2 (NaN outside), and the paired FID difference of two translations of the same
 * images is 0 for identical outputs and clearly positive, interval above 0, when one is degraded;
 * per-method intervals count as apart only when they share no point.
 */
import * as path from 'path';
import { Rng } from '../engine/toolkit';
import { images, interpolateFid, intervalsApart, Judge, formatComparisons } from './evaluate';

const PACK = path.join(__dirname, '..', '..', 'models', 'demo');

test('interpolateFid: log-linear between the bracketing points, NaN outside the curve', () => {
  const pts = [{ l2: 3, fid: 1 }, { l2: 2, fid: 4 }, { l2: NaN, fid: 9 }];
  expect(interpolateFid(pts, 2)).toBeCloseTo(4, 9);
  expect(interpolateFid(pts, 2.5)).toBeCloseTo(2, 9);
  expect(interpolateFid(pts, 3.5)).toBeNaN();
  expect(formatComparisons([], 'none')).toContain('no SDEdit run within 2%');
});

test('intervalsApart: only intervals that share no point; a missing one is never apart', () => {
  expect(intervalsApart([0.2, 0.5], [0.6, 0.9])).toBe(true);
  expect(intervalsApart([0.6, 0.9], [0.2, 0.5])).toBe(true);
  expect(intervalsApart([0.2, 0.6], [0.6, 0.9])).toBe(false);
  expect(intervalsApart([0.2, 0.7], [0.6, 0.9])).toBe(false);
  expect(intervalsApart([0.2, 0.5], undefined)).toBe(false);
});

test('formatComparisons: a row names ILVR at the same M and whether the FID intervals are apart', () => {
  const table = formatComparisons(
    [{ egsde: 'EGSDE M = 120', egsdeL2: 2.701, egsdeFid: 1.07, sdedit: 'SDEdit M = 120', sdeditL2: 2.715, sdeditFid: 1.63, fidReduction: 1 - 1.07 / 1.63, difference: -0.56, ci: [-0.69, -0.43], ilvrFidAtL2: NaN, ilvrNearest: 'ILVR M = 120 (L2 2.443, FID 1.71)', ilvrDifference: -0.63, ilvrCi: [-0.71, -0.56], ilvrSameM: 'ILVR M = 120 (L2 2.443, FID 1.71)', ilvrSameMDifference: -0.63, ilvrSameMCi: [-0.71, -0.56], apart: { sdedit: false, ilvrSameM: true } }],
    'title',
  );
  const row = table.split('\n')[3];
  expect(row).toContain('| 34%');
  expect(row).toContain('| ILVR M = 120 (L2 2.443, FID 1.71): -0.63 [-0.71, -0.56] | no, yes');
  expect(row).toContain('| -  ');
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
