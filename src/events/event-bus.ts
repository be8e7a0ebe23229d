/**
 * Publish/subscribe of run events and run changes, behind an interface: the embedded adapter here
 * (in-process), a Redis adapter for several server processes. The shape matches type-graphql's
 * PubSub, so the same bus feeds GraphQL subscriptions.
 */
export interface EventBus {
  publish(topic: string, payload: unknown): void;
  /** Live events of `topic` from now on; `return()` on the iterator unsubscribes. */
  subscribe(topic: string): AsyncIterable<unknown>;
  close(): Promise<void>;
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
