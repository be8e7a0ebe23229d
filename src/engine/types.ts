/**
 * The engine's public types: requests, step states, results, status. Plain data only, so they
 * cross the worker-thread boundary unchanged.
 */
import type { ErrorCode } from '../errors';
import type { RunParams } from './params';
import type { RunCheckpoint } from './sampling/run-state';
import type { BetaScheduleKind, ExecutionProvider, FaithfulnessEnergyKind, RealismEnergyKind, SamplerKind, VarianceType } from './vocabulary';

export type { SamplerKind, FaithfulnessEnergyKind, RealismEnergyKind, ExecutionProvider, RunParams, RunCheckpoint };

export interface TranslateRequest {
  /** caller-chosen id (the service uses its Run id); generated when absent */
  runId?: string;
  pack: string;
  /** the source image, [3, S, S] float32 in [-1, 1], S the pack's imageSize */
  image: Float32Array;
  params?: Partial<RunParams>;
  /** tests: recorded noise instead of the seeded generator */
  recordedNoise?: { e: Float32Array[]; z: Float32Array[] };
  /** continue an interrupted run from its checkpoint (same image, params and seed) */
  resume?: RunCheckpoint;
  /** put a checkpoint on every this-many-th step state (0: never). Default 0 */
  checkpointEvery?: number;
}

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface StepState {
  type: 'step';
  runId: string;
  seq: number;
  /** 1-based, over all repeats */
  step: number;
  totalSteps: number;
  /** the timestep index the models saw */
  t: number;
  /** EGSDE only; null for SDEdit and ILVR */
  energies: { realism: number; faithfulness: number } | null;
  /** downscaled predicted clean image, every `previewEvery` steps */
  preview: RgbImage | null;
  /** the sampler state after this step, every `checkpointEvery` steps (never after the last) */
  checkpoint: RunCheckpoint | null;
}

export interface RunTimings {
  /** from start() until the first step began */
  queuedMs: number;
  /** from the first step until the result */
  runMs: number;
  steps: number;
  msPerStep: number;
}

export interface RunResult {
  type: 'result';
  runId: string;
  seq: number;
  /** [3, S, S] float32 in [0, 1]: clamp((y + 1) / 2, 0, 1) */
  image: Float32Array;
  size: number;
  timings: RunTimings;
}

export interface RunFailed {
  type: 'error';
  runId: string;
  seq: number;
  code: ErrorCode;
  message: string;
}

export interface RunCancelled {
  type: 'cancelled';
  runId: string;
  seq: number;
}

export type RunEvent = StepState | RunResult | RunFailed | RunCancelled;

export interface PackInfo {
  name: string;
  description?: string;
  sourceDomains: string[];
  targetDomain: string;
  imageSize: number;
  numTimesteps: number;
  schedule: { betaSchedule: BetaScheduleKind; betaStart: number; betaEnd: number; varType: VarianceType };
  defaults: Omit<RunParams, 'seed' | 'previewEvery'> & { downN: number };
}

export interface EngineStatus {
  provider: ExecutionProvider;
  activeRuns: number;
  lastBatchSizes: number[];
  stepsPerSecond: number;
  maxBatch: number;
  packs: string[];
  /** packs that failed to load, with their errors */
  packErrors: { code: ErrorCode; message: string }[];
}
