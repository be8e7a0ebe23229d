/**
 * Publish/subscribe of run events and run changes, behind an interface: the embedded adapter here
 * (in-process), a Redis adapter for several server processes. The shape matches type-graphql's
 * PubSub, so the same bus feeds GraphQL subscriptions.
 */
export interface EventBus {
  /**
   * Fire and forget; events of one topic from one publisher arrive in publish order. Payloads
   * are plain data (JSON values, Dates, non-finite numbers): a remote bus sends them through
   * ./codec.ts and subscribers get equal values back.
   */
  publish(topic: string, payload: unknown): void;
  /** Live events of `topic` from now on; `return()` on the iterator unsubscribes. */
  subscribe(topic: string): Subscription;
  close(): Promise<void>;
}

export interface Subscription extends AsyncIterable<unknown> {
  /**
   * Resolves once every event published from now on will reach this subscription (a remote bus
   * has its SUBSCRIBE confirmed). A reader that replays a log and then follows live events
   * awaits it before reading the log, so nothing falls between the two.
   */
  readonly ready: Promise<void>;
}

export const topics = {
  /** a run's events (RunEventView), or the end marker when it is deleted */
  run: (id: string) => `run:${id}`,
  /** runs created, changing state, or deleted (RunRecord | { id, deleted: true }) */
  runsChanged: 'runs',
  /** `{ id }`: stop this run at its next step, on whichever worker holds it */
  cancel: 'run-cancel',
} as const;

export interface CancelRequest {
  readonly id: string;
}

/** Published on a run's topic when it is deleted: its subscriptions end. */
export interface RunDeleted {
  readonly deleted: true;
  readonly id: string;
  /** the deleted run's owner, so that runsChanged shows the deletion to its owner only */
  readonly ownerId?: string | null;
}

export function isRunDeleted(v: unknown): v is RunDeleted {
  return typeof v === 'object' && v !== null && (v as { deleted?: unknown }).deleted === true;
}
