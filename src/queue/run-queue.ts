/**
 * The run queue port. It speaks run ids only: producers enqueue the id of a run they created
 * QUEUED; workers take ids and claim each through the run store's conditional `claim(id)`
 * (QUEUED -> RUNNING). Delivery is at least once: a taken id may already be claimed, cancelled or
 * gone, and the store's claim decides. The embedded adapter is the Run table itself
 * (./table-queue.ts); a BullMQ adapter carries the same contract over Redis. Both pass
 * ./conformance.ts.
 */
export interface RunQueue {
  /**
   * A run was created (or put back) QUEUED. Idempotent: enqueuing a run that is already waiting
   * adds nothing (recovery sweeps re-enqueue queued runs a lost delivery may have dropped).
   */
  enqueue(run: QueuedRun): Promise<void>;
  /**
   * The id of a queued run to claim (the oldest first), or null when none is waiting. A consumer
   * made for some tasks (packs) takes only runs of those.
   */
  take(): Promise<string | null>;
  /** Throws CodedError 'server/unavailable' when the queue cannot take an enqueue now (Redis down). */
  assertAvailable(): Promise<void>;
  /** Resolves when work may be available, or after timeoutMs. */
  waitForWork(timeoutMs: number): Promise<void>;
  /** Queued runs waiting. */
  length(): Promise<number>;
  /** take() returns null from now on and waiting returns at once. */
  close(): Promise<void>;
}

export interface QueuedRun {
  readonly id: string;
  /** the run's pack */
  readonly task: string;
}

/** What the table queue reads: the queued runs of the run store (structurally, RunStore). */
export interface QueuedRuns {
  oldestQueuedId(options?: { readonly tasks?: readonly string[] }): Promise<string | null>;
  countsByStatus(): Promise<{ readonly QUEUED: number }>;
}
