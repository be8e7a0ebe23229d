/**
 * Run parameters: the request's values over the pack's defaults, validated. Every violation is
 * an engine/invalid_input error naming the field.
 */
import { z } from 'zod';
import { EngineError } from './errors';
import type { PackInfo, RunParams } from './types';

const paramsSchema = z
  .object({
    sampler: z.enum(['egsde', 'sdedit', 'ilvr']),
    M: z.number().int().min(1),
    steps: z.number().int().min(1),
    lambdaS: z.number().finite().min(0).max(1e6),
    lambdaI: z.number().finite().min(0).max(1e6),
    s1: z.enum(['cosine', 'neg_l2']),
    s2: z.enum(['cosine', 'neg_l2']),
    seed: z.number().int().min(0).max(2 ** 32 - 1),
    repeats: z.number().int().min(1).max(100),
    previewEvery: z.number().int().min(0).max(100000),
  })
  .strict();

export const DEFAULT_PREVIEW_EVERY = 10;

/** Validate a request's parameters over a pack's defaults (also used by the service, via index.ts). */
export function resolveParams(pack: Pick<PackInfo, 'defaults' | 'numTimesteps'>, given: Partial<RunParams> = {}): RunParams {
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
    seed: given.seed ?? Math.floor(Math.random() * 2 ** 32),
    repeats: given.repeats ?? d.repeats,
    previewEvery: given.previewEvery ?? DEFAULT_PREVIEW_EVERY,
  };
  const parsed = paramsSchema.safeParse({ ...merged, ...stripUndefined(given) });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.') || '(params)';
    throw new EngineError('engine/invalid_input', `params.${field}: ${issue.message}`, { field: `params.${field}` });
  }
  const p = parsed.data;
  const T = pack.numTimesteps;
  if (p.M > T) throw new EngineError('engine/invalid_input', `params.M: must be <= ${T} (the pack's timesteps), got ${p.M}`, { field: 'params.M' });
  if (p.steps > p.M) throw new EngineError('engine/invalid_input', `params.steps: must be <= M (${p.M}), got ${p.steps}`, { field: 'params.steps' });
  if (p.steps === 1 && p.M > 1) throw new EngineError('engine/invalid_input', `params.steps: one step cannot go from timestep ${p.M - 1} to 0; use steps >= 2`, { field: 'params.steps' });
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
