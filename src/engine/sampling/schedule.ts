/**
 * Diffusion noise schedules, computed exactly as the official EGSDE code does
 * (ML-GSAI/EGSDE runners/egsde.py: `get_beta_schedule` and `EGSDE.__init__`, which follow the
 * ddim / SDEdit code), plus timestep respacing so a run can take fewer steps than timesteps.
 *
 * Dtypes, as in the official runner on CPU:
 * - `get_beta_schedule` builds the betas in numpy float64;
 * - `torch.from_numpy(betas).float()` rounds them to float32;
 * - `alphas = 1 - betas`, the posterior variance and the log-variance are float32 tensor ops,
 *   each rounded to float32 (emulated here with Math.fround after each operation; float64
 *   arithmetic of float32 operands followed by one rounding gives the correctly rounded float32
 *   result for +, -, *, /);
 * - `alphas.cumprod(dim=0)` on CPU accumulates in float64 (ATen cumprod_cpu_kernel uses
 *   `at::acc_type<float, false>`, i.e. double on CPU) and rounds each prefix product to
 *   float32. (On CUDA the accumulation is float32; the goldens come from CPU.)
 * - `log` is float32 `torch.log` (SLEEF, <= 1 ulp); here log is taken in float64 and rounded,
 *   so logvar may differ from PyTorch by 1 ulp of float32.
 */

import type { BetaScheduleKind, VarianceType } from '../vocabulary';
export type { BetaScheduleKind, VarianceType };


export interface BetaScheduleOptions {
  /** Default 'linear'. */
  betaSchedule?: BetaScheduleKind;
  /** Default 1e-4. */
  betaStart?: number;
  /** Default 0.02. */
  betaEnd?: number;
  /** T; default 1000. */
  numDiffusionTimesteps?: number;
}

export interface ScheduleOptions extends BetaScheduleOptions {
  /** Default 'fixedsmall'. */
  varType?: VarianceType;
}

/**
 * One entry per sampling step k (k = 0 .. length-1), all float32 as in the official runner.
 * For a base schedule entry k is timestep k; for a respaced one it is timestep `timesteps[k]`
 * of the base schedule, and the arrays describe the jump from the previous kept timestep.
 */
export interface Schedule {
  readonly varType: VarianceType;
  /** The timestep index fed to the models (base-schedule index) for each entry. */
  readonly timesteps: Int32Array;
  /** beta_k. */
  readonly betas: Float32Array;
  /** alpha_k = 1 - beta_k. */
  readonly alphas: Float32Array;
  /** abar_k = prod_{j<=k} alpha_j. */
  readonly alphasCumprod: Float32Array;
  /** abar_{k-1}, with abar_{-1} = 1. */
  readonly alphasCumprodPrev: Float32Array;
  /** v_k = beta_k (1 - abar_{k-1}) / (1 - abar_k). */
  readonly posteriorVariance: Float32Array;
  /** fixedsmall: log(max(v_k, 1e-20)); fixedlarge: log(beta_k). */
  readonly logvar: Float32Array;
}

const f32 = Math.fround;

/**
 * numpy.linspace(start, stop, num) in float64, bit for bit: y_i = i * step + start with
 * step = (stop - start) / (num - 1), and the last element set to `stop` exactly.
 */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(num);
  if (num === 1) {
    y[0] = start;
    return y;
  }
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) y[i] = i * step + start;
  y[num - 1] = stop;
  return y;
}

/**
 * Betas in float64, as runners/egsde.py `get_beta_schedule(beta_schedule, *, beta_start,
 * beta_end, num_diffusion_timesteps)`.
 */
