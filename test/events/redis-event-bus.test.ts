/**
 * RedisEventBus against a real Redis: the EventBus conformance suite (src/events/conformance.ts;
 * each test in a namespace of its own, its peer a second bus in the same namespace), then what is
 * Redis's own: the wire format, one SUBSCRIBE per topic per instance, namespaces kept apart,
 * delivery after the subscriber connection is killed and ioredis reconnects, and connect()
 * failing fast.
 *
 * Redis: EGSDE_TEST_REDIS_URL (default redis://127.0.0.1:6379); set it to `skip` to leave it out.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisEventBus } from '../../src/adapters/redis/event-bus';
import { encodePayload } from '../../src/events/codec';
import { eventBusConformance } from '../../src/events/conformance';
import { REDIS_URL } from '../helpers/databases';
import { until as untilValue } from '../helpers/until';

const describeRedis = REDIS_URL === 'skip' ? describe.skip : describe;

/** A namespace no other test (or jest worker) uses. */
const uniqueNamespace = () => `egsde-test:${randomUUID()}`;

async function live(bus: RedisEventBus, topic: string): Promise<AsyncIterator<unknown>> {
  const sub = bus.subscribe(topic);
  await sub.ready;
  return sub[Symbol.asyncIterator]();
}

async function next(it: AsyncIterator<unknown>): Promise<unknown> {
  const r = await it.next();
  if (r.done) throw new Error('the subscription ended');
  return r.value;
}

/** Polls `cond` every 20 ms until it holds; throws after `ms`. */
const until = (what: string, cond: () => Promise<boolean>, ms = 10000) => untilValue(what, cond, ms, 20);

describeRedis('RedisEventBus', () => {
  eventBusConformance('RedisEventBus', () => RedisEventBus.connect({ url: REDIS_URL, namespace: uniqueNamespace() }), {
    makePeer: (bus) => RedisEventBus.connect({ url: REDIS_URL, namespace: bus.namespace }),
  });

  describe('on Redis', () => {
    let admin: Redis;
    let namespace: string;
    let bus: RedisEventBus;
    beforeEach(async () => {
      admin = new Redis(REDIS_URL);
      namespace = uniqueNamespace();
      bus = await RedisEventBus.connect({ url: REDIS_URL, namespace });
    });
    afterEach(async () => {
      await bus.close();
      await admin.quit();
    });

    /** How many connections (of any instance) subscribe `topic` in this test's namespace. */
    const subscribers = async (topic: string) => Number(((await admin.pubsub('NUMSUB', `${namespace}:${topic}`)) as unknown[])[1]);

    /** The server's id of the connection named `name`, if there is one. */
    const clientId = async (name: string) => {
      const list = (await admin.call('CLIENT', 'LIST')) as string;
      const line = list.split('\n').find((l) => l.split(' ').includes(`name=${name}`));
      return line?.match(/^id=(\d+) /)?.[1];
    };

    test('messages are codec text on the channel <namespace>:<topic>; failures are counted, not thrown', async () => {
      const raw = admin.duplicate();
      try {
        const got = new Promise<[string, string]>((resolve) => raw.once('message', (c: string, m: string) => resolve([c, m])));
        await raw.subscribe(`${namespace}:wire`);
        const payload = { at: new Date(Date.UTC(2026, 0, 1)), energy: -Infinity };
        bus.publish('wire', payload);
        expect(await got).toEqual([`${namespace}:wire`, encodePayload(payload)]);
      } finally {
        await raw.quit();
      }
      expect(bus.publishFailures).toBe(0);
      expect(() => bus.publish('wire', 10n)).not.toThrow();
      expect(bus.publishFailures).toBe(1);
      await bus.close();
      bus.publish('wire', 'after close');
      expect(bus.publishFailures).toBe(2);
    });

    test('a topic is subscribed once per instance and unsubscribed when its last subscriber leaves', async () => {
      const subs = await Promise.all([live(bus, 'count'), live(bus, 'count'), live(bus, 'count')]);
      expect(await subscribers('count')).toBe(1);
      await subs[0].return?.();
      await subs[1].return?.();
      expect(await subscribers('count')).toBe(1);
      await subs[2].return?.();
      // commands on the subscriber connection run in order: once a later SUBSCRIBE is
      // acknowledged, the UNSUBSCRIBE before it has been done
      await live(bus, 'probe');
      expect(await subscribers('count')).toBe(0);
    });

    test('namespaces keep buses apart', async () => {
      const other = await RedisEventBus.connect({ url: REDIS_URL, namespace: uniqueNamespace() });
      try {
        const mine = await live(bus, 't');
        const theirs = await live(other, 't');
        // one connection publishes all three, so Redis handles them in this order
        await admin.publish(`${namespace}:t`, encodePayload('mine 1'));
        await admin.publish(`${other.namespace}:t`, encodePayload('theirs'));
        await admin.publish(`${namespace}:t`, encodePayload('mine 2'));
        expect([await next(mine), await next(mine)]).toEqual(['mine 1', 'mine 2']);
        expect(await next(theirs)).toBe('theirs');
      } finally {
        await other.close();
      }
    });

    test('after the subscriber connection is killed, ready subscribers get events again once ioredis reconnects', async () => {
      const it = await live(bus, 'reconnect');
      bus.publish('reconnect', 'before');
      expect(await next(it)).toBe('before');

      const name = `${namespace}:events-sub`;
      const killed = await clientId(name);
      expect(killed).toBeDefined();
      await admin.call('CLIENT', 'KILL', 'ID', killed!);
      expect(await subscribers('reconnect')).toBe(0);
      // a subscribe() during the outage is ready only once Redis has its SUBSCRIBE
      const during = await live(bus, 'during');
      expect(await subscribers('during')).toBe(1);
      bus.publish('during', 'y');
      expect(await next(during)).toBe('y');
      // ioredis reconnects after its back-off and subscribes the channel again
      await until('the subscriber to reconnect', async () => {
        const id = await clientId(name);
        return id !== undefined && id !== killed && (await subscribers('reconnect')) === 1;
      });

      const at = new Date(Date.UTC(2026, 2, 3));
      bus.publish('reconnect', { after: 1, at });
      bus.publish('reconnect', { after: 2, at });
      expect([await next(it), await next(it)]).toEqual([
        { after: 1, at },
        { after: 2, at },
      ]);
      expect(bus.publishFailures).toBe(0);
    });
  });

  test('connect() rejects when Redis cannot be reached, and leaves nothing running', async () => {
    await expect(RedisEventBus.connect({ url: 'redis://127.0.0.1:1' })).rejects.toThrow(/ECONNREFUSED/);
  });
});
