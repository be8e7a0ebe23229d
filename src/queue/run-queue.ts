/**
 * The run queue, behind an interface: producers enqueue QUEUED runs, workers claim them (moving
 * them to RUNNING). The embedded adapter keeps the queue in the Run table itself; a BullMQ
 * adapter carries the same contract over Redis for separate workers.
 */
import type { RunRecord } from '../services/run-store';

export interface RunQueue {
  /** A run was created QUEUED. */
  enqueue(runId: string): Promise<void>;
  /** Claim the oldest queued run (QUEUED -> RUNNING, attempts + 1), or null if none now. */
  claim(): Promise<RunRecord | null>;
  /** Resolves when work may be available, or after timeoutMs. */
  waitForWork(timeoutMs: number): Promise<void>;
  /** Queued runs waiting. */
  length(): Promise<number>;
  close(): Promise<void>;
}
