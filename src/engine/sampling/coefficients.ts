/**
 * Per-sample step coefficients, fed to the step graph as one [N, NUM_COEFS] tensor so runs at
 * different timesteps (and with different lambdas) share one batched session run.
 * docs/egsde-step.md §5; official functions/denoising.py `egsde_sample`.
 */
import { Schedule } from './schedule';

export const COEF = {
  /** timestep index fed to the models (float) */
  t: 0,
  /** sqrt(abar_i): xt = sqrt(abar_i) x0 + sqrt(1 - abar_i) e */
  sqrtAbar: 1,
  sqrtOneMinusAbar: 2,
  /** beta_i / sqrt(1 - abar_i) */
  epsCoef: 3,
  /** 1 / sqrt(alpha_i) */
  meanCoef: 4,
  /** lambda_s * beta_i / sqrt(alpha_i) */
  realismWeight: 5,
  /** lambda_i * beta_i / sqrt(alpha_i) */
  faithfulnessWeight: 6,
  /** exp(logvar_i / 2), 0 at the last step */
  sigma: 7,
  /** sqrt(abar_{i-1}) and sqrt(1 - abar_{i-1}): ILVR's reference at the new time */
  sqrtAbarPrev: 8,
  sqrtOneMinusAbarPrev: 9,
} as const;

export const NUM_COEFS = 10;

export interface GuidanceWeights {
  lambdaS: number;
  lambdaI: number;
}

/** Coefficients of schedule entry k (timestep schedule.timesteps[k]). */
export function stepCoefficients(schedule: Schedule, k: number, w: GuidanceWeights, out: Float32Array = new Float32Array(NUM_COEFS)): Float32Array {
  const beta = schedule.betas[k];
  const abar = schedule.alphasCumprod[k];
  const abarPrev = schedule.alphasCumprodPrev[k];
  const alpha = schedule.alphas[k];
  const weight = beta / Math.sqrt(alpha);
  out[COEF.t] = schedule.timesteps[k];
  out[COEF.sqrtAbar] = Math.sqrt(abar);
  out[COEF.sqrtOneMinusAbar] = Math.sqrt(1 - abar);
  out[COEF.epsCoef] = beta / Math.sqrt(1 - abar);
  out[COEF.meanCoef] = 1 / Math.sqrt(alpha);
  out[COEF.realismWeight] = w.lambdaS * weight;
  out[COEF.faithfulnessWeight] = w.lambdaI * weight;
  out[COEF.sigma] = k > 0 ? Math.exp(0.5 * schedule.logvar[k]) : 0;
  out[COEF.sqrtAbarPrev] = Math.sqrt(abarPrev);
  out[COEF.sqrtOneMinusAbarPrev] = Math.sqrt(1 - abarPrev);
  return out;
}
