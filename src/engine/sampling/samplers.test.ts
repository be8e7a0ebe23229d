/**
 * ILVR keeps the reference's low frequencies; the same seed reproduces a run; repeats restart
 * from the previous output; respaced runs visit the kept timesteps.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../onnx/model-io';
import { GraphSession } from '../runtime/session';
import { StepExecutor } from '../runtime/step-executor';
import { goldenDir, loadGolden, relL2 } from '../testing/goldens';
import { applyLowPass } from './lowpass';
import { SeededNoise } from './noise';
import { RunState, RunSchedule } from './run-state';
import { createSchedule } from './schedule';
import { buildStepGraph, SamplerKind } from './step-graph';

const load = (f: string) => decodeModel(fs.readFileSync(path.join(goldenDir(), f)), f);
const schedule = createSchedule();
const image = loadGolden('egsde_adm_x0').data.slice(0, 3 * 64 * 64);
const executors = new Map<SamplerKind, StepExecutor>();

async function executor(sampler: SamplerKind): Promise<StepExecutor> {
  let e = executors.get(sampler);
  if (!e) {
    const graph = buildStepGraph({
      sampler,
      score: { graph: load('score_adm.onnx'), input: 'x', timestep: 't', output: 'out', kind: 'adm-learned-sigma' },
      dse: { graph: load('dse.onnx'), input: 'x', timestep: 't', output: 'features' },
      imageSize: 64,
      downN: 8,
      s1: 'cosine',
      s2: 'neg_l2',
    });
    e = new StepExecutor(await GraphSession.create(graph), sampler === 'egsde');
    executors.set(sampler, e);
  }
  return e;
}
afterAll(async () => {
  for (const e of executors.values()) await e.release();
});

async function run(sampler: SamplerKind, plan: RunSchedule, seed: number, onStep?: (s: RunState, t: number) => void) {
  const ex = await executor(sampler);
  const s = new RunState(image, [3, 64, 64], schedule, plan, { lambdaS: 500, lambdaI: 2 }, new SeededNoise(seed));
  while (!s.done) {
    const [out] = await ex.step([s]);
    const rec = s.advance(out.yNext);
    onStep?.(s, rec.t);
  }
  return s.output();
}

test('ILVR: a step is the SDEdit step with its low frequencies replaced by the noised reference', async () => {
  const shape = [1, 3, 64, 64];
  const plan = { M: 6, steps: 6, repeats: 1 };
  const make = () => new RunState(image, [3, 64, 64], schedule, plan, { lambdaS: 0, lambdaI: 0 }, new SeededNoise(4));
  const [a, b] = [make(), make()];
  const [sd] = await (await executor('sdedit')).step([a]);
  const [il] = await (await executor('ilvr')).step([b]);
  const k = plan.steps - 1;
  const abarPrev = b.schedule.alphasCumprodPrev[k];
  const ref = image.map((v, i) => Math.sqrt(abarPrev) * v + Math.sqrt(1 - abarPrev) * b.fixedNoise[i]);
  const lowY = applyLowPass(sd.yNext, shape, 8);
  const lowRef = applyLowPass(ref, shape, 8);
  const expected = sd.yNext.map((v, i) => v - lowY[i] + lowRef[i]);
  expect(relL2(il.yNext, expected)).toBeLessThan(1e-5);
  expect(relL2(il.yNext, sd.yNext)).toBeGreaterThan(1e-3);
});

test('the same seed gives the same output; another seed does not', async () => {
  const plan = { M: 5, steps: 5, repeats: 1 };
  const a = await run('egsde', plan, 7);
  const b = await run('egsde', plan, 7);
  const c = await run('egsde', plan, 8);
  expect(Array.from(a)).toEqual(Array.from(b));
  expect(relL2(a, c)).toBeGreaterThan(1e-3);
});

test('respaced runs visit the kept timesteps, repeats restart from the previous output', async () => {
  const ts: number[] = [];
  await run('sdedit', { M: 20, steps: 5, repeats: 2 }, 1, (_s, t) => ts.push(t));
  expect(ts).toEqual([19, 14, 10, 5, 0, 19, 14, 10, 5, 0]);
});
