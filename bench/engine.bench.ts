/**
 * The engine's step cost against its floor, batching throughput, and respacing, measured in one
 * run on the golden tiny models (64 px ADM score model + DSE).
 *   npm run bench:engine
 * Goals: step / floor <= 1.15; 8 concurrent runs through the batcher >= 1.5x the throughput of
 * the same 8 one after another (each run alone through sample()).
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel, buildGradientGraph, cotangentName, GraphSession, HostTensor, StepExecutor, Batcher, buildStepGraph, createSchedule, RunState, createRun, sample, NUM_COEFS, stepCoefficients, Rng } from '../src/engine/toolkit';
import type { RunSchedule, RunSpec } from '../src/engine/toolkit';
import { table } from './table';

const FIXTURES = path.join(__dirname, '..', 'test', 'fixtures', 'egsde-tiny');
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);
const IMG = 3 * 64 * 64;
const load = (f: string) => decodeModel(fs.readFileSync(path.join(FIXTURES, f)), f);

async function median(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

async function main() {
  const score = load('score_adm.onnx');
  const dse = load('dse.onnx');
  const spec = {
    sampler: 'egsde' as const,
    score: { graph: score, input: 'x', timestep: 't', output: 'out', kind: 'adm-learned-sigma' as const },
    dse: { graph: dse, input: 'x', timestep: 't', output: 'features' },
    imageSize: 64,
    downN: 8,
    s1: 'cosine' as const,
    s2: 'neg_l2' as const,
  };
  const stepSession = await GraphSession.create(buildStepGraph(spec));
  const scoreSession = await GraphSession.create(score);
  const dseSession = await GraphSession.create(dse);
  const dseGrad = await GraphSession.create(buildGradientGraph(dse, { wrt: ['x'] }).graph);
  const schedule = createSchedule();

  // 1. step vs floor
  const rows: string[][] = [];
  for (const n of [1, 2, 8]) {
    const rng = new Rng(n);
    const img = (): HostTensor => ({ data: rng.normals(n * IMG), dims: [n, 3, 64, 64] });
    const t: HostTensor = { data: Float32Array.from({ length: n }, (_, i) => 100 + 37 * i), dims: [n] };
    const coef = new Float32Array(n * NUM_COEFS);
    for (let i = 0; i < n; i++) stepCoefficients(schedule, 100 + 37 * i, { lambdaS: 500, lambdaI: 2 }, coef.subarray(i * NUM_COEFS, (i + 1) * NUM_COEFS));
    const feeds = { y: img(), x0: img(), e: img(), z: img(), coef: { data: coef, dims: [n, NUM_COEFS] } };
    const step = await median(() => stepSession.run(feeds));
    const fScore = await median(() => scoreSession.run({ x: feeds.y, t }));
    const fDse = await median(() => dseSession.run({ x: feeds.x0, t }));
    const cot = { [cotangentName('features')]: { data: rng.normals(n * 128 * 64), dims: [n, 128, 8, 8] } };
    const fDseGrad = await median(() => dseGrad.run({ x: feeds.y, t, ...cot }));
    const floor = fScore + fDse + fDseGrad;
    rows.push([String(n), step.toFixed(1), fScore.toFixed(1), fDse.toFixed(1), fDseGrad.toFixed(1), floor.toFixed(1), (step / floor).toFixed(3)]);
  }
  console.log('EGSDE step (score + DSE on xt + DSE forward-and-gradient on y + update, one session run) vs its floor');
  table(['batch', 'step ms', 'score fwd', 'DSE fwd (xt)', 'DSE fwd+grad (y)', 'floor ms', 'step/floor (goal <= 1.15)'], rows);

  // 2. batching throughput
  const executor = new StepExecutor(stepSession, true);
  const image = new Rng(5).normals(IMG);
  const M = 10;
  const runSpec = (seed: number, plan: RunSchedule = { M, steps: M, repeats: 1 }): RunSpec => ({ source: image, shape: [3, 64, 64], schedule, plan, weights: { lambdaS: 500, lambdaI: 2 }, seed });
  // concurrent runs go through the engine's batcher, as the service runs them
  const drive = async (states: RunState[]) => {
    const b = new Batcher({ maxBatch: 8, executorFor: async () => executor });
    states.forEach((s, i) => b.admit({ id: String(i), key: 'k', state: s, onStep: () => {}, onDone: () => {}, onCancelled: () => {}, onError: (e) => { throw e; } }));
    while (await b.stepOnce());
  };
  await sample(executor, runSpec(99));
  let t0 = performance.now();
  for (let i = 0; i < 8; i++) await sample(executor, runSpec(i));
  const sequential = performance.now() - t0;
  t0 = performance.now();
  await drive(Array.from({ length: 8 }, (_, i) => createRun(runSpec(i))));
  const concurrent = performance.now() - t0;
  console.log(`8 runs of ${M} EGSDE steps each`);
  table(['mode', 'wall ms', 'runs/s', 'throughput vs sequential (goal >= 1.5)'], [
    ['one after another', sequential.toFixed(0), (8000 / sequential).toFixed(2), '1.00'],
    ['8 concurrent, batched', concurrent.toFixed(0), (8000 / concurrent).toFixed(2), (sequential / concurrent).toFixed(2)],
  ]);

  // 3. respacing
  const rowsR: string[][] = [];
  for (const steps of [500, 100]) {
    const t1 = performance.now();
    await sample(executor, runSpec(1, { M: 500, steps, repeats: 1 }));
    const ms = performance.now() - t1;
    rowsR.push([`M=500, ${steps} steps`, (ms / 1000).toFixed(2), (ms / steps).toFixed(1)]);
  }
  rowsR.push(['speed-up', (Number(rowsR[0][1]) / Number(rowsR[1][1])).toFixed(2) + 'x', '']);
  console.log('One run (batch 1), full schedule vs respaced');
  table(['run', 'seconds', 'ms/step'], rowsR);
  for (const s of [stepSession, scoreSession, dseSession, dseGrad]) await s.release();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
