/**
 * Group commit for run events: appends asked for in the same turn of the event loop (the STEP
 * events of one batched engine step, for every run in it) go to the store as one
 * {@link RunStore.appendEvents} call, one transaction, rather than one transaction each (on
 * SQLite each is a synchronous write and an fsync on the API's thread). While a batch is being
 * written the next one gathers, and goes as soon as the first is done. Each append keeps its own
 * outcome: the record, or the error appendEvent would have thrown for it alone ('run/lease_lost'
 * under a lost lease, 'run/duplicate_event', ...), so callers see no difference but the timing.
 *
 * Order: appends are written in the order asked, a run's in its order; callers that need one
 * append stored before asking the next (RunEventsLog chains a run's appends) wait for its promise.
 */
import type { NewRunEvent, RunEventAppend, RunEventRecord, RunStore } from '../runs';

interface Pending {
  event: RunEventAppend;
  resolve(r: RunEventRecord): void;
  reject(e: unknown): void;
}

export interface EventWriteCoalescerOptions {
  /** most events per transaction; default 256 */
  maxBatch?: number;
}

export class EventWriteCoalescer {
  private queue: Pending[] = [];
  private scheduled = false;
  private writing = false;
  private readonly maxBatch: number;
  /** batches written and events in them, for tests and benches */
  readonly stats = { batches: 0, events: 0 };

  constructor(
    private readonly store: Pick<RunStore, 'appendEvent' | 'appendEvents'>,
    options: EventWriteCoalescerOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 256;
  }

  /** Stores the event with the others asked for in this turn; resolves once it is committed. */
  append(runId: string, event: NewRunEvent): Promise<RunEventRecord> {
    return new Promise<RunEventRecord>((resolve, reject) => {
      this.queue.push({ event: { ...event, runId }, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.queue.length === 0) return;
    this.scheduled = true;
    // after this turn's other appends (the rest of the step's events) have joined
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.writing = true;
    this.stats.batches++;
    this.stats.events += batch.length;
    try {
      if (batch.length === 1) {
        const [only] = batch;
        const { runId, ...event } = only!.event;
        await this.store.appendEvent(runId, event).then(only!.resolve, only!.reject);
      } else {
        const outcomes = await this.store.appendEvents(batch.map((p) => p.event));
        batch.forEach((p, i) => {
          const o = outcomes[i];
          if (!o) p.reject(new Error('the store answered fewer events than it was given'));
          else if (o.ok) p.resolve(o.event);
          else p.reject(o.error);
        });
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }
}
