import { frechetDistance, l2Distance, psnr, ssim } from './image-metrics';
import { Rng } from '../engine/toolkit';

test('Frechet distance: 0 for one set against itself, the squared mean shift for shifted sets, symmetric', () => {
  const rng = new Rng(1);
  const n = 400;
  const d = 4;
  const a = rng.normals(n * d);
  expect(frechetDistance(a, n, a, n, d)).toBeCloseTo(0, 6);
  const b = a.map((v, i) => v + (i % d === 0 ? 3 : 0));
  expect(frechetDistance(a, n, b, n, d)).toBeCloseTo(9, 6);
  const c = rng.normals(n * d).map((v) => 2 * v);
  expect(frechetDistance(a, n, c, n, d)).toBeCloseTo(frechetDistance(c, n, a, n, d), 6);
  // N(0, I) vs N(0, 4I) in 4-d: tr(I + 4I - 2*2I) = 4 (up to sampling error)
  expect(frechetDistance(a, n, c, n, d)).toBeGreaterThan(3);
  expect(frechetDistance(a, n, c, n, d)).toBeLessThan(5.5);
});

test('L2, PSNR and SSIM on known cases', () => {
  const size = 16;
  const x = new Rng(2).uniforms(3 * size * size, 0, 1);
  const y = x.map((v) => Math.min(1, v + 0.1));
  expect(l2Distance(x, x)).toBe(0);
  expect(psnr(x, x)).toBe(Infinity);
  expect(ssim(x, x, size)).toBeCloseTo(1, 10);
  const shifted = x.map((v) => v + 0.1);
  expect(psnr(x, shifted)).toBeCloseTo(20, 4); // MSE 0.01
  expect(l2Distance(x, shifted)).toBeCloseTo(0.1 * Math.sqrt(x.length), 4);
  expect(ssim(x, y, size)).toBeLessThan(1);
  expect(ssim(x, new Rng(3).uniforms(x.length, 0, 1), size)).toBeLessThan(0.2);
});
