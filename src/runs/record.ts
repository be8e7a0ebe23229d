/** The Run record and the values the store takes and returns. Plain data (no bigint), so it crosses buses and threads unchanged. */
import type { RunParams, RunTimings } from '../engine';
import type { RunEventType, RunStatus } from './status';

/** What a run was asked to do: the run parameters without the seed (a column of its own). */
export type RunSettings = Omit<RunParams, 'seed'>;

/** Faithfulness of the output to the (cropped, resized) source, from src/metrics. */
export interface RunMetrics {
  readonly l2: number;
  /** dB; Infinity when the output equals the source */
  readonly psnr: number;
  readonly ssim: number;
}

export interface RunRecord {
  readonly id: string;
  readonly status: RunStatus;
  /** the model pack */
  readonly task: string;
  readonly params: RunSettings;
  /** 0 .. 2^32 - 1 */
  readonly seed: number;
  readonly totalSteps: number;
  /** The seq of the newest event (0 before any). */
  readonly lastSeq: number;
  readonly stepsDone: number;
  /** How many times a worker claimed the run. */
  readonly attempts: number;
  /** Set by requestCancel on a RUNNING run; the worker acknowledges with markCancelled. */
  readonly cancelRequested: boolean;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly timings: RunTimings | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly sourceKey: string;
  readonly outputKey: string | null;
  readonly metrics: RunMetrics | null;
  /** The worker holding the RUNNING run, and until when (it renews the lease while it runs). */
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: Date | null;
  /** Steps done at the last stored checkpoint (0: none); a resumed run starts there. */
  readonly checkpointStep: number;
  /** The API key that created the run; null for the operator's key and the open mode. */
  readonly ownerId: string | null;
}

/** A worker's hold on a RUNNING run: who, and for how long from now. */
export interface Lease {
  readonly owner: string;
  readonly ttlMs: number;
}

export interface LeaseRenewal {
  readonly id: string;
  /** False when the run is no longer RUNNING under this owner: the worker must stop it without writing. */
  readonly held: boolean;
  readonly cancelRequested: boolean;
}

export interface StoredCheckpoint {
  /** steps done when it was taken */
  readonly step: number;
  readonly bytes: Uint8Array;
}

export interface NewRun {
  /** Default: a random UUID. */
  readonly id?: string;
  readonly task: string;
  readonly params: RunSettings;
  readonly seed: number;
  readonly totalSteps: number;
  readonly sourceKey: string;
  /** The creating API key's id (null: none). */
  readonly ownerId?: string | null;
  /** Default: the store's clock. */
  readonly createdAt?: Date;
}

export interface RunFilter {
  /** One status or any of several. */
  readonly status?: RunStatus | readonly RunStatus[];
  readonly task?: string;
  /** Only this owner's runs. */
  readonly ownerId?: string;
  /** Inclusive lower bound on createdAt. */
  readonly createdAfter?: Date;
  /** Exclusive upper bound on createdAt. */
  readonly createdBefore?: Date;
}

export interface RunPage {
  /** Newest first: createdAt desc, then id desc. */
  readonly rows: RunRecord[];
  readonly hasNextPage: boolean;
  /** Cursor of the last row (pass as `after` for the next page); null when the page is empty. */
  readonly endCursor: string | null;
}

export interface RunResult {
  readonly outputKey: string;
  readonly timings?: RunTimings | null;
  readonly metrics?: RunMetrics | null;
  /** Default: unchanged. */
  readonly stepsDone?: number;
}

export interface TransitionResult {
  /** False when the run was not in a state the transition starts from (a lost race). */
  readonly applied: boolean;
  /** The run after the attempt. */
  readonly run: RunRecord;
}

export interface NewRunEvent {
  /** Positive, increasing per run; (runId, seq) is unique. */
  readonly seq: number;
  readonly type: RunEventType;
  readonly payload: unknown;
  /** Also record the run's progress in the same transaction. */
  readonly stepsDone?: number;
  /** Only while this worker holds the run's lease ('run/lease_lost' otherwise). */
  readonly owner?: string;
}

export interface RunEventRecord {
  readonly runId: string;
  readonly seq: number;
  readonly type: RunEventType;
  readonly payload: unknown;
  readonly createdAt: Date;
}

export type RunCounts = { readonly [S in RunStatus]: number };

export interface ClaimOptions {
  /** Only runs of these tasks (default: any). */
  readonly tasks?: readonly string[];
}