export function getBetaSchedule(options: BetaScheduleOptions = {}): Float64Array {
  const kind = options.betaSchedule ?? 'linear';
  const betaStart = options.betaStart ?? 1e-4;
  const betaEnd = options.betaEnd ?? 0.02;
  const T = options.numDiffusionTimesteps ?? 1000;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`numDiffusionTimesteps must be a positive integer, got ${T}`);
  switch (kind) {
    case 'quad': {
      // np.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=np.float64) ** 2
      const r = linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), T);
      for (let i = 0; i < T; i++) r[i] = r[i] * r[i];
      return r;
    }
    case 'linear':
      // np.linspace(beta_start, beta_end, T, dtype=np.float64)
      return linspace(betaStart, betaEnd, T);
    case 'const':
      // beta_end * np.ones(T, dtype=np.float64)
      return new Float64Array(T).fill(betaEnd);
    case 'jsd': {
      // 1.0 / np.linspace(T, 1, T): 1/T, 1/(T-1), ..., 1
      const r = linspace(T, 1, T);
      for (let i = 0; i < T; i++) r[i] = 1.0 / r[i];
      return r;
    }
    case 'sigmoid': {
      // sigmoid(np.linspace(-6, 6, T)) * (beta_end - beta_start) + beta_start,
      // with sigmoid(x) = 1 / (np.exp(-x) + 1)
      const r = linspace(-6, 6, T);
      for (let i = 0; i < T; i++) r[i] = (1 / (Math.exp(-r[i]) + 1)) * (betaEnd - betaStart) + betaStart;
      return r;
    }
    default: {
      const unknown: never = kind;
      throw new Error(`unknown beta schedule '${String(unknown)}'`);
    }
  }
}

/**
 * The float32 derived arrays of runners/egsde.py `EGSDE.__init__`, given float32 betas and the
 * cumulative products (already float32):
 *   alphas = 1.0 - betas
 *   posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
 *   fixedlarge: logvar = betas.log(); fixedsmall: logvar = posterior_variance.clamp(min=1e-20).log()
 */
function deriveArrays(
  varType: VarianceType,
  timesteps: Int32Array,
  betas: Float32Array,
  alphasCumprod: Float32Array,
  alphasCumprodPrev: Float32Array,
): Schedule {
  const n = betas.length;
  const alphas = new Float32Array(n);
  const posteriorVariance = new Float32Array(n);
  const logvar = new Float32Array(n);
  // clamp(min=1e-20) on a float32 tensor casts the bound to float32.
  const minVariance = f32(1e-20);
  for (let k = 0; k < n; k++) {
    alphas[k] = f32(1 - betas[k]);
    // ((betas * (1 - prev)) / (1 - abar)), each op rounded to float32 as torch evaluates it.
    posteriorVariance[k] = f32(f32(betas[k] * f32(1 - alphasCumprodPrev[k])) / f32(1 - alphasCumprod[k]));
  }
  switch (varType) {
    case 'fixedlarge':
      for (let k = 0; k < n; k++) logvar[k] = f32(Math.log(betas[k]));
      break;
    case 'fixedsmall':
      for (let k = 0; k < n; k++) logvar[k] = f32(Math.log(Math.max(posteriorVariance[k], minVariance)));
      break;
    default: {
      const unknown: never = varType;
      throw new Error(`unknown variance type '${String(unknown)}'`);
    }
  }
  return { varType, timesteps, betas, alphas, alphasCumprod, alphasCumprodPrev, posteriorVariance, logvar };
}

/**
 * The full schedule over timesteps 0 .. T-1, as runners/egsde.py `EGSDE.__init__` computes it
 * on CPU (see the module comment for the dtype handling).
 */
export function createSchedule(options: ScheduleOptions = {}): Schedule {
  const varType = options.varType ?? 'fixedsmall';
  const betas64 = getBetaSchedule(options);
  const T = betas64.length;
  // torch.from_numpy(betas).float()
  const betas = Float32Array.from(betas64);
  // alphas.cumprod(dim=0): float64 accumulator on CPU, each output rounded to float32.
  const alphasCumprod = new Float32Array(T);
  let acc = 1;
  for (let i = 0; i < T; i++) {
    acc *= f32(1 - betas[i]);
    alphasCumprod[i] = acc;
  }
  // torch.cat([torch.ones(1), alphas_cumprod[:-1]])
  const alphasCumprodPrev = new Float32Array(T);
  alphasCumprodPrev[0] = 1;
  alphasCumprodPrev.set(alphasCumprod.subarray(0, T - 1), 1);
  const timesteps = new Int32Array(T);
  for (let i = 0; i < T; i++) timesteps[i] = i;
  return deriveArrays(varType, timesteps, betas, alphasCumprod, alphasCumprodPrev);
}

