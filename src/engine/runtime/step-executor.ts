/**
 * Runs the fused step graph for a batch of runs: one session run per batch, whatever timesteps
 * the runs are at (the coefficients are per sample).
 */
import { NUM_COEFS } from '../sampling/coefficients';
import { RunState } from '../sampling/run-state';
import { STEP_OUTPUTS } from '../sampling/step-graph';
import { GraphSession } from './session';

export interface StepOutputs {
  yNext: Float32Array;
  x0Pred: Float32Array;
  /** EGSDE only */
  energies: { realism: number; faithfulness: number } | null;
}

export class StepExecutor {
  constructor(readonly session: GraphSession, readonly hasEnergies: boolean) {}

  async step(runs: RunState[]): Promise<StepOutputs[]> {
    const n = runs.length;
    const size = runs[0].size;
    const dims = [n, ...runs[0].shape];
    const y = new Float32Array(n * size);
    const x0 = new Float32Array(n * size);
    const e = new Float32Array(n * size);
    const z = new Float32Array(n * size);
    const coef = new Float32Array(n * NUM_COEFS);
    runs.forEach((r, i) => {
      y.set(r.current, i * size);
      x0.set(r.source0, i * size);
      e.set(r.fixedNoise, i * size);
      z.set(r.stepNoise(), i * size);
      r.coefficients(coef.subarray(i * NUM_COEFS, (i + 1) * NUM_COEFS));
    });
    const out = await this.session.run({
      y: { data: y, dims },
      x0: { data: x0, dims },
      e: { data: e, dims },
      z: { data: z, dims },
      coef: { data: coef, dims: [n, NUM_COEFS] },
    });
    const yNext = out[STEP_OUTPUTS.yNext].data as Float32Array;
    const x0Pred = out[STEP_OUTPUTS.x0Pred].data as Float32Array;
    const er = this.hasEnergies ? (out[STEP_OUTPUTS.realism].data as Float32Array) : null;
    const ef = this.hasEnergies ? (out[STEP_OUTPUTS.faithfulness].data as Float32Array) : null;
    return runs.map((_, i) => ({
      yNext: yNext.slice(i * size, (i + 1) * size),
      x0Pred: x0Pred.slice(i * size, (i + 1) * size),
      energies: er && ef ? { realism: er[i], faithfulness: ef[i] } : null,
    }));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
