/**
 * Whole runs of the official implementation, with its recorded noise injected, through the
 * project's sampler (sample() over the fused step graph): every trajectory case in the manifest,
 * found by its fields, with every setting read from the manifest and the tensor shapes. Every
 * step matches to a relative L2 error <= 1e-5; the strong_* cases, whose huge lambdas make
 * float32 rounding grow along the run (fixture README), to <= 1e-3.
 */
import { GraphSession } from '../runtime/session';
import { StepExecutor } from '../runtime/step-executor';
import { goldenCase, goldenStepGraph, relL2, trajectoryCase, trajectoryCaseNames, trajectorySamples } from '../testing/goldens';
import { RecordedNoise } from './noise';
import { createRun, sample } from './sample';
import { createSchedule } from './schedule';

const CASES = trajectoryCaseNames();
const tolerance = (name: string) => (name.startsWith('strong_') ? 1e-3 : 1e-5);

test('the manifest has trajectory cases', () => {
  expect(CASES.length).toBeGreaterThan(0);
});

describe.each(CASES)('%s', (name) => {
  const tol = tolerance(name);

  test(`every step matches the official trajectory (rel L2 <= ${tol})`, async () => {
    const c = trajectoryCase(name);
    const executor = new StepExecutor(await GraphSession.create(goldenStepGraph(c)), c.sampler === 'egsde');
    const size = c.channels * c.imageSize * c.imageSize;
    const batch = (parts: Float32Array[]) => {
      const out = new Float32Array(parts.length * size);
      parts.forEach((p, i) => out.set(p, i * size));
      return out;
    };
    const schedule = createSchedule(c.schedule);
    // one run per sample of the batch, stepped together as the official code steps its batch
    const samples = trajectorySamples(c);
    const runs = samples.map((s) =>
      createRun({
        source: s.x0,
        shape: [c.channels, c.imageSize, c.imageSize],
        schedule,
        plan: { M: c.M, steps: c.M, repeats: 1 },
        weights: { lambdaS: c.lambdaS, lambdaI: c.lambdaI },
        noise: new RecordedNoise(s.e, s.z),
      }),
    );
    const startError = relL2(batch(runs.map((r) => r.current)), batch(samples.map((s) => s.yStart)));
    const ys: Float32Array[][] = Array.from({ length: c.M }, () => []);
    const ts: number[] = [];
    try {
      await sample(executor, runs, {
        onStep: ({ index, record, out }) => {
          ys[record.step - 1][index] = out.yNext;
          if (index === 0) ts.push(record.t);
        },
      });
    } finally {
      await executor.release();
    }
    // trajectory[k]: the whole batch after step k
    const errors = ys.map((y, k) => relL2(batch(y), batch(samples.map((s) => s.trajectory[k]))));
    const max = Math.max(...errors);
    console.log(`${name}: max step rel L2 ${max.toExponential(2)} (bound ${tol}; per step ${errors.map((e) => e.toExponential(1)).join(' ')})`);
    // step k runs at timestep M-1-k
    expect(ts).toEqual(Array.from({ length: c.M }, (_, k) => c.M - 1 - k));
    // y_start = sqrt(abar[M-1]) x0 + sqrt(1 - abar[M-1]) e, built by the run itself in float32 as
    // the official runner builds it: the same start bit for bit
    expect(startError).toBe(0);
    expect(max).toBeLessThanOrEqual(tol);
  });

  // strong_* cases say how far the official result moves without each expert
  const removed = (goldenCase(name).audit as { final_rel_diff_if_expert_removed?: Record<string, number> } | undefined)?.final_rel_diff_if_expert_removed;
  if (removed) {
    test('the bound can fail: removing either expert moves the official result by more than it', () => {
      for (const [expert, diff] of Object.entries(removed)) expect({ expert, detectable: diff > tol }).toEqual({ expert, detectable: true });
    });
  }
});
