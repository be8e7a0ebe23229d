/**
 * Batching: runs at different timesteps stepped together give the results they give alone;
 * cancelled runs leave at the next step boundary; a failing run is isolated.
 */
import { goldenStepGraph, relL2, trajectoryCase, trajectorySamples } from '../testing/goldens';
import { createSchedule } from '../sampling/schedule';
import { RunSchedule } from '../sampling/run-state';
import { createRun, sample } from '../sampling/sample';
import { EngineError } from '../errors';
import { GraphSession } from './session';
import { StepExecutor } from './step-executor';
import { Batcher, BatchedRun } from './batcher';

// the models, sizes and settings of the golden case egsde_adm
const c = trajectoryCase('egsde_adm');
const shape: [number, number, number] = [c.channels, c.imageSize, c.imageSize];
const weights = { lambdaS: c.lambdaS, lambdaI: c.lambdaI };
const schedule = createSchedule(c.schedule);
let executor: StepExecutor;

beforeAll(async () => {
  executor = new StepExecutor(await GraphSession.create(goldenStepGraph(c, 'egsde')), true);
});
afterAll(() => executor.release());

const sources = trajectorySamples(c).map((s) => s.x0);
const image = (i: number) => sources[i].slice();

function makeRun(id: string, img: Float32Array, plan: RunSchedule, seed: number, log: string[]) {
  const state = createRun({ source: img, shape, schedule, plan, weights, seed });
  const r: BatchedRun & { result?: Float32Array; error?: EngineError; cancelled?: boolean; steps: number } = {
    id,
    key: 'k',
    state,
    steps: 0,
    onStep: (rec) => {
      r.steps = rec.step;
      log.push(`${id}:${rec.t}`);
    },
    onDone: () => (r.result = state.output()),
    onCancelled: () => (r.cancelled = true),
    onError: (e) => (r.error = e),
  };
  return r;
}

async function drain(b: Batcher) {
  while (await b.stepOnce());
}

test('runs at different timesteps stepped together match their solo results', async () => {
  const planA: RunSchedule = { M: 8, steps: 8, repeats: 1 };
  const planB: RunSchedule = { M: 6, steps: 4, repeats: 2 };
  // alone: the plain sampler loop
  const solo = (img: Float32Array, plan: RunSchedule, seed: number) => sample(executor, { source: img, shape, schedule, plan, weights, seed });
  const aSolo = await solo(image(0), planA, 11);
  const bSolo = await solo(image(1), planB, 22);

  const log: string[] = [];
  const batcher = new Batcher({ executorFor: async () => executor, batching: 'max' });
  const a = makeRun('a', image(0), planA, 11, log);
  const b = makeRun('b', image(1), planB, 22, log);
  batcher.admit(a);
  await batcher.stepOnce();
  await batcher.stepOnce();
  batcher.admit(b); // joins at a step boundary, at its own timestep
  await batcher.stepOnce();
  expect(batcher.status().lastBatchSizes).toEqual([2]);
  expect(log.slice(-2)).toEqual(['a:5', 'b:5']);
  await drain(batcher);
  expect(relL2(a.result!, aSolo)).toBeLessThan(1e-5);
  expect(relL2(b.result!, bSolo)).toBeLessThan(1e-5);
  expect(b.steps).toBe(8);
});

test('a cancelled run leaves at the next step boundary and the others go on', async () => {
  const batcher = new Batcher({ executorFor: async () => executor, batching: 'max' });
  const a = makeRun('a', image(0), { M: 5, steps: 5, repeats: 1 }, 1, []);
  const b = makeRun('b', image(1), { M: 5, steps: 5, repeats: 1 }, 2, []);
  batcher.admit(a);
  batcher.admit(b);
  await batcher.stepOnce();
  expect(batcher.cancel('a')).toBe(true);
  await drain(batcher);
  expect(a.cancelled).toBe(true);
  expect(a.steps).toBe(1);
  expect(b.result).toBeDefined();
  expect(batcher.cancel('nope')).toBe(false);
});

test('a run whose model fails is isolated from runs of other models', async () => {
  const batcher = new Batcher({
    executorFor: async (key) => {
      if (key === 'broken') throw new EngineError('engine/invalid_model', 'broken.onnx: not a valid ONNX model');
      return executor;
    },
  });
  const good = makeRun('good', image(0), { M: 3, steps: 3, repeats: 1 }, 1, []);
  const bad = { ...makeRun('bad', image(1), { M: 3, steps: 3, repeats: 1 }, 2, []), key: 'broken' };
  let badError: EngineError | undefined;
  bad.onError = (e) => (badError = e);
  batcher.admit(good);
  batcher.admit(bad);
  await drain(batcher);
  expect(badError?.code).toBe('engine/invalid_model');
  expect(good.result).toBeDefined();
});

test('a run whose sample becomes non-finite fails alone inside a batch', async () => {
  const batcher = new Batcher({ executorFor: async () => executor, batching: 'max' });
  const good = makeRun('good', image(0), { M: 3, steps: 3, repeats: 1 }, 1, []);
  const nan = image(1);
  nan[5] = NaN;
  const bad = makeRun('bad', nan, { M: 3, steps: 3, repeats: 1 }, 2, []);
  batcher.admit(good);
  batcher.admit(bad);
  await drain(batcher);
  expect(bad.error?.code).toBe('engine/numerical_error');
  expect(good.result).toBeDefined();
});
