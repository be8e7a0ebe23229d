/**
 * One log line per run transition: a wrapper of the event bus that logs every run change this
 * process publishes on topics.runsChanged (RunService: created, cancelled while queued; the
 * dispatcher: RUNNING, then the terminal state; the supervisor: recovered runs) and forwards it.
 *
 * Only changes this process publishes are logged, never ones it receives: with EVENTS=redis every
 * instance sees every change, but each transition is logged once, by the process that caused it.
 * `from` is the status this process last published for the run; where it published none (the
 * worker that claims a run did not create it) it is what the store's transitions allow: RUNNING
 * comes from QUEUED (a claim), a new run (no attempts yet) from nothing (null), a re-queued one
 * from RUNNING, a finished one from RUNNING if it had started, else from QUEUED.
 *
 *   {"msg":"run QUEUED -> RUNNING","runId":"...","task":"demo","from":"QUEUED","to":"RUNNING",
 *    "ownerId":null,"workerId":"host-123-ab","stepsDone":0,"attempts":1}
 */
import type { EventBus, Subscription } from '../events/event-bus';
import { isRunDeleted, topics } from '../events/event-bus';
import type { RunRecord } from '../runs';
import type { Logger } from '../logger';

/** how many runs' last status (and worker) this process remembers */
const REMEMBERED = 10_000;

interface Seen {
  status: string;
  workerId: string | null;
}

function isRunRecord(v: unknown): v is RunRecord {
  return typeof v === 'object' && v !== null && typeof (v as RunRecord).id === 'string' && typeof (v as RunRecord).status === 'string';
}

function inferredFrom(run: RunRecord): string | null {
  switch (run.status) {
    case 'QUEUED':
      return run.attempts > 0 ? 'RUNNING' : null;
    case 'RUNNING':
      return 'QUEUED';
    default:
      return run.startedAt ? 'RUNNING' : 'QUEUED';
  }
}

export class RunTransitionLog implements EventBus {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  publish(topic: string, payload: unknown): void {
    if (topic === topics.runsChanged) {
      try {
        this.note(payload);
      } catch {
        // logging never stands in the way of an event
      }
    }
    this.bus.publish(topic, payload);
  }

  subscribe(topic: string): Subscription {
    return this.bus.subscribe(topic);
  }

  close(): Promise<void> {
    return this.bus.close();
  }

  private note(payload: unknown): void {
    if (isRunDeleted(payload)) {
      const before = this.seen.get(payload.id);
      this.seen.delete(payload.id);
      this.log.info({ runId: payload.id, from: before?.status ?? null, to: 'DELETED', ownerId: payload.ownerId ?? null }, 'run deleted');
      return;
    }
    if (!isRunRecord(payload)) return;
    const run = payload;
    const before = this.seen.get(run.id);
    if (before?.status === run.status) return; // re-published without a change
    const workerId = run.leaseOwner ?? (run.status === 'QUEUED' ? null : (before?.workerId ?? null));
    this.seen.delete(run.id); // re-insert: the map's order is the order of last use
    this.seen.set(run.id, { status: run.status, workerId: run.leaseOwner ?? before?.workerId ?? null });
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value as string);
    const from = before ? before.status : inferredFrom(run);
    const level = run.status === 'FAILED' ? 'warn' : 'info';
    this.log[level](
      {
        runId: run.id,
        task: run.task,
        from,
        to: run.status,
        ownerId: run.ownerId,
        workerId,
        stepsDone: run.stepsDone,
        attempts: run.attempts,
        ...(run.status === 'FAILED' ? { errorCode: run.errorCode } : {}),
      },
      `run ${from ?? 'new'} -> ${run.status}`,
    );
  }
}

/** The bus, with every run change published through it logged (see RunTransitionLog). */
export function withRunTransitionLog(bus: EventBus, log: Logger): EventBus {
  return new RunTransitionLog(bus, log);
}
