/**
 * The host-side state of one translation run: where it is in its schedule, its current sample,
 * its noise. The batcher gathers many runs' tensors into one step-graph call and hands each its
 * slice back (docs/egsde-step.md §4, §9: start at time M, step down to 0, repeat `repeats` times).
 */
import { GuidanceWeights, NUM_COEFS, stepCoefficients } from './coefficients';
import { NoiseSource } from './noise';
import { Schedule, respaceSchedule } from './schedule';

export interface RunSchedule {
  /** start time M (1..T) */
  M: number;
  /** steps per repeat (1..M); fewer than M respaces the schedule */
  steps: number;
  /** sample_step: repeat the whole procedure from the previous output */
  repeats: number;
}

export interface StepRecord {
  /** 1-based step count over all repeats */
  step: number;
  totalSteps: number;
  /** timestep index the models saw */
  t: number;
  repeat: number;
}

/**
 * Where a run stands after `stepsDone` steps: enough, with its seed's noise, to go on exactly as
 * the uninterrupted run would. `x0` is the start of the current repeat when it is not the
 * source (repeats > 1 start from the previous output).
 */
export interface RunCheckpoint {
  stepsDone: number;
  y: Float32Array;
  x0: Float32Array | null;
}

export class RunState {
  readonly schedule: Schedule;
  readonly size: number;
  readonly totalSteps: number;
  private x0: Float32Array;
  private e!: Float32Array;
  private y!: Float32Array;
  private repeat = 0;
  /** schedule entry of the next step (counts down) */
  private entry: number;
  private stepsDone = 0;
  private z: Float32Array | null = null;

  constructor(
    readonly source: Float32Array,
    readonly shape: [number, number, number],
    base: Schedule,
    readonly plan: RunSchedule,
    readonly weights: GuidanceWeights,
    private readonly noise: NoiseSource,
  ) {
    this.size = shape[0] * shape[1] * shape[2];
    if (source.length !== this.size) throw new RangeError(`source has ${source.length} values, expected ${this.size}`);
    this.schedule = plan.steps === base.betas.length && plan.M === base.betas.length ? base : respaceSchedule(base, plan.steps, plan.M);
    this.totalSteps = plan.steps * plan.repeats;
    this.x0 = source;
    this.entry = plan.steps - 1;
    this.begin();
  }

  /**
   * y = sqrt(abar_{M-1}) x0 + sqrt(1 - abar_{M-1}) e, e drawn once per repeat; in float32 op by op
   * as the official runner computes it, so the start is its start bit for bit (a 1-ulp start
   * difference grows to ~1e-4 along a strongly guided run: golden case strong_adm_cos_cos).
   */
  private begin(): void {
    this.e = this.noise.initial(this.repeat, this.size);
    const top = this.plan.steps - 1;
    const f32 = Math.fround;
    const abar = this.schedule.alphasCumprod[top];
    const a = f32(Math.sqrt(abar));
    const b = f32(Math.sqrt(f32(1 - abar)));
    const y = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) y[i] = f32(f32(a * this.x0[i]) + f32(b * this.e[i]));
    this.y = y;
    this.entry = top;
  }

  get stepsCompleted(): number {
    return this.stepsDone;
  }

  /** A copy of the state after the last accepted step (restore() takes it back). */
  checkpoint(): RunCheckpoint {
    return { stepsDone: this.stepsDone, y: Float32Array.from(this.y), x0: this.x0 === this.source ? null : Float32Array.from(this.x0) };
  }

  /** Continue from a checkpoint of a run with the same source, plan and noise. */
  restore(c: RunCheckpoint): void {
    if (!Number.isInteger(c.stepsDone) || c.stepsDone < 0 || c.stepsDone >= this.totalSteps) throw new RangeError(`checkpoint after ${c.stepsDone} steps does not fit a run of ${this.totalSteps}`);
    if (c.y.length !== this.size || (c.x0 !== null && c.x0.length !== this.size)) throw new RangeError(`checkpoint tensors have ${c.y.length} values, expected ${this.size}`);
    this.repeat = Math.floor(c.stepsDone / this.plan.steps);
    this.x0 = c.x0 ? Float32Array.from(c.x0) : this.source;
    this.e = this.noise.initial(this.repeat, this.size);
    this.y = Float32Array.from(c.y);
    this.entry = this.plan.steps - 1 - (c.stepsDone % this.plan.steps);
    this.stepsDone = c.stepsDone;
    this.z = null;
  }

  get done(): boolean {
    return this.stepsDone >= this.totalSteps;
  }

  get current(): Float32Array {
    return this.y;
  }

  get source0(): Float32Array {
    return this.x0;
  }

  get fixedNoise(): Float32Array {
    return this.e;
  }

  /** The step noise z of the next step (drawn once, on first request). */
  stepNoise(): Float32Array {
    if (!this.z) this.z = this.noise.step(this.stepsDone, this.size);
    return this.z;
  }

  coefficients(out: Float32Array = new Float32Array(NUM_COEFS)): Float32Array {
    return stepCoefficients(this.schedule, this.entry, this.weights, out);
  }

  /** Accept the step's new sample; returns what the step was. */
  advance(yNext: Float32Array): StepRecord {
    const record: StepRecord = { step: this.stepsDone + 1, totalSteps: this.totalSteps, t: this.schedule.timesteps[this.entry], repeat: this.repeat };
    this.y = yNext;
    this.z = null;
    this.stepsDone += 1;
    if (this.entry > 0) this.entry -= 1;
    else if (!this.done) {
      this.repeat += 1;
      this.x0 = this.y;
      this.begin();
    }
    return record;
  }

  /** Output image in [0, 1]: clamp((y + 1) / 2, 0, 1). */
  output(): Float32Array {
    const out = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = Math.min(1, Math.max(0, (this.y[i] + 1) / 2));
    return out;
  }
}
