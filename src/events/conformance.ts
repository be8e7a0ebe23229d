/**
 * The EventBus contract, as jest tests every adapter runs (embedded now, Redis next).
 */
import type { EventBus } from './event-bus';

async function take(it: AsyncIterator<unknown>, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

export function eventBusConformance(name: string, make: () => Promise<EventBus>): void {
  describe(`EventBus conformance: ${name}`, () => {
    let bus: EventBus;
    beforeEach(async () => {
      bus = await make();
    });
    afterEach(() => bus.close());

    test('a subscriber receives what is published after it subscribed, in order', async () => {
      bus.publish('a', 0);
      const it = bus.subscribe('a')[Symbol.asyncIterator]();
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 1; i <= 5; i++) bus.publish('a', { i });
      expect(await take(it, 5)).toEqual([1, 2, 3, 4, 5].map((i) => ({ i })));
      await it.return?.();
    });

    test('topics are separate and every subscriber gets every event', async () => {
      const a1 = bus.subscribe('a')[Symbol.asyncIterator]();
      const a2 = bus.subscribe('a')[Symbol.asyncIterator]();
      const b = bus.subscribe('b')[Symbol.asyncIterator]();
      await new Promise((r) => setTimeout(r, 20));
      bus.publish('a', 'x');
      bus.publish('b', 'y');
      expect(await take(a1, 1)).toEqual(['x']);
      expect(await take(a2, 1)).toEqual(['x']);
      expect(await take(b, 1)).toEqual(['y']);
      for (const it of [a1, a2, b]) await it.return?.();
    });

    test('return() unsubscribes; close() ends every subscription', async () => {
      const it = bus.subscribe('a')[Symbol.asyncIterator]();
      await it.return?.();
      bus.publish('a', 1);
      expect((await it.next()).done).toBe(true);
      const other = bus.subscribe('b')[Symbol.asyncIterator]();
      const pending = other.next();
      await bus.close();
      expect((await pending).done).toBe(true);
    });
  });
}
