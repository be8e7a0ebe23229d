/**
 * Appends a run's events to its persisted log (for replay by seq) and publishes them live, in
 * that order, with one seq counter per run. Appends of different runs asked for in the same turn
 * (a batched engine step's STEP events) are written in one transaction (EventWriteCoalescer).
 */
import type { EventBus } from '../events/event-bus';
import { topics } from '../events/event-bus';
import { isCodedError } from '../errors';
import type { RunStore } from '../runs';
import { EventPayload, RunEventView, viewOf } from './run-events';
import { EventWriteCoalescer } from './event-write-coalescer';

export class RunEventsLog {
  private readonly seqs = new Map<string, number>();
  private readonly chains = new Map<string, Promise<unknown>>();
  readonly writer: EventWriteCoalescer;

  constructor(private readonly store: RunStore, private readonly bus: EventBus) {
    this.writer = new EventWriteCoalescer(store);
  }

  /** Start numbering after `lastSeq` (the run's last persisted seq). */
  track(runId: string, lastSeq: number): void {
    this.seqs.set(runId, Math.max(this.seqs.get(runId) ?? 0, lastSeq));
  }

  forget(runId: string): void {
    this.seqs.delete(runId);
    this.chains.delete(runId);
  }

  /**
   * Append then publish; calls for one run are serialised. With `owner`, only while that worker
   * holds the run's lease ('run/lease_lost' otherwise). A seq another process took first (a
   * sweeper writing beside us) is retried once after the run's lastSeq.
   */
  append(runId: string, payload: EventPayload, stepsDone?: number, owner?: string): Promise<RunEventView> {
    const prev = this.chains.get(runId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(async () => {
      const { type, ...rest } = payload;
      const write = async (seq: number) => this.writer.append(runId, { seq, type, payload: rest, stepsDone, owner });
      let seq = (this.seqs.get(runId) ?? (await this.store.get(runId))?.lastSeq ?? 0) + 1;
      let rec;
      try {
        rec = await write(seq);
      } catch (e) {
        if (!isCodedError(e, 'run/duplicate_event')) throw e;
        seq = ((await this.store.get(runId))?.lastSeq ?? seq) + 1;
        rec = await write(seq);
      }
      this.seqs.set(runId, seq);
      const view = viewOf(runId, seq, rec.createdAt, payload);
      this.bus.publish(topics.run(runId), view);
      return view;
    });
    this.chains.set(runId, next);
    return next;
  }
}
