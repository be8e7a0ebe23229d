/**
 * The run queue port. It speaks run ids only: producers enqueue the id of a run they created
 * QUEUED; workers take ids and claim each through the run store's conditional `claim(id)`
 * (QUEUED -> RUNNING). Delivery is at least once: a taken id may already be claimed, cancelled or
 * gone, and the store's claim decides. The embedded adapter is the Run table itself
 * (./table-queue.ts); a BullMQ adapter carries the same contract over Redis. Both pass
 * ./conformance.ts.
 */
export interface RunQueue {
  /** A run was created QUEUED. */
  enqueue(runId: string): Promise<void>;
  /** The id of a queued run to claim (the oldest first), or null when none is waiting. */
  take(): Promise<string | null>;
  /** Resolves when work may be available, or after timeoutMs. */
  waitForWork(timeoutMs: number): Promise<void>;
  /** Queued runs waiting. */
  length(): Promise<number>;
  /** take() returns null from now on and waiting returns at once. */
  close(): Promise<void>;
}

/** What the table queue reads: the queued runs of the run store (structurally, RunStore). */
export interface QueuedRuns {
  oldestQueuedId(): Promise<string | null>;
  countsByStatus(): Promise<{ readonly QUEUED: number }>;
}
