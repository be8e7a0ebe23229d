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
  run: (id: string) => `run:${id}`,
  runsChanged: 'runs',
} as const;
