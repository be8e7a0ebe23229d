/**
 * The one sampler loop, shaped like k-diffusion's samplers: a step function, the run (or what
 * builds it), injectable noise (seeded by default; recorded for the golden tests) and an `onStep`
 * callback, run to completion.
 *
 *   const image = await sample(executor, { source, shape, schedule, plan, weights, seed: 7 }, {
 *     onStep: ({ record, out }) => { ...preview out.x0Pred, log out.energies... },
 *   });
 *
 * Several runs given together are stepped together, one step-function call per step (the
 * batch dimension of k-diffusion's x); a run that has finished drops out. The engine's
 * {@link Batcher} is the multi-run loop with admission, cancellation and failure isolation on
 * top; it shares this file's per-run step bookkeeping ({@link acceptStep}).
 */
import { EngineError } from '../errors';
import type { StepOutputs } from '../runtime/step-executor';
import { GuidanceWeights } from './coefficients';
import { NoiseSource, SeededNoise } from './noise';
import { RunCheckpoint, RunSchedule, RunState, StepRecord } from './run-state';
import { Schedule } from './schedule';

/** One sampler step of a batch of runs (StepExecutor.step). */
export type StepFn = (runs: RunState[]) => Promise<StepOutputs[]>;

/** Anything with a `step` of that shape, e.g. a StepExecutor. */
export interface Stepper {
  step: StepFn;
}

/** What builds a run: the source, its schedule and weights, and its noise. */
export interface RunSpec {
  /** [C, S, S] in [-1, 1] */
  source: Float32Array;
  shape: [number, number, number];
  /** the base schedule (respaced per `plan`) */
  schedule: Schedule;
  plan: RunSchedule;
  weights: GuidanceWeights;
  /** e and z; default: a generator seeded with `seed` */
  noise?: NoiseSource;
  /** seed of the default noise. Default 0 */
  seed?: number;
  /** continue from here instead of the start */
  resume?: RunCheckpoint;
}

export function createRun(spec: RunSpec): RunState {
  const run = new RunState(spec.source, spec.shape, spec.schedule, spec.plan, spec.weights, spec.noise ?? new SeededNoise(spec.seed ?? 0));
  if (spec.resume) run.restore(spec.resume);
  return run;
}

/** What `onStep` sees after each accepted step of each run. */
export interface SampleStep {
  run: RunState;
  /** the run's position in the list given to sample() (0 for a single run) */
  index: number;
  record: StepRecord;
  out: StepOutputs;
}

export interface SampleOptions {
  /**
   * Called after every step of every run, in step order (previews, energies, progress). Return
   * `false` to cancel: sample() then rejects with engine/cancelled. A throw aborts with that error.
   */
  onStep?(s: SampleStep): void | boolean | Promise<void | boolean>;
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/**
 * Accept one step's output for a run: refuse a missing or non-finite sample
 * (engine/numerical_error, naming `who`), else advance the run. Returns what the step was.
 */
export function acceptStep(run: RunState, out: StepOutputs | undefined, who = 'the run'): StepRecord {
  if (!out || !allFinite(out.yNext)) throw new EngineError('engine/numerical_error', `${who}: the sample became NaN or infinite`);
  return run.advance(out.yNext);
}

/** Run to completion; resolves with the output image(s) in [0, 1] (RunState.output). */
export function sample(step: Stepper | StepFn, run: RunState | RunSpec, opts?: SampleOptions): Promise<Float32Array>;
export function sample(step: Stepper | StepFn, runs: (RunState | RunSpec)[], opts?: SampleOptions): Promise<Float32Array[]>;
export async function sample(step: Stepper | StepFn, given: RunState | RunSpec | (RunState | RunSpec)[], opts: SampleOptions = {}): Promise<Float32Array | Float32Array[]> {
  const stepFn: StepFn = typeof step === 'function' ? step : (runs) => step.step(runs);
  const runs = (Array.isArray(given) ? given : [given]).map((r) => (r instanceof RunState ? r : createRun(r)));
  for (;;) {
    const live = runs.map((run, index) => ({ run, index })).filter(({ run }) => !run.done);
    if (live.length === 0) break;
    const outs = await stepFn(live.map((l) => l.run));
    for (let i = 0; i < live.length; i++) {
      const { run, index } = live[i];
      const record = acceptStep(run, outs[i], runs.length > 1 ? `run ${index}` : 'the run');
      if ((await opts.onStep?.({ run, index, record, out: outs[i] })) === false) {
        throw new EngineError('engine/cancelled', `cancelled by onStep after step ${record.step} of ${record.totalSteps}`);
      }
    }
  }
  const outputs = runs.map((r) => r.output());
  return Array.isArray(given) ? outputs : outputs[0];
}
