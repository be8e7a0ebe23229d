/**
 * Run parameters: one zod schema, from which the RunParams type, the pack manifest's `defaults`
 * (a partial of it, src/engine/packs/schema.ts) and the GraphQL input's limits are derived.
 * `resolveParams` lays a request over a pack's defaults and validates it; every violation is an
 * 'input/params_out_of_range' error naming the field.
 */
import { z } from 'zod';
import { CodedError } from '../errors';
import type { PackInfo } from './types';
import { ENERGIES, SAMPLERS } from './vocabulary';
import { cachedSchedule, respaceSchedule } from './sampling/schedule';
import { lowPassOperator } from './sampling/lowpass';

/** An integer field in [min, max] with messages that say so. */
export const intIn = (min: number, max: number) =>
  z.number().int('must be an integer').min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);

/** Seeds are 32-bit: the seeded generator's state (src/engine/sampling/noise.ts). */
export const MAX_SEED = 2 ** 32 - 1;

const weight = z.number().finite('must be finite').min(0, 'must be >= 0').max(1e6, 'must be <= 1000000');

/** Every run parameter, with its range (see docs/egsde-step.md for what each does). */
export const runParamsSchema = z
  .object({
    sampler: z.enum(SAMPLERS),
    /** start time M: the run starts from timestep M-1 */
    M: intIn(1, 100_000),
    /** steps per repeat, 1..M (fewer than M respaces the schedule; 1 only when M = 1) */
    steps: intIn(1, 100_000),
    /** realism weight lambda_s (EGSDE) */
    lambdaS: weight,
    /** faithfulness weight lambda_i (EGSDE) */
    lambdaI: weight,
    /** realism energy */
    s1: z.enum(ENERGIES),
    /** faithfulness energy */
    s2: z.enum(ENERGIES),
    seed: intIn(0, MAX_SEED),
    /** repeats of the whole procedure (the official sample_step) */
    repeats: intIn(1, 100),
    /** a preview every N steps (and at the last); 0 turns previews off */
    previewEvery: intIn(0, 100_000),
  })
  .strict();

/** Run parameters; every field defaults to the pack's `defaults` (seed: random). */
export type RunParams = z.output<typeof runParamsSchema>;

export const DEFAULT_PREVIEW_EVERY = 10;

/** Validate a request's parameters over a pack's defaults (also used by the service, via index.ts). */
export function resolveParams(pack: Pick<PackInfo, 'defaults' | 'numTimesteps'> & Partial<Pick<PackInfo, 'schedule' | 'imageSize'>>, given: Partial<RunParams> = {}): RunParams {
  const d = pack.defaults;
  const M = given.M ?? d.M;
  const merged = {
    sampler: given.sampler ?? d.sampler,
    M,
    steps: given.steps ?? (given.M !== undefined ? Math.min(d.steps === d.M ? M : d.steps, M) : d.steps),
    lambdaS: given.lambdaS ?? d.lambdaS,
    lambdaI: given.lambdaI ?? d.lambdaI,
    s1: given.s1 ?? d.s1,
    s2: given.s2 ?? d.s2,
    seed: given.seed ?? Math.floor(Math.random() * (MAX_SEED + 1)),
    repeats: given.repeats ?? d.repeats,
    previewEvery: given.previewEvery ?? DEFAULT_PREVIEW_EVERY,
  };
  const parsed = runParamsSchema.safeParse({ ...merged, ...stripUndefined(given) });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.') || '(params)';
    throw new CodedError('input/params_out_of_range', `params.${field}: ${issue.message}`, { field: `params.${field}` });
  }
  const p = parsed.data;
  const T = pack.numTimesteps;
  if (p.M > T) throw new CodedError('input/params_out_of_range', `params.M: must be <= ${T} (the pack's timesteps), got ${p.M}`, { field: 'params.M' });
  if (p.steps > p.M) throw new CodedError('input/params_out_of_range', `params.steps: must be <= M (${p.M}), got ${p.steps}`, { field: 'params.steps' });
  if (p.steps === 1 && p.M > 1) throw new CodedError('input/params_out_of_range', `params.steps: one step cannot go from timestep ${p.M - 1} to 0; use steps >= 2`, { field: 'params.steps' });
  if (p.sampler === 'egsde' && p.s2 === 'neg_l2' && p.lambdaI > 0 && pack.schedule && pack.imageSize) {
    // docs/egsde-step.md §14: y -= lambda_i w grad E_i with grad E_i = 2 L^T L (y - xt) is an
    // explicit step on a quadratic. Along the top eigenvector of L^T L each step multiplies the
    // deviation by |1/sqrt(alpha_k) - 2 lambda_i w_k rho|; respacing enlarges beta_k, so few steps
    // with a large lambda_i blow the sample up. Refuse runs whose amplification peaks above 10.
    const base = cachedSchedule({ ...pack.schedule, numDiffusionTimesteps: T });
    const sched = p.steps === T && p.M === T ? base : respaceSchedule(base, p.steps, p.M);
    const rho = lowPassNorm(pack.imageSize, pack.defaults.downN);
    const peak = (lambdaI: number) => {
      let prod = 1;
      let max = 1;
      for (let k = sched.betas.length - 1; k >= 0; k--) {
        const a = Math.sqrt(sched.alphas[k]);
        prod *= Math.abs(1 / a - (2 * lambdaI * sched.betas[k] * rho) / a);
        max = Math.max(max, prod);
      }
      return max;
    };
    if (peak(p.lambdaI) > MAX_AMPLIFICATION) {
      let lo = 0;
      let hi = p.lambdaI;
      for (let i = 0; i < 40; i++) {
        const mid = (lo + hi) / 2;
        if (peak(mid) > MAX_AMPLIFICATION) hi = mid;
        else lo = mid;
      }
      throw new CodedError(
        'input/params_out_of_range',
        `params.lambdaI: ${p.lambdaI} with ${p.steps} steps from M = ${p.M} would make the faithfulness step diverge; at these steps lambda_i must stay below ${lo.toFixed(1)} (or take more steps)`,
        { field: 'params.lambdaI', max: lo },
      );
    }
  }
  return p;
}

/** the largest growth of a deviation along the run the faithfulness step may cause */
const MAX_AMPLIFICATION = 10;

const norms = new Map<string, number>();
/** Largest eigenvalue of L^T L for the separable low-pass L = P (x) P: lambda_max(P^T P)^2. */
function lowPassNorm(size: number, downN: number): number {
  const key = `${size}/${downN}`;
  let v = norms.get(key);
  if (v === undefined) {
    const P = lowPassOperator(size, downN);
    const n = P.cols;
    // power iteration on P^T P
    let x = new Float64Array(n).fill(1 / Math.sqrt(n));
    let lambda = 0;
    for (let it = 0; it < 200; it++) {
      const px = new Float64Array(P.rows);
      for (let i = 0; i < P.rows; i++) for (let j = 0; j < n; j++) px[i] += P.data[i * n + j] * x[j];
      const y = new Float64Array(n);
      for (let i = 0; i < P.rows; i++) for (let j = 0; j < n; j++) y[j] += P.data[i * n + j] * px[i];
      lambda = Math.sqrt(y.reduce((a, b) => a + b * b, 0));
      x = y.map((e) => e / lambda);
    }
    v = lambda * lambda;
    norms.set(key, v);
  }
  return v;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
