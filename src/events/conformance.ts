/**
 * The EventBus contract, as jest tests every adapter runs (the in-process bus, Redis): order per
 * topic, `ready`, fan-out to many subscribers, payloads that come back equal (Dates, non-finite
 * numbers), unsubscribe and close; and, for a bus that crosses processes, that a second instance
 * sharing its events (another process) sees what the first publishes, and the other way round.
 */
import type { EventBus } from './event-bus';

export interface EventBusConformanceOptions<B extends EventBus> {
  /**
   * A second instance that shares `bus`'s events, as another process would (for Redis: another
   * connection in the same namespace). Omit it for an in-process bus: that test is skipped.
   */
  makePeer?: (bus: B) => Promise<EventBus>;
}

async function take(it: AsyncIterator<unknown>, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** The events before `end` (a string), which must come. */
async function takeUntil(it: AsyncIterator<unknown>, end: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error(`the subscription ended before ${end}`);
    if (r.value === end) return out;
    out.push(r.value);
  }
}

/** Subscribes, waits until the subscription is live, and returns its iterator. */
async function live(bus: EventBus, topic: string): Promise<AsyncIterator<unknown>> {
  const sub = bus.subscribe(topic);
  await sub.ready;
  return sub[Symbol.asyncIterator]();
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export function eventBusConformance<B extends EventBus>(
  name: string,
  make: () => Promise<B>,
  options: EventBusConformanceOptions<B> = {},
): void {
  describe(`EventBus conformance: ${name}`, () => {
    let bus: B;
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

    test('ready resolves; once it has, nothing published afterwards is missed', async () => {
      const sub = bus.subscribe('ready');
      await expect(sub.ready).resolves.toBeUndefined();
      const it = sub[Symbol.asyncIterator]();
      bus.publish('ready', 1);
      bus.publish('ready', 2);
      // joining a topic that is already live: ready still means "from now on"; events published
      // just before may reach it too, as they may still be on their way
      const late = await live(bus, 'ready');
      bus.publish('ready', 3);
      bus.publish('ready', 'end');
      expect(await takeUntil(it, 'end')).toEqual([1, 2, 3]);
      expect([[3], [2, 3], [1, 2, 3]]).toContainEqual(await takeUntil(late, 'end'));
      await it.return?.();
      await late.return?.();
    });

    test('a topic subscribed again right after its last subscriber left is live once ready', async () => {
      const first = await live(bus, 'again');
      await first.return?.();
      const second = await live(bus, 'again');
      bus.publish('again', 'x');
      expect(await take(second, 1)).toEqual(['x']);
      await second.return?.();
    });

    test('payloads come back equal: Dates, nested objects, non-finite numbers', async () => {
      const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
      const payloads: unknown[] = [
        {
          id: 'run-1',
          at,
          state: { seq: 3, energies: { realism: -Infinity, faithful: Infinity, ratio: NaN, zero: -0 }, steps: [{ t: 0.5, at }] },
        },
        at,
        Infinity,
        'text ✓',
        42,
        null,
        true,
        [1, [2, [3, {}]], []],
        { $date: 'a real key, not a Date' },
      ];
      const it = await live(bus, 'payloads');
      for (const p of payloads) bus.publish('payloads', p);
      const got = await take(it, payloads.length);
      expect(got).toEqual(payloads);
      const first = got[0] as { at: unknown; state: { steps: { at: unknown }[] } };
      expect(first.at).toBeInstanceOf(Date);
      expect(first.state.steps[0].at).toBeInstanceOf(Date);
      expect(got[1]).toBeInstanceOf(Date);
      expect(got[8]).not.toBeInstanceOf(Date);
      await it.return?.();
    });

    test('1000 events published at once on one topic arrive complete and in order', async () => {
      const it = await live(bus, 'burst');
      for (const i of range(1000)) bus.publish('burst', { i });
      expect(await take(it, 1000)).toEqual(range(1000).map((i) => ({ i })));
      await it.return?.();
    });

    test('100 subscribers of one topic each receive every event once, in order', async () => {
      const subs = await Promise.all(range(100).map(() => live(bus, 'fan')));
      for (const i of range(20)) bus.publish('fan', i);
      bus.publish('fan', 'end');
      for (const it of subs) expect(await takeUntil(it, 'end')).toEqual(range(20));
      for (const it of subs) await it.return?.();
    });

    (options.makePeer ? test : test.skip)('a peer instance sees what this one publishes, and the other way round', async () => {
      const peer = await options.makePeer!(bus);
      try {
        const here = await live(bus, 'shared');
        const there = await live(peer, 'shared');
        const at = new Date(Date.UTC(2026, 5, 1));
        bus.publish('shared', { from: 'bus', at });
        expect(await take(here, 1)).toEqual([{ from: 'bus', at }]);
        expect(await take(there, 1)).toEqual([{ from: 'bus', at }]);
        peer.publish('shared', { from: 'peer', energy: -Infinity });
        expect(await take(here, 1)).toEqual([{ from: 'peer', energy: -Infinity }]);
        expect(await take(there, 1)).toEqual([{ from: 'peer', energy: -Infinity }]);
        await peer.close();
        bus.publish('shared', 'after the peer closed');
        expect(await take(here, 1)).toEqual(['after the peer closed']);
        expect((await there.next()).done).toBe(true);
        await here.return?.();
      } finally {
        await peer.close();
      }
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

    test('return() leaves the other subscribers of its topic alone', async () => {
      const leaving = await live(bus, 'stay');
      const staying = await live(bus, 'stay');
      await leaving.return?.();
      bus.publish('stay', 'x');
      expect(await take(staying, 1)).toEqual(['x']);
      expect((await leaving.next()).done).toBe(true);
      await staying.return?.();
    });

    test('after close(), subscriptions are done, subscribe() is done at once, publish does not throw', async () => {
      const open = await Promise.all([live(bus, 'p'), live(bus, 'p'), live(bus, 'q')]);
      const pending = open.map((it) => it.next());
      const notYetReady = bus.subscribe('r');
      await bus.close();
      for (const p of pending) expect((await p).done).toBe(true);
      await expect(notYetReady.ready).resolves.toBeUndefined();
      const later = bus.subscribe('p');
      await expect(later.ready).resolves.toBeUndefined();
      expect((await later[Symbol.asyncIterator]().next()).done).toBe(true);
      expect(() => bus.publish('p', 1)).not.toThrow();
      await expect(bus.close()).resolves.toBeUndefined();
    });
  });
}