/**
 * Which K of the indices 0 .. M-1 to keep: improved-diffusion's `space_timesteps(M, [K])`
 * (openai/improved-diffusion, improved_diffusion/respace.py) with one section:
 *   frac_stride = (M - 1) / (K - 1); cur = 0.0; repeat K times: keep round(cur); cur += frac_stride
 * where `round` is Python's round-half-to-even and `cur` accumulates in float64. The result is
 * strictly increasing and contains 0 and M-1. K = M keeps every index. K = 1 is allowed only
 * when M = 1 (one step cannot contain both 0 and M-1).
 */
export function spaceTimesteps(M: number, K: number): Int32Array {
  if (!Number.isInteger(M) || M < 1) throw new RangeError(`M must be a positive integer, got ${M}`);
  if (!Number.isInteger(K) || K < 1 || K > M) throw new RangeError(`K must be an integer in 1..M (${M}), got ${K}`);
  if (K === 1) {
    if (M !== 1) throw new RangeError(`K = 1 cannot keep both timestep 0 and timestep M-1 = ${M - 1}`);
    return Int32Array.of(0);
  }
  const fracStride = (M - 1) / (K - 1);
  const kept = new Int32Array(K);
  let cur = 0.0;
  for (let k = 0; k < K; k++) {
    kept[k] = roundHalfEven(cur);
    cur += fracStride;
  }
  return kept;
}

/** Python 3 `round(x)` for a float: nearest integer, ties to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +inf
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A schedule that takes K steps through the first M entries of `base` (default M = all of it):
 * the kept entries are `spaceTimesteps(M, K)`, and each kept entry k jumps from the previous
 * kept entry, as in improved-diffusion's `SpacedDiffusion` (respace.py):
 *   beta_k = 1 - abar[t_k] / abar[t_{k-1}]   (abar before the first kept entry = 1)
 * abar is preserved at every kept entry (copied from `base`), abar_prev_k = abar[t_{k-1}], and
 * alphas, posterior variance and logvar are recomputed from these as in `createSchedule`.
 *
 * When t_{k-1} = t_k - 1 (no skipped entry) the ratio is by definition alpha[t_k]; `base.betas`
 * is used there rather than re-deriving it from two float32-rounded abar values, so K = M
 * returns the base schedule unchanged. The ratio itself is computed in float64 from the float32
 * abar values and rounded to float32.
 *
 * `timesteps` holds the base timestep of each kept entry: the models are called with
 * `timesteps[k]`, the schedule arrays are indexed by k.
 */
export function respaceSchedule(base: Schedule, K: number, M: number = base.betas.length): Schedule {
  if (M > base.betas.length) throw new RangeError(`M = ${M} exceeds the base schedule length ${base.betas.length}`);
  const kept = spaceTimesteps(M, K);
  const betas = new Float32Array(K);
  const alphasCumprod = new Float32Array(K);
  const alphasCumprodPrev = new Float32Array(K);
  const timesteps = new Int32Array(K);
  let previous = -1; // base index of the previous kept entry; -1 means "none" (abar = 1)
  for (let k = 0; k < K; k++) {
    const idx = kept[k];
    const abar = base.alphasCumprod[idx];
    const abarPrev = previous < 0 ? 1 : base.alphasCumprod[previous];
    betas[k] = idx === previous + 1 ? base.betas[idx] : f32(1 - abar / abarPrev);
    alphasCumprod[k] = abar;
    alphasCumprodPrev[k] = abarPrev;
    timesteps[k] = base.timesteps[idx];
    previous = idx;
  }
  return deriveArrays(base.varType, timesteps, betas, alphasCumprod, alphasCumprodPrev);
}

const scheduleCache = new Map<string, Schedule>();

/** createSchedule, memoised by its options (schedules are immutable; packs share them). */
export function cachedSchedule(options: ScheduleOptions = {}): Schedule {
  const key = JSON.stringify([options.betaSchedule, options.betaStart, options.betaEnd, options.numDiffusionTimesteps, options.varType]);
  let s = scheduleCache.get(key);
  if (!s) {
    s = createSchedule(options);
    scheduleCache.set(key, s);
  }
  return s;
}
