/**
 * The BullMQ run queue against a real Redis passes the RunQueue conformance suite, with the run
 * store on SQLite (a temp file); each test has its own key prefix, deleted afterwards. Then what
 * only a shared queue has: a consumer woken by another instance's enqueue; reconnecting after its
 * connections are killed and after an outage (a TCP relay to Redis, cut and restored); and with
 * nothing listening where Redis should be, 'server/unavailable' at once instead of hanging.
 *
 * Redis: EGSDE_TEST_REDIS_URL (default redis://127.0.0.1:6379).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { openDatabase } from '../../src/db/client';
import { PrismaRunStore } from '../../src/adapters/prisma/run-store';
import { BullRunQueue } from '../../src/adapters/redis/bullmq-queue';
import { type QueueFixture, runQueueConformance } from '../../src/queue/conformance';
import { TcpRelay } from '../helpers/tcp-relay';
import { storeQueueFixture } from './fixture';
import { REDIS_URL } from '../helpers/databases';



/** ms until p settles (fulfilled) */
async function timed(p: Promise<unknown>): Promise<number> {
  const t0 = Date.now();
  await p;
  return Date.now() - t0;
}

/** Retries check every 100 ms until it passes, for up to 15 s. */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (const deadline = Date.now() + 15000; ; ) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Deletes every key under a test's prefix. */
async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

