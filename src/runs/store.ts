/**
 * The run store port: persistence of runs and their events. Adapters (src/adapters/prisma for
 * SQLite and PostgreSQL) implement it and pass {@link runStoreConformance} (./conformance.ts).
 * Losing a race is an expected outcome for a worker: transitions report `{ applied: false }`
 * with the run as the winner left it, rather than throwing.
 */
import type {
  ClaimOptions,
  Lease,
  LeaseRenewal,
  NewRun,
  NewRunEvent,
  RunCounts,
  RunEventRecord,
  RunFilter,
  RunPage,
  RunRecord,
  RunResult,
  StoredCheckpoint,
  TransitionResult,
} from './record';

/** One event of a batch for {@link RunStore.appendEvents}. */
export interface RunEventAppend extends NewRunEvent {
  readonly runId: string;
}

/** What became of one event of a batch: stored, or refused with the error appendEvent would throw. */
export type RunEventAppendOutcome = { readonly ok: true; readonly event: RunEventRecord } | { readonly ok: false; readonly error: Error };

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 200;

export interface RunStore {
  /** Inserts a QUEUED run. */
  create(run: NewRun): Promise<RunRecord>;
  /** The run, or null when there is none with that id. */
  get(id: string): Promise<RunRecord | null>;
  /**
   * One page of runs, newest first. `first`: 0..{@link MAX_PAGE_SIZE} (default 20); `after`: an
   * endCursor from a previous page (a malformed one throws 'input/bad_cursor').
   */
  list(filter?: RunFilter, first?: number, after?: string | null): Promise<RunPage>;
  /** How many runs match `filter` (the whole history under it, not one page). */
  count(filter?: RunFilter): Promise<number>;
  /**
   * The run's 1-based place among the QUEUED runs of its task, oldest first (createdAt, then id:
   * the order claims take them in); null when the run is not QUEUED or there is none with that id.
   */
  queuePosition(id: string): Promise<number | null>;
  /** The id of the oldest QUEUED run (of the given tasks), or null. */
  oldestQueuedId(options?: ClaimOptions): Promise<string | null>;
  /**
   * QUEUED -> RUNNING (attempts + 1, startedAt set), held by `lease` when given (a run claimed
   * without one counts as expired for {@link expiredLeaseIds}).
   */
  claim(id: string, lease?: Lease): Promise<TransitionResult>;
  /** The oldest QUEUED run, claimed; null when none is queued. */
  claimNext(options?: ClaimOptions, lease?: Lease): Promise<RunRecord | null>;
  /**
   * Extends the leases `owner` holds on `ids` to now + ttlMs; for each id, whether it is still
   * held (RUNNING under this owner) and whether its cancel was requested.
   */
  renewLeases(owner: string, ids: readonly string[], ttlMs: number): Promise<LeaseRenewal[]>;
  /** Ids of RUNNING runs whose lease expired before `now` (or that have none), oldest first. */
  expiredLeaseIds(now: Date, limit?: number): Promise<string[]>;
  /** Keeps a sampler checkpoint taken after `step` steps, if `owner` holds the run; returns whether it did. */
  saveCheckpoint(id: string, owner: string, checkpoint: StoredCheckpoint): Promise<boolean>;
  /** The run's last checkpoint, or null. */
  loadCheckpoint(id: string): Promise<StoredCheckpoint | null>;
  /** RUNNING -> SUCCEEDED (only under `owner`'s lease when given, as for the other worker writes). */
  markSucceeded(id: string, result: RunResult, owner?: string): Promise<TransitionResult>;
  /** RUNNING -> FAILED with an error code and message. */
  markFailed(id: string, code: string, message: string, owner?: string): Promise<TransitionResult>;
  /** QUEUED | RUNNING -> CANCELLED (a worker acknowledging a requested cancel, or a direct cancel). */
  markCancelled(id: string, owner?: string): Promise<TransitionResult>;
  /** QUEUED -> FAILED: a queued run no worker took (e.g. 'run/no_worker'). */
  failQueued(id: string, code: string, message: string): Promise<TransitionResult>;
  /**
   * A user's cancel: a QUEUED run becomes CANCELLED at once; a RUNNING one gets cancelRequested
   * (its worker stops and calls markCancelled); a CANCELLED one is returned as is; SUCCEEDED and
   * FAILED runs throw 'run/not_cancellable'. Unknown ids throw 'run/not_found'.
   */
  requestCancel(id: string): Promise<RunRecord>;
  /**
   * Deletes a terminal run and its events ('run/not_deletable' otherwise, 'run/not_found').
   * Returns the image keys no run references any more (the caller removes their files).
   */
  delete(id: string): Promise<string[]>;
  /** Which of `keys` some run still references (its source, a preview in its events, its output). */
  referencedKeys(keys: readonly string[]): Promise<Set<string>>;
  /** How many of this owner's runs are QUEUED or RUNNING. */
  countActive(ownerId: string | null): Promise<number>;
  /**
   * A RUNNING run whose worker is gone: CANCELLED when its cancel had been requested, QUEUED when
   * attempts < maxAttempts (lease cleared, checkpoint kept, event seqs continue), else FAILED with
   * errorCode 'run/interrupted'. Not applied (applied: false) when the run is not RUNNING, or,
   * with `leaseExpiredBy`, when its lease is still alive at that time.
   */
  recoverRun(id: string, maxAttempts: number, options?: { leaseExpiredBy?: Date }): Promise<TransitionResult>;
  /**
   * RUNNING -> QUEUED for a run this process is giving back (graceful shutdown); the attempt is
   * not counted, the checkpoint kept. Returns whether the transition applied.
   */
  requeue(id: string, owner?: string): Promise<boolean>;
  /**
   * Stores an event and raises the run's lastSeq (and stepsDone, if given) in one transaction.
   * Throws 'run/duplicate_event' for a seq already stored, 'run/not_found' for an unknown run.
   */
  appendEvent(runId: string, event: NewRunEvent): Promise<RunEventRecord>;
  /**
   * Stores several events (of any runs) in one transaction, each exactly as {@link appendEvent}
   * would store it alone: the same checks (the lease when `owner` is given; lastSeq below seq),
   * the same effects. One event's refusal ('run/lease_lost', 'run/duplicate_event',
   * 'run/not_found', 'input/invalid') is that event's outcome and does not stop the others; a
   * run's events are applied in the order given. A failure of the database itself rejects the call.
   */
  appendEvents(events: readonly RunEventAppend[]): Promise<RunEventAppendOutcome[]>;
  /** The run's events with seq > afterSeq, by seq (empty for an unknown run). */
  eventsAfter(runId: string, afterSeq: number, limit?: number): Promise<RunEventRecord[]>;
  /** How many runs are in each status (zeros included). */
  countsByStatus(): Promise<RunCounts>;
}
