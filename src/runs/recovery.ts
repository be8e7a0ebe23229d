/**
 * Recovery of runs whose worker is gone: every RUNNING run whose lease expired is requeued (to
 * resume from its checkpoint), cancelled or failed, one conditional transition each. Any number
 * of processes may sweep at once: a run with a live lease is never touched, and of two sweepers
 * one wins each run.
 */
import type { RunRecord } from './record';
import type { RunStore } from './store';
import { MAX_PAGE_SIZE } from './store';

export interface RecoveryCounts {
  /** RUNNING runs with attempts left, back to QUEUED. */
  readonly requeued: number;
  /** RUNNING runs out of attempts, now FAILED with errorCode 'run/interrupted'. */
  readonly failed: number;
  /** RUNNING runs whose cancellation had been requested, now CANCELLED. */
  readonly cancelled: number;
}

/**
 * `onRecovered` sees each run as recovery left it (to tell its subscribers, re-enqueue it).
 * `now` is when leases count as expired (default: the caller's clock).
 */
export async function recoverInterruptedRuns(
  store: RunStore,
  maxAttempts: number,
  onRecovered: (run: RunRecord) => Promise<void> = async () => {},
  now: Date = new Date(),
): Promise<RecoveryCounts> {
  const counts = { requeued: 0, failed: 0, cancelled: 0 };
  const seen = new Set<string>();
  for (;;) {
    const ids = (await store.expiredLeaseIds(now, MAX_PAGE_SIZE)).filter((id) => !seen.has(id));
    if (ids.length === 0) return counts;
    for (const id of ids) {
      seen.add(id);
      const { applied, run } = await store.recoverRun(id, maxAttempts, { leaseExpiredBy: now });
      if (!applied) continue;
      if (run.status === 'QUEUED') counts.requeued++;
      else if (run.status === 'CANCELLED') counts.cancelled++;
      else counts.failed++;
      await onRecovered(run);
    }
  }
}
