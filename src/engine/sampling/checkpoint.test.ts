/**
 * Resuming: a run restored from a checkpoint (after any step, across repeats) ends exactly where
 * the uninterrupted run ends, because the seeded noise is a function of (seed, step); the codec
 * round-trips bit for bit and refuses what is not a checkpoint.
 */
import { GraphSession } from '../runtime/session';
import { StepExecutor } from '../runtime/step-executor';
import { goldenStepGraph, trajectoryCase, trajectorySamples } from '../testing/goldens';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint';
import { SeededNoise } from './noise';
import { RunCheckpoint } from './run-state';
import { createRun, sample } from './sample';
import { createSchedule } from './schedule';

const c = trajectoryCase('egsde_adm');
const S = c.imageSize;
const shape: [number, number, number] = [c.channels, S, S];
const schedule = createSchedule(c.schedule);
const image = trajectorySamples(c)[0].x0;
const weights = { lambdaS: c.lambdaS, lambdaI: c.lambdaI };
let executor: StepExecutor;
beforeAll(async () => {
  executor = new StepExecutor(await GraphSession.create(goldenStepGraph(c, 'egsde')), true);
});
afterAll(() => executor.release());

const spec = (resume?: RunCheckpoint) => ({ source: image, shape, schedule, plan: { M: 5, steps: 3, repeats: 2 }, weights, seed: 11, resume });

test('the seeded noise of a step does not depend on what was drawn before it', () => {
  const a = new SeededNoise(3);
  const b = new SeededNoise(3);
  const late = b.step(4, 16);
  a.initial(0, 16);
  for (let s = 0; s < 4; s++) a.step(s, 16);
  expect(a.step(4, 16)).toEqual(late);
  expect(new SeededNoise(4).step(4, 16)).not.toEqual(late);
  expect(a.step(5, 16)).not.toEqual(late);
  expect(a.initial(1, 16)).not.toEqual(a.initial(0, 16));
});

test('a run resumed from a checkpoint after any step (both repeats) ends bit for bit as the uninterrupted run', async () => {
  const checkpoints: RunCheckpoint[] = [];
  const whole = await sample(executor, spec(), { onStep: ({ run }) => void checkpoints.push(run.checkpoint()) });
  expect(checkpoints.map((k) => k.stepsDone)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(checkpoints[2].x0).not.toBeNull(); // after the first repeat the start is the previous output
  expect(checkpoints[1].x0).toBeNull();
  for (const k of checkpoints.slice(0, -1)) {
    const resumed = createRun(spec(decodeCheckpoint(encodeCheckpoint(k))));
    expect(resumed.stepsCompleted).toBe(k.stepsDone);
    const out = await sample(executor, resumed);
    expect(Buffer.from(out.buffer).equals(Buffer.from(whole.buffer))).toBe(true);
  }
  // and a checkpoint that does not fit the run is refused
  expect(() => createRun(spec({ ...checkpoints[0], stepsDone: 6 }))).toThrow(RangeError);
  expect(() => createRun(spec({ ...checkpoints[0], y: new Float32Array(3) }))).toThrow(RangeError);
});

test('the codec keeps every bit and refuses other bytes', () => {
  const y = Float32Array.from([1.5, -0, Number.MIN_VALUE, -3.25e-20, 7]);
  const k = decodeCheckpoint(encodeCheckpoint({ stepsDone: 9, y, x0: y.map((v) => -v) }));
  expect(k.stepsDone).toBe(9);
  expect(Buffer.from(k.y.buffer).equals(Buffer.from(y.buffer))).toBe(true);
  expect(Array.from(k.x0!)).toEqual(Array.from(y.map((v) => -v)));
  expect(decodeCheckpoint(encodeCheckpoint({ stepsDone: 0, y, x0: null })).x0).toBeNull();
  const bytes = encodeCheckpoint({ stepsDone: 1, y, x0: null });
  expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 1))).toThrow(/not a run checkpoint/);
  expect(() => decodeCheckpoint(Buffer.from('not a checkpoint at all'))).toThrow(/not a run checkpoint/);
});
