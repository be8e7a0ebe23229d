/** The embedded queue: the Run table is the queue (persisted, survives restarts); in-process wake-ups. */
import type { QueuedRuns, RunQueue } from './run-queue';

export class TableRunQueue implements RunQueue {
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly store: QueuedRuns) {}

  async enqueue(_runId: string): Promise<void> {
    this.wake();
  }

  take(): Promise<string | null> {
    return this.closed ? Promise.resolve(null) : this.store.oldestQueuedId();
  }

  waitForWork(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.waiters = self.waiters.filter((w) => w !== done);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  async length(): Promise<number> {
    return (await this.store.countsByStatus()).QUEUED;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
  }
}
