/**
 * Recovery after a crash: every run left RUNNING (by a process that is gone) is requeued,
 * cancelled or failed, one conditional transition each, paging through all of them by cursor.
 * Not for use while workers of the same database run (the scale-out issue replaces this with leases).
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

/** `onRecovered` sees each run as recovery left it (to tell its subscribers). */
export async function recoverInterruptedRuns(
  store: RunStore,
  maxAttempts: number,
  onRecovered: (run: RunRecord) => Promise<void> = async () => {},
): Promise<RecoveryCounts> {
  const counts = { requeued: 0, failed: 0, cancelled: 0 };
  let after: string | null = null;
  for (;;) {
    const page = await store.list({ status: 'RUNNING' }, MAX_PAGE_SIZE, after);
    for (const r of page.rows) {
      const { applied, run } = await store.recoverRun(r.id, maxAttempts);
      if (!applied) continue;
      if (run.status === 'QUEUED') counts.requeued++;
      else if (run.status === 'CANCELLED') counts.cancelled++;
      else counts.failed++;
      await onRecovered(run);
    }
    if (!page.hasNextPage || page.endCursor === null) return counts;
    after = page.endCursor;
  }
}
