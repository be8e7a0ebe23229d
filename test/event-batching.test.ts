/**
 * RunEventsLog over the Prisma store on both databases, as the dispatcher drives it while a
 * batched engine step's events come in: every run's STEP event of one step goes in one
 * transaction; seqs stay contiguous per run; a run whose lease another worker took is refused
 * ('run/lease_lost') without the others in its batch noticing; live events go out in seq order;
 * a batch the database aborts is written event by event.
 */
import { openDatabase, type Database } from '../src/db/client';
import { PrismaRunStore } from '../src/adapters/prisma/run-store';
import { MemoryEventBus } from '../src/events/memory-event-bus';
import { topics } from '../src/events/event-bus';
import { RunEventsLog } from '../src/services/run-events-log';
import type { RunEventView } from '../src/services/run-events';
import { CONFORMANCE_SETTINGS } from '../src/runs/conformance';
import { BACKENDS } from './helpers/databases';

const RUNS = 16;
const STEPS = 12;

describe.each(BACKENDS)('batched event appends on $name', (backend) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    const u = await backend.setup();
    cleanup = u.cleanup;
    db = await openDatabase(u.url);
  });
  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  test('one transaction per step for all runs, contiguous seqs, per-run lease refusals, ordered live events', async () => {
    const store = new PrismaRunStore(db.prisma);
    const bus = new MemoryEventBus();
    const log = new RunEventsLog(store, bus);
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = await store.create({ task: 'cat2dog', params: { ...CONFORMANCE_SETTINGS }, seed: i, totalSteps: STEPS, sourceKey: `src-${i}` });
      await store.claim(run.id, { owner: 'w1', ttlMs: 3_600_000 });
      ids.push(run.id);
      log.track(run.id, 0);
    }
    const live = bus.subscribe(topics.run(ids[0]!))[Symbol.asyncIterator]();
    const lostAt = 5;
    const lost = ids[3]!;
    await Promise.all(ids.map((id) => log.append(id, { type: 'STATUS', status: 'RUNNING' }, undefined, 'w1')));
    const before = log.writer.stats.batches;
    for (let step = 1; step <= STEPS; step++) {
      if (step === lostAt) {
        // another worker takes the run over (its lease lapsed here)
        expect(await store.requeue(lost, 'w1')).toBe(true);
        await store.claim(lost, { owner: 'w2', ttlMs: 3_600_000 });
      }
      const results = await Promise.allSettled(
        ids.map((id) => log.append(id, { type: 'STEP', step: { step, totalSteps: STEPS, t: 100 - step, energies: null, previewKey: null } }, step, 'w1')),
      );
      results.forEach((r, i) => {
        if (ids[i] === lost && step >= lostAt) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'run/lease_lost' } });
        else expect(r.status).toBe('fulfilled');
      });
    }
    // every step's 16 appends were asked for in one turn: one write each
    expect(log.writer.stats.batches - before).toBe(STEPS);
    for (const id of ids) {
      const seqs = (await store.eventsAfter(id, 0)).map((e) => e.seq);
      const n = id === lost ? lostAt : STEPS + 1; // STATUS + the steps stored
      expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      // (the requeue that let w2 take the lost run reset its progress)
      expect(await store.get(id)).toMatchObject({ lastSeq: n, stepsDone: id === lost ? 0 : STEPS });
    }
    const got: number[] = [];
    for (let i = 0; i < STEPS + 1; i++) got.push(((await live.next()).value as RunEventView).seq);
    expect(got).toEqual(Array.from({ length: STEPS + 1 }, (_, i) => i + 1));
    await live.return?.();
    await bus.close();
  });

  test('a batch the database aborts (a deadlock broken, a key raced) is written one event at a time instead', async () => {
    let aborts = 0;
    // the client as it is, but its next interactive transaction fails as PostgreSQL's deadlock detector fails one
    const prisma = new Proxy(db.prisma, {
      get(target, prop, receiver) {
        if (prop === '$transaction' && aborts > 0) {
          aborts--;
          return () => Promise.reject(Object.assign(new Error('Transaction failed due to a write conflict or a deadlock. Please retry your transaction'), { code: 'P2034' }));
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const store = new PrismaRunStore(prisma);
    const a = await store.create({ task: 'cat2dog', params: { ...CONFORMANCE_SETTINGS }, seed: 1, totalSteps: 5, sourceKey: 'src-a' });
    const b = await store.create({ task: 'cat2dog', params: { ...CONFORMANCE_SETTINGS }, seed: 2, totalSteps: 5, sourceKey: 'src-b' });
    await store.claim(a.id, { owner: 'w1', ttlMs: 3_600_000 });
    await store.claim(b.id, { owner: 'w1', ttlMs: 3_600_000 });
    aborts = 1;
    const outcomes = await store.appendEvents([
      { runId: a.id, seq: 1, type: 'STEP', payload: { n: 1 }, stepsDone: 1, owner: 'w1' },
      { runId: b.id, seq: 1, type: 'STEP', payload: { n: 1 }, stepsDone: 1, owner: 'w2' },
    ]);
    expect(aborts).toBe(0);
    expect(outcomes.map((o) => (o.ok ? o.event.seq : (o.error as { code?: string }).code))).toEqual([1, 'run/lease_lost']);
    expect(await store.get(a.id)).toMatchObject({ lastSeq: 1, stepsDone: 1 });
    expect(await store.get(b.id)).toMatchObject({ lastSeq: 0 });
  });
});