runQueueConformance('BullRunQueue (Redis)', async (): Promise<QueueFixture> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-bullmq-'));
  const db = await openDatabase(`file:${path.join(dir, 'q.db')}`);
  const store = new PrismaRunStore(db.prisma);
  const prefix = `egsde-test-${process.pid}-${randomUUID().slice(0, 8)}`;
  return storeQueueFixture(store, (tasks) => new BullRunQueue({ url: REDIS_URL, prefix, tasks: tasks ?? ['t', 'a', 'b'] }), async () => {
    await deleteKeys(prefix);
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('BullRunQueue across instances', () => {
  let prefix: string;
  let queues: BullRunQueue[];
  const make = (tasks?: string[]) => {
    const q = new BullRunQueue({ url: REDIS_URL, prefix, tasks });
    queues.push(q);
    return q;
  };

  beforeEach(() => {
    prefix = `egsde-test-${process.pid}-${randomUUID().slice(0, 8)}`;
    queues = [];
  });
  afterEach(async () => {
    await Promise.all(queues.map((q) => q.close()));
    await deleteKeys(prefix);
  });

  test("a consumer's wait ends on another instance's enqueue of its tasks, or at once when a job waits", async () => {
    const producer = make();
    const consumer = make(['t']);
    // nothing to wake it yet (and time for the consumer to start reading events)
    expect(await timed(consumer.waitForWork(300))).toBeGreaterThanOrEqual(250);
    const first = randomUUID();
    const waiting = consumer.waitForWork(10000);
    await producer.enqueue({ id: first, task: 't' });
    expect(await timed(waiting)).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 200));
    // a job already waiting (its event long seen): no need to wait
    expect(await timed(consumer.waitForWork(10000))).toBeLessThan(1000);
    expect(await consumer.take()).toBe(first);
    // another task's run is not this consumer's work
    const other = consumer.waitForWork(300);
    await producer.enqueue({ id: randomUUID(), task: 'b' });
    expect(await timed(other)).toBeGreaterThanOrEqual(250);
    const second = randomUUID();
    const again = consumer.waitForWork(10000);
    await producer.enqueue({ id: second, task: 't' });
    expect(await timed(again)).toBeLessThan(1000);
    expect(await consumer.take()).toBe(second);
    expect(await consumer.take()).toBeNull();
    expect(await producer.length()).toBe(1);
  });

  test('after its connections are dropped, a queue reconnects by itself', async () => {
    const producer = make();
    const consumer = make(['t']);
    await consumer.assertAvailable();
    await consumer.waitForWork(200);
    const admin = new Redis(REDIS_URL);
    try {
      // every connection of this test's queues carries its prefix in its name
      const ours = String(await admin.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${prefix}:`))
        .map((line) => /(?:^| )id=(\d+)/.exec(line)![1]);
      expect(ours.length).toBeGreaterThanOrEqual(4);
      for (const id of ours) await admin.client('KILL', 'ID', id);
    } finally {
      admin.disconnect();
    }
    await eventually(() => producer.assertAvailable());
    await eventually(() => consumer.assertAvailable());
    const id = randomUUID();
    const waiting = consumer.waitForWork(10000);
    await producer.enqueue({ id, task: 't' });
    expect(await timed(waiting)).toBeLessThan(2000);
    expect(await consumer.take()).toBe(id);
  });
});

describe('BullRunQueue through a Redis outage', () => {
  const prefix = `egsde-test-${process.pid}-${randomUUID().slice(0, 8)}`;
  const relay = new TcpRelay(REDIS_URL);
  afterAll(async () => {
    await relay.down();
    await deleteKeys(prefix);
    // BullMQ's watchdog on an event read stuck in the outage (block 2 s + 1 s) outlives close():
    // let it fire, or jest reports the process not exiting
    await new Promise((r) => setTimeout(r, 3100));
  });

  test('calls fail fast while Redis is away and work again when it is back; close does not hang', async () => {
    await relay.up();
    const producer = new BullRunQueue({ url: relay.url, prefix });
    const consumer = new BullRunQueue({ url: relay.url, prefix, tasks: ['t'] });
    const unavailable = expect.objectContaining({ code: 'server/unavailable' });
    try {
      await producer.enqueue({ id: 'r1', task: 't' });
      expect(await consumer.take()).toBe('r1');

      await relay.down();
      await eventually(() => expect(producer.assertAvailable()).rejects.toEqual(unavailable));
      expect(await timed(expect(producer.enqueue({ id: 'r2', task: 't' })).rejects.toEqual(unavailable))).toBeLessThan(2000);
      expect(await timed(expect(consumer.take()).rejects.toEqual(unavailable))).toBeLessThan(2000);
      const waiting = consumer.waitForWork(20000);

      await relay.up();
      await eventually(() => producer.assertAvailable());
      await eventually(() => consumer.assertAvailable());
      await producer.enqueue({ id: 'r3', task: 't' });
      expect(await timed(waiting)).toBeLessThan(10000);
      expect(await consumer.take()).toBe('r3');
      // the consumer's event stream reads again
      const again = consumer.waitForWork(20000);
      await producer.enqueue({ id: 'r4', task: 't' });
      expect(await timed(again)).toBeLessThan(5000);
      expect(await consumer.take()).toBe('r4');

      await relay.down();
      await eventually(() => expect(consumer.assertAvailable()).rejects.toEqual(unavailable));
    } finally {
      expect(await timed(consumer.close())).toBeLessThan(3000);
      expect(await timed(producer.close())).toBeLessThan(3000);
    }
  });
});

describe('BullRunQueue with Redis unreachable', () => {
  // nothing listens on port 1
  const url = 'redis://127.0.0.1:1';

  test('assertAvailable, enqueue, take and length reject with server/unavailable at once; close does not hang', async () => {
    const queue = new BullRunQueue({ url, prefix: 'egsde-test-down', tasks: ['t'] });
    const unavailable = expect.objectContaining({ name: 'CodedError', code: 'server/unavailable' });
    try {
      for (const call of [
        () => queue.assertAvailable(),
        () => queue.enqueue({ id: randomUUID(), task: 't' }),
        () => queue.take(),
        () => queue.length(),
      ]) {
        const t0 = Date.now();
        await expect(call()).rejects.toEqual(unavailable);
        expect(Date.now() - t0).toBeLessThan(2000);
      }
      const t0 = Date.now();
      await queue.waitForWork(100);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      const t0 = Date.now();
      await queue.close();
      expect(Date.now() - t0).toBeLessThan(2000);
    }
  });

  test('a producer alone also fails fast', async () => {
    const queue = new BullRunQueue({ url });
    try {
      const t0 = Date.now();
      await expect(queue.enqueue({ id: randomUUID(), task: 't' })).rejects.toMatchObject({ code: 'server/unavailable' });
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(await queue.take()).toBeNull();
    } finally {
      await queue.close();
    }
  });
});
