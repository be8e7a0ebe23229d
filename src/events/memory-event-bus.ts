/** The embedded event bus: in-process fan-out, each subscriber with its own unbounded queue. */
import { Channel } from '../util/channel';
import { EventBus } from './event-bus';

export class MemoryEventBus implements EventBus {
  private readonly subscribers = new Map<string, Set<Channel<unknown>>>();

  publish(topic: string, payload: unknown): void {
    for (const ch of this.subscribers.get(topic) ?? []) ch.push(payload);
  }

  subscribe(topic: string): AsyncIterable<unknown> {
    const ch = new Channel<unknown>();
    let set = this.subscribers.get(topic);
    if (!set) {
      set = new Set();
      this.subscribers.set(topic, set);
    }
    set.add(ch);
    const remove = () => {
      const s = this.subscribers.get(topic);
      s?.delete(ch);
      if (s && s.size === 0) this.subscribers.delete(topic);
    };
    return {
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

  /** Number of live subscriptions (for status and tests). */
  get size(): number {
    let n = 0;
    for (const s of this.subscribers.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    for (const set of this.subscribers.values()) for (const ch of set) ch.close();
    this.subscribers.clear();
  }
}
