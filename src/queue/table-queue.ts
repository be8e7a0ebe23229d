/** The embedded queue: the Run table is the queue (persisted, survives restarts); in-process wake-ups. */
import type { QueuedRun, QueuedRuns, RunQueue } from './run-queue';

export interface TableRunQueueOptions {
  /** take() only runs of these tasks (a worker's packs); default any */
  tasks?: readonly string[];
}

export class TableRunQueue implements RunQueue {
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly store: QueuedRuns, private readonly options: TableRunQueueOptions = {}) {}

  async enqueue(_run: QueuedRun): Promise<void> {
    this.wake();
  }

  take(): Promise<string | null> {
    return this.closed ? Promise.resolve(null) : this.store.oldestQueuedId(this.options.tasks ? { tasks: this.options.tasks } : {});
  }

  /** The table is the database itself: nothing else to be down. */
  async assertAvailable(): Promise<void> {}

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
