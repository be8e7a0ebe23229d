/** The embedded event bus: in-process fan-out, each subscriber with its own unbounded queue. */
import { Channel } from '../util/channel';
import type { EventBus, Subscription } from './event-bus';

export class MemoryEventBus implements EventBus {
  private readonly subscribers = new Map<string, Set<Channel<unknown>>>();
  private closed = false;

  publish(topic: string, payload: unknown): void {
    for (const ch of this.subscribers.get(topic) ?? []) ch.push(payload);
  }

  /** In process, a subscription is live as soon as it exists: `ready` is already resolved. */
  subscribe(topic: string): Subscription {
    const ch = new Channel<unknown>();
    if (this.closed) {
      ch.close();
      return subscription(ch, () => {});
    }
    let set = this.subscribers.get(topic);
    if (!set) {
      set = new Set();
      this.subscribers.set(topic, set);
    }
    set.add(ch);
    return subscription(ch, () => {
      const s = this.subscribers.get(topic);
      s?.delete(ch);
      if (s && s.size === 0) this.subscribers.delete(topic);
    });
  }

  /** Number of live subscriptions (for status and tests). */
  get size(): number {
    let n = 0;
    for (const s of this.subscribers.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const set of this.subscribers.values()) for (const ch of set) ch.close();
    this.subscribers.clear();
  }
}

function subscription(ch: Channel<unknown>, remove: () => void): Subscription {
  return {
    ready: Promise.resolve(),
    [Symbol.asyncIterator]: () => {
      const it = ch[Symbol.asyncIterator]();
      return {
        next: () => it.next(),
        return: () => {
          remove();
          return it.return!();
        },
      };
    },
  };
}
