/**
 * The engine's vocabulary, declared once. Every TypeScript union, zod enum (params, pack.json)
 * and GraphQL enum (src/resolvers/enums.ts) is derived from these arrays; switches over them are
 * exhaustive, so adding a name is a compile error wherever it needs handling.
 */

/** EGSDE, and the paper's two baselines (docs/egsde-step.md §10). */
export const SAMPLERS = ['egsde', 'sdedit', 'ilvr'] as const;
export type SamplerKind = (typeof SAMPLERS)[number];

/** Energy functions of the realism expert s1 and the faithfulness expert s2 (docs/egsde-step.md §6, §7). */
export const ENERGIES = ['cosine', 'neg_l2'] as const;
export type EnergyKind = (typeof ENERGIES)[number];
export type RealismEnergyKind = EnergyKind;
export type FaithfulnessEnergyKind = EnergyKind;

/** Beta schedules of the official `get_beta_schedule` (runners/egsde.py). */
export const BETA_SCHEDULES = ['linear', 'quad', 'const', 'jsd', 'sigmoid'] as const;
export type BetaScheduleKind = (typeof BETA_SCHEDULES)[number];

/** Posterior log-variance: fixedsmall (clipped posterior variance) or fixedlarge (beta). */
export const VARIANCE_TYPES = ['fixedsmall', 'fixedlarge'] as const;
export type VarianceType = (typeof VARIANCE_TYPES)[number];

/** What the score model outputs: ADM with learned sigma (6 channels, eps first) or eps only. */
export const SCORE_KINDS = ['adm-learned-sigma', 'eps'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

/** Execution providers of onnxruntime-node the engine can ask for. */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
