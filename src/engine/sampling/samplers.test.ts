/**
 * ILVR keeps the reference's low frequencies; the same seed reproduces a run; repeats restart
 * from the previous output; respaced runs visit the kept timesteps; sample() cancels when onStep
 * says so, steps several runs together as they step alone, and refuses a non-finite sample.
 */
import { GraphSession } from '../runtime/session';
import { StepExecutor } from '../runtime/step-executor';
import { goldenStepGraph, relL2, trajectoryCase, trajectorySamples } from '../testing/goldens';
import { applyLowPass } from './lowpass';
import { SeededNoise } from './noise';
import { RunState, RunSchedule } from './run-state';
import { sample } from './sample';
import { createSchedule } from './schedule';
import { SamplerKind } from './step-graph';

// the models, sizes and settings of the golden case egsde_adm
const c = trajectoryCase('egsde_adm');
const S = c.imageSize;
const shape: [number, number, number] = [c.channels, S, S];
const weights = { lambdaS: c.lambdaS, lambdaI: c.lambdaI };
const schedule = createSchedule(c.schedule);
const image = trajectorySamples(c)[0].x0;
const executors = new Map<SamplerKind, StepExecutor>();

async function executor(sampler: SamplerKind): Promise<StepExecutor> {
  let e = executors.get(sampler);
  if (!e) {
    e = new StepExecutor(await GraphSession.create(goldenStepGraph(c, sampler)), sampler === 'egsde');
    executors.set(sampler, e);
  }
  return e;
}
afterAll(async () => {
  for (const e of executors.values()) await e.release();
});

async function run(sampler: SamplerKind, plan: RunSchedule, seed: number, onStep?: (t: number) => void) {
  return sample(await executor(sampler), { source: image, shape, schedule, plan, weights, seed }, { onStep: ({ record }) => onStep?.(record.t) });
}

test('ILVR: a step is the SDEdit step with its low frequencies replaced by the noised reference', async () => {
  const plan = { M: 6, steps: 6, repeats: 1 };
  const make = () => new RunState(image, shape, schedule, plan, { lambdaS: 0, lambdaI: 0 }, new SeededNoise(4));
  const [a, b] = [make(), make()];
  const [sd] = await (await executor('sdedit')).step([a]);
  const [il] = await (await executor('ilvr')).step([b]);
  const k = plan.steps - 1;
  const abarPrev = b.schedule.alphasCumprodPrev[k];
  const ref = image.map((v, i) => Math.sqrt(abarPrev) * v + Math.sqrt(1 - abarPrev) * b.fixedNoise[i]);
  const lowY = applyLowPass(sd.yNext, [1, ...shape], c.downN);
  const lowRef = applyLowPass(ref, [1, ...shape], c.downN);
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
  await run('sdedit', { M: 20, steps: 5, repeats: 2 }, 1, (t) => ts.push(t));
  expect(ts).toEqual([19, 14, 10, 5, 0, 19, 14, 10, 5, 0]);
});

test('sample(): onStep returning false cancels; several runs step together as they step alone', async () => {
  const plan = { M: 4, steps: 4, repeats: 1 };
  const ex = await executor('egsde');
  let seen = 0;
  await expect(sample(ex, { source: image, shape, schedule, plan, weights, seed: 3 }, { onStep: () => ++seen < 2 })).rejects.toMatchObject({ code: 'engine/cancelled' });
  expect(seen).toBe(2);
  const calls: number[] = [];
  const batched = await sample((runs) => (calls.push(runs.length), ex.step(runs)), [
    { source: image, shape, schedule, plan, weights, seed: 3 },
    { source: image, shape, schedule, plan: { M: 3, steps: 3, repeats: 1 }, weights, seed: 4 },
  ]);
  expect(calls).toEqual([2, 2, 2, 1]);
  expect(relL2(batched[0], await run('egsde', plan, 3))).toBeLessThan(1e-5);
  expect(relL2(batched[1], await run('egsde', { M: 3, steps: 3, repeats: 1 }, 4))).toBeLessThan(1e-5);
});

test('sample(): a non-finite sample is engine/numerical_error', async () => {
  const nan = image.slice();
  nan[0] = NaN;
  await expect(sample(await executor('sdedit'), { source: nan, shape, schedule, plan: { M: 2, steps: 2, repeats: 1 }, weights, seed: 1 })).rejects.toMatchObject({ code: 'engine/numerical_error' });
});
