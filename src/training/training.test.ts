/**
 * The demo domains are seeded and differ only in shape; Adam and the trainer learn; a stopped
 * training resumes exactly where it was.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../engine/toolkit';
import { GraphBuilder } from '../engine/toolkit';
import { DType, floatTensor } from '../engine/toolkit';
import { renderShape, sampleShapeParams, shapeBatch } from './shapes';
import { Trainer } from './trainer';

test('the two domains share every parameter but the shape; batches are reproducible from the seed', () => {
  const p = sampleShapeParams(new Rng(5), 32);
  const disc = renderShape('disc', p, 32);
  const square = renderShape('square', p, 32);
  const centre = (img: Float32Array) => img[Math.round(p.cy) * 32 + Math.round(p.cx)];
  expect(centre(disc)).toBeCloseTo(2 * p.fg[0] - 1, 5);
  expect(centre(square)).toBeCloseTo(2 * p.fg[0] - 1, 5);
  expect(disc[0]).toBeCloseTo(2 * p.bg[0] - 1, 5);
  // equal areas: the mean colour is (nearly) the same, the images are not
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  expect(Math.abs(mean(disc) - mean(square))).toBeLessThan(0.01);
  expect(disc.some((v, i) => Math.abs(v - square[i]) > 0.5)).toBe(true);
  const a = shapeBatch(new Rng(9), 4, 32, 'mixed');
  const b = shapeBatch(new Rng(9), 4, 32, 'mixed');
  expect(Array.from(a.images)).toEqual(Array.from(b.images));
  expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
});

function regressionGraph() {
  // loss = mean((x w + b - y)^2)
  const g = new GraphBuilder({ name: 'lin' });
  const x = g.input('x', DType.FLOAT, ['batch', 3]);
  const y = g.input('y', DType.FLOAT, ['batch', 1]);
  const w = g.initializer('w', floatTensor([3, 1], [0, 0, 0]), true);
  const bias = g.initializer('b', floatTensor([1], [0]), true);
  const d = g.sub(g.add(g.matmul(x, w), bias), y);
  g.output(g.reduceMean(g.mul(d, d), [0, 1], false), 'loss');
  return g.graph;
}

function regressionBatch(rng: Rng) {
  const x = rng.normals(16 * 3);
  const y = new Float32Array(16);
  for (let i = 0; i < 16; i++) y[i] = 2 * x[3 * i] - x[3 * i + 1] + 0.5 * x[3 * i + 2] + 0.3;
  return { x: { data: x, dims: [16, 3] }, y: { data: y, dims: [16, 1] } };
}

test('the trainer fits a linear model with Adam through the autodiff', async () => {
  const t = await Trainer.create(regressionGraph(), ['w', 'b'], { lr: 0.05 });
  const rng = new Rng(1);
  let loss = Infinity;
  for (let i = 0; i < 300; i++) loss = await t.step(regressionBatch(rng));
  expect(loss).toBeLessThan(1e-3);
  expect(Array.from(t.params.get('w')!).map((v) => Number(v.toFixed(2)))).toEqual([2, -1, 0.5]);
  await t.release();
});

test('a checkpointed training resumes exactly (parameters, Adam state, data position)', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-ckpt-')), 'lin.ckpt');
  const run = async (steps: number, resume: boolean) => {
    const t = await Trainer.create(regressionGraph(), ['w', 'b'], { lr: 0.05, emaDecay: 0.9 });
    const rng = new Rng(1);
    if (resume && t.load(file)) rng.state = t.extra.rng;
    while (t.iteration < steps) {
      await t.step(regressionBatch(rng));
      if (t.iteration === 20) {
        t.extra = { rng: rng.state };
        t.save(file);
      }
    }
    const out = { w: Array.from(t.params.get('w')!), ema: Array.from(t.ema.get('w')!) };
    await t.release();
    return out;
  };
  const straight = await run(40, false);
  await run(20, false);
  const resumed = await run(40, true);
  expect(resumed).toEqual(straight);
});
