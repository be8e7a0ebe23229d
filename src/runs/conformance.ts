/**
 * The RunStore contract, as jest tests every adapter runs (Prisma on SQLite and on PostgreSQL
 * now): creation and reads, the state machine's transitions and their races, cursor paging,
 * cancellation, recovery, events and deletion.
 */
import { isCodedError, type ErrorCode } from '../errors';
import { recoverInterruptedRuns } from './recovery';
import type { NewRun, RunRecord } from './record';
import { RUN_STATUSES, type RunStatus } from './status';
import { MAX_PAGE_SIZE, type RunStore } from './store';

export interface RunStoreFixture {
  store: RunStore;
  /** Empties the store (between tests). */
  reset(): Promise<void>;
  dispose(): Promise<void>;
}

/** `make(now)`: a store whose clock is `now` (it moves one second per reading, so creation order is createdAt order). */
export function runStoreConformance(name: string, make: (now: () => Date) => Promise<RunStoreFixture>): void {
  describe(`RunStore conformance: ${name}`, () => {
    let fixture: RunStoreFixture;
    let store: RunStore;
    let tick = 0;
    const now = () => new Date(T0 + 1000 * tick++);
    beforeAll(async () => {
      fixture = await make(now);
      store = fixture.store;
    });
    afterAll(() => fixture?.dispose());
    beforeEach(() => fixture.reset());

    it('creates and reads runs', async () => {
      const created = await store.create(newRun({ seed: 2 ** 32 - 1 }));
      expect(created).toMatchObject({
        status: 'QUEUED',
        task: 'cat2dog',
        seed: 2 ** 32 - 1,
        totalSteps: 500,
        lastSeq: 0,
        stepsDone: 0,
        attempts: 0,
        cancelRequested: false,
        startedAt: null,
        finishedAt: null,
        timings: null,
        errorCode: null,
        outputKey: null,
        metrics: null,
        sourceKey: 'sources/x.png',
      });
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.createdAt).toBeInstanceOf(Date);
      expect(await store.get(created.id)).toEqual(created);
      expect((await store.get(created.id))?.params).toEqual(newRun().params);
      expect(await store.get('no-such-run')).toBeNull();
      await expectCode(store.create(newRun({ id: created.id })), 'input/invalid');
    });

    it('walks a run through its lifecycle', async () => {
      const run = await store.create(newRun());
      const claimed = await store.claimNext();
      expect(claimed).toMatchObject({ id: run.id, status: 'RUNNING', attempts: 1 });
      expect(claimed?.startedAt).toBeInstanceOf(Date);

      const done = await store.markSucceeded(run.id, {
        outputKey: 'outputs/x.png',
        timings: { queuedMs: 5, runMs: 1234, steps: 500, msPerStep: 2.468 },
        metrics: { l2: 1.5, psnr: Infinity, ssim: 0.9 },
        stepsDone: 500,
      });
      expect(done.applied).toBe(true);
      expect(done.run).toMatchObject({
        status: 'SUCCEEDED',
        outputKey: 'outputs/x.png',
        timings: { queuedMs: 5, runMs: 1234, steps: 500, msPerStep: 2.468 },
        metrics: { l2: 1.5, psnr: Infinity, ssim: 0.9 },
        stepsDone: 500,
      });
      expect(done.run.finishedAt).toBeInstanceOf(Date);

      // Terminal: every further transition loses, leaving the run as it was.
      for (const late of [
        store.markFailed(run.id, 'engine/failed', 'late'),
        store.markCancelled(run.id),
        store.markSucceeded(run.id, { outputKey: 'other' }),
      ]) {
        const r = await late;
        expect(r.applied).toBe(false);
        expect(r.run).toEqual(done.run);
      }

      const other = await store.create(newRun());
      await store.claimNext();
      const failed = await store.markFailed(other.id, 'engine/unsupported_op', 'no rule for Foo');
      expect(failed).toMatchObject({
        applied: true,
        run: { status: 'FAILED', errorCode: 'engine/unsupported_op', errorMessage: 'no rule for Foo' },
      });

      // A QUEUED run cannot succeed or fail, only be claimed or cancelled.
      const queued = await store.create(newRun());
      expect((await store.markSucceeded(queued.id, { outputKey: 'x' })).applied).toBe(false);
      expect((await store.markFailed(queued.id, 'x', 'y')).run.status).toBe('QUEUED');
      expect((await store.markCancelled(queued.id)).run.status).toBe('CANCELLED');

      await expectCode(store.markSucceeded('missing', { outputKey: 'x' }), 'run/not_found');
      await expectCode(store.markFailed('missing', 'x', 'y'), 'run/not_found');
      await expectCode(store.markCancelled('missing'), 'run/not_found');
    });

    it('lets exactly one of racing transitions win', async () => {
      for (let round = 0; round < 3; round++) {
        const run = await store.create(newRun());
        await store.claimNext();
        const results = await Promise.all([
          store.markSucceeded(run.id, { outputKey: 'out' }),
          store.markFailed(run.id, 'engine/failed', 'boom'),
          store.markCancelled(run.id),
        ]);
        const winners = results.filter((r) => r.applied);
        expect(winners).toHaveLength(1);
        const final = await store.get(run.id);
        expect(final?.status).toBe(winners[0]!.run.status);
        for (const r of results) expect(r.run.status).not.toBe('RUNNING');
      }
    });

    it('hands each queued run to one claimer only, oldest first', async () => {
      const runs: RunRecord[] = [];
      for (let i = 0; i < 4; i++) runs.push(await store.create(newRun()));
      const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimNext()));
      const claimedIds = claims.filter((c): c is RunRecord => c !== null).map((c) => c.id);
      expect(claimedIds).toHaveLength(4);
      expect(new Set(claimedIds).size).toBe(4);
      expect(new Set(claimedIds)).toEqual(new Set(runs.map((r) => r.id)));
      expect(claims.filter((c) => c === null)).toHaveLength(4);
      expect(await store.claimNext()).toBeNull();
    });

    it('claims the oldest queued run first, ties by id, optionally by task', async () => {
      const at = new Date(T0 - 100_000);
      const b = await store.create(newRun({ id: 'run-b', createdAt: at }));
      const a = await store.create(newRun({ id: 'run-a', createdAt: at }));
      const older = await store.create(newRun({ id: 'run-z', createdAt: new Date(T0 - 200_000), task: 'wild2dog' }));
      const newer = await store.create(newRun({ id: 'run-0' }));
      expect((await store.claimNext({ tasks: ['cat2dog'] }))?.id).toBe(a.id);
      expect((await store.claimNext())?.id).toBe(older.id);
      expect((await store.claimNext({ tasks: ['wild2dog'] }))).toBeNull();
      expect((await store.claimNext())?.id).toBe(b.id);
      expect((await store.claimNext())?.id).toBe(newer.id);
      expect(await store.claimNext()).toBeNull();
    });

    it('cancels: queued at once, running by request, finished never', async () => {
      const queued = await store.create(newRun());
      const cancelled = await store.requestCancel(queued.id);
      expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
      expect(cancelled.finishedAt).toBeInstanceOf(Date);
      expect(await store.requestCancel(queued.id)).toEqual(cancelled); // idempotent

      const running = await store.create(newRun());
      await store.claimNext();
      const requested = await store.requestCancel(running.id);
      expect(requested).toMatchObject({ status: 'RUNNING', cancelRequested: true });
      expect((await store.markCancelled(running.id)).run).toMatchObject({ status: 'CANCELLED' });

      const succeeded = await store.create(newRun());
      await store.claimNext();
      await store.markSucceeded(succeeded.id, { outputKey: 'o' });
      await expectCode(store.requestCancel(succeeded.id), 'run/not_cancellable');
      await expectCode(store.requestCancel('missing'), 'run/not_found');
    });

    it('paginates newest first with opaque cursors and filters', async () => {
      // 25 runs; runs 10..14 share one createdAt, so the id tie-break is exercised across a page edge.
      const shared = new Date(T0 + 10_000_000);
      const created: RunRecord[] = [];
      for (let i = 0; i < 25; i++) {
        created.push(
          await store.create(
            newRun({
              id: `run-${String(i).padStart(2, '0')}`,
              task: i % 3 === 0 ? 'wild2dog' : 'cat2dog',
              createdAt: i >= 10 && i < 15 ? shared : new Date(T0 + 1_000_000 * i),
            }),
          ),
        );
      }
      for (const r of created.slice(0, 5)) {
        await store.claimNext(); // the five oldest become RUNNING
        expect((await store.get(r.id))?.status).toBe('RUNNING');
      }
      const expected = [...created]
        .sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))
        .map((r) => r.id);

      const seen: string[] = [];
      let after: string | null = null;
      const pageSizes: number[] = [];
      const hasNext: boolean[] = [];
      do {
        const page = await store.list({}, 10, after);
        pageSizes.push(page.rows.length);
        hasNext.push(page.hasNextPage);
        seen.push(...page.rows.map((r) => r.id));
        after = page.hasNextPage ? page.endCursor : null;
      } while (after);
      expect(pageSizes).toEqual([10, 10, 5]);
      expect(hasNext).toEqual([true, true, false]);
      expect(seen).toEqual(expected);

      // Filters, alone and combined with paging.
      const wild = await store.list({ task: 'wild2dog' }, 100);
      expect(wild.rows.map((r) => r.id)).toEqual(expected.filter((id) => Number(id.slice(4)) % 3 === 0));
      const running = await store.list({ status: 'RUNNING' }, 100);
      expect(running.rows.map((r) => r.id).sort()).toEqual(created.slice(0, 5).map((r) => r.id));
      const active = await store.list({ status: ['RUNNING', 'QUEUED'] }, 100);
      expect(active.rows).toHaveLength(25);
      const window = await store.list(
        { createdAfter: new Date(T0 + 1_000_000 * 5), createdBefore: new Date(T0 + 1_000_000 * 9) },
        100,
      );
      expect(window.rows.map((r) => r.id)).toEqual(['run-08', 'run-07', 'run-06', 'run-05']);
      const p1 = await store.list({ task: 'cat2dog', status: 'QUEUED' }, 3);
      const p2 = await store.list({ task: 'cat2dog', status: 'QUEUED' }, 3, p1.endCursor);
      const cat = expected.filter((id) => Number(id.slice(4)) % 3 !== 0 && Number(id.slice(4)) >= 5);
      expect([...p1.rows, ...p2.rows].map((r) => r.id)).toEqual(cat.slice(0, 6));

      const empty = await store.list({ task: 'nope' }, 10);
      expect(empty).toEqual({ rows: [], hasNextPage: false, endCursor: null });

      // count: the whole history under the same filter, whatever the page size
      expect(await store.count()).toBe(25);
      expect(await store.count({})).toBe(25);
      expect(await store.count({ task: 'wild2dog' })).toBe(wild.rows.length);
      expect(await store.count({ status: 'RUNNING' })).toBe(5);
      expect(await store.count({ status: ['RUNNING', 'QUEUED'] })).toBe(25);
      expect(await store.count({ task: 'cat2dog', status: 'QUEUED' })).toBe(cat.length);
      expect(await store.count({ createdAfter: new Date(T0 + 1_000_000 * 5), createdBefore: new Date(T0 + 1_000_000 * 9) })).toBe(4);
      expect(await store.count({ task: 'nope' })).toBe(0);

      await expectCode(store.list({}, 10, 'definitely not a cursor'), 'input/bad_cursor');
      await expectCode(store.list({}, 10, Buffer.from('["x","y"]').toString('base64url')), 'input/bad_cursor');
      await expectCode(store.list({}, 10_000), 'input/invalid');
      await expectCode(store.list({}, -1), 'input/invalid');
    });

    it('recovers interrupted runs: requeue, fail out of attempts, honour requested cancels', async () => {
      const fresh = await store.create(newRun({ id: 'a-fresh' }));
      const worn = await store.create(newRun({ id: 'b-worn' }));
      const cancelling = await store.create(newRun({ id: 'c-cancelling' }));
      const waiting = await store.create(newRun({ id: 'd-waiting' }));
      // b-worn uses up its attempts: claimed and recovered twice, then claimed a third time
      for (let i = 0; i < 2; i++) {
        expect((await store.claim(worn.id)).applied).toBe(true);
        expect((await store.recoverRun(worn.id, 10)).run).toMatchObject({ status: 'QUEUED', attempts: i + 1 });
      }
      for (const r of [fresh, worn, cancelling]) expect((await store.claim(r.id)).applied).toBe(true);
      expect((await store.claim(fresh.id)).applied).toBe(false);
      await store.appendEvent(fresh.id, { seq: 1, type: 'STEP', payload: { step: 1 }, stepsDone: 7 });
      await store.requestCancel(cancelling.id);

      const seen: string[] = [];
      const counts = await recoverInterruptedRuns(store, 3, async (r) => void seen.push(`${r.id}:${r.status}`));
      expect(counts).toEqual({ requeued: 1, failed: 1, cancelled: 1 });
      expect(seen.sort()).toEqual(['a-fresh:QUEUED', 'b-worn:FAILED', 'c-cancelling:CANCELLED']);
      const after = Object.fromEntries(
        await Promise.all([fresh, worn, cancelling, waiting].map(async (r) => [r.id, await store.get(r.id)] as const)),
      );
      expect(after[fresh.id]).toMatchObject({ status: 'QUEUED', attempts: 1, stepsDone: 0, lastSeq: 1 });
      expect(after[worn.id]).toMatchObject({ status: 'FAILED', errorCode: 'run/interrupted', attempts: 3 });
      expect(after[worn.id]?.errorMessage).toMatch(/interrupted/);
      expect(after[worn.id]?.finishedAt).toBeInstanceOf(Date);
      expect(after[cancelling.id]).toMatchObject({ status: 'CANCELLED' });
      expect(after[waiting.id]).toMatchObject({ status: 'QUEUED', attempts: 0 });

      expect(await recoverInterruptedRuns(store, 3)).toEqual({ requeued: 0, failed: 0, cancelled: 0 });
      expect((await store.recoverRun(waiting.id, 3)).applied).toBe(false);
      // The requeued run is claimed again (it is the oldest), on its second attempt.
      expect(await store.claimNext()).toMatchObject({ id: fresh.id, attempts: 2 });
      await expectCode(store.recoverRun(fresh.id, 0), 'input/invalid');
    });

    it('holds runs by lease: renewal, expiry, recovery of expired leases only, writes under the lease only', async () => {
      const a = await store.create(newRun({ id: 'a-held' }));
      const b = await store.create(newRun({ id: 'b-lapsing' }));
      const c = await store.create(newRun({ id: 'c-unleased' }));
      const claimedA = await store.claim(a.id, { owner: 'w1', ttlMs: 3_600_000 });
      expect(claimedA.run).toMatchObject({ status: 'RUNNING', leaseOwner: 'w1', checkpointStep: 0 });
      expect(claimedA.run.leaseExpiresAt!.getTime() - claimedA.run.startedAt!.getTime()).toBe(3_600_000);
      await store.claim(b.id, { owner: 'w2', ttlMs: 5_000 });
      await store.claim(c.id);
      await expectCode(store.claim(a.id, { owner: 'w1', ttlMs: 0 }), 'input/invalid');

      // a clock far enough ahead for b's lease to lapse but not a's
      const later = new Date(T0 + 1000 * (tick + 100));
      expect(await store.expiredLeaseIds(later)).toEqual([b.id, c.id]);
      expect(await recoverInterruptedRuns(store, 3, async () => {}, later)).toEqual({ requeued: 2, failed: 0, cancelled: 0 });
      expect(await store.get(a.id)).toMatchObject({ status: 'RUNNING', leaseOwner: 'w1' });
      expect(await store.get(b.id)).toMatchObject({ status: 'QUEUED', leaseOwner: null, leaseExpiresAt: null });
      expect((await store.recoverRun(a.id, 3, { leaseExpiredBy: later })).applied).toBe(false);

      // renewal: only the owner's RUNNING runs are held; a requested cancel shows up
      await store.requestCancel(a.id);
      const renewed = await store.renewLeases('w1', [a.id, b.id, 'no-such-run'], 10_000);
      expect(renewed).toEqual([
        { id: a.id, held: true, cancelRequested: true },
        { id: b.id, held: false, cancelRequested: false },
        { id: 'no-such-run', held: false, cancelRequested: false },
      ]);
      expect((await store.get(a.id))!.leaseExpiresAt!.getTime()).toBeLessThan(T0 + 1000 * tick + 10_000);
      expect(await store.renewLeases('w2', [a.id], 10_000)).toEqual([{ id: a.id, held: false, cancelRequested: true }]);

      // checkpoints: kept only under the lease, and they survive a requeue
      const bytes = Uint8Array.from([1, 2, 3, 250]);
      expect(await store.saveCheckpoint(a.id, 'w2', { step: 4, bytes })).toBe(false);
      expect(await store.loadCheckpoint(a.id)).toBeNull();
      expect(await store.saveCheckpoint(a.id, 'w1', { step: 4, bytes })).toBe(true);
      expect(await store.loadCheckpoint(a.id)).toEqual({ step: 4, bytes });
      expect((await store.get(a.id))!.checkpointStep).toBe(4);

      // a worker that lost the lease cannot write events or finish the run
      await expectCode(store.appendEvent(a.id, { seq: 1, type: 'STEP', payload: {}, owner: 'w2' }), 'run/lease_lost');
      expect((await store.markSucceeded(a.id, { outputKey: 'o' }, 'w2')).applied).toBe(false);
      expect((await store.markFailed(a.id, 'x', 'y', 'w2')).applied).toBe(false);
      expect((await store.markCancelled(a.id, 'w2')).applied).toBe(false);
      expect(await store.requeue(a.id, 'w2')).toBe(false);
      await store.appendEvent(a.id, { seq: 1, type: 'STEP', payload: {}, owner: 'w1' });
      await expectCode(store.appendEvent(a.id, { seq: 1, type: 'STEP', payload: {}, owner: 'w1' }), 'run/duplicate_event');
      expect(await store.requeue(a.id, 'w1')).toBe(true);
      expect(await store.get(a.id)).toMatchObject({ status: 'QUEUED', leaseOwner: null, checkpointStep: 4, lastSeq: 1 });
      expect(await store.loadCheckpoint(a.id)).toEqual({ step: 4, bytes });
      const again = await store.claim(a.id, { owner: 'w3', ttlMs: 10_000 });
      expect(again.run).toMatchObject({ leaseOwner: 'w3', checkpointStep: 4 });
      expect((await store.markSucceeded(a.id, { outputKey: 'o' }, 'w3')).run).toMatchObject({ status: 'SUCCEEDED', leaseOwner: null, leaseExpiresAt: null });
      await expectCode(store.appendEvent(a.id, { seq: 2, type: 'STEP', payload: {}, owner: 'w3' }), 'run/lease_lost');
    });

    it('fails a queued run no worker took, and only a queued one', async () => {
      const q = await store.create(newRun());
      const r = await store.create(newRun());
      await store.claim(r.id);
      expect((await store.failQueued(q.id, 'run/no_worker', 'no worker has pack cat2dog')).run).toMatchObject({ status: 'FAILED', errorCode: 'run/no_worker' });
      expect((await store.failQueued(r.id, 'run/no_worker', 'x')).applied).toBe(false);
      expect((await store.failQueued(q.id, 'run/no_worker', 'x')).applied).toBe(false);
    });

    it('recovery pages through more interrupted runs than one page holds', async () => {
      const n = MAX_PAGE_SIZE + 5;
      for (let i = 0; i < n; i++) await store.create(newRun());
      for (let i = 0; i < n; i++) expect(await store.claimNext()).not.toBeNull();
      expect(await recoverInterruptedRuns(store, 3)).toEqual({ requeued: n, failed: 0, cancelled: 0 });
      expect((await store.countsByStatus()).RUNNING).toBe(0);
    });

    it('appends events, bumps lastSeq and replays after a seq', async () => {
      const run = await store.create(newRun());
      await store.claimNext();
      for (let seq = 1; seq <= 5; seq++) {
        const ev = await store.appendEvent(run.id, {
          seq,
          type: 'STEP',
          payload: { step: seq, energies: [0.5 * seq, -1], preview: null },
          stepsDone: seq,
        });
        expect(ev).toMatchObject({ runId: run.id, seq, type: 'STEP' });
      }
      await store.appendEvent(run.id, { seq: 6, type: 'RESULT', payload: { outputKey: 'o' } });
      expect(await store.get(run.id)).toMatchObject({ lastSeq: 6, stepsDone: 5 });

      const replay = await store.eventsAfter(run.id, 2);
      expect(replay.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
      expect(replay[0]).toMatchObject({ type: 'STEP', payload: { step: 3, energies: [1.5, -1], preview: null } });
      expect(replay[3]).toMatchObject({ type: 'RESULT', payload: { outputKey: 'o' } });
      expect(replay[0]!.createdAt).toBeInstanceOf(Date);
      expect((await store.eventsAfter(run.id, 0, 2)).map((e) => e.seq)).toEqual([1, 2]);
      expect(await store.eventsAfter(run.id, 6)).toEqual([]);

      await expectCode(store.appendEvent(run.id, { seq: 3, type: 'STEP', payload: {} }), 'run/duplicate_event');
      expect(await store.get(run.id)).toMatchObject({ lastSeq: 6 }); // the failed append changed nothing
      await expectCode(store.appendEvent('missing', { seq: 1, type: 'STEP', payload: {} }), 'run/not_found');
      await expectCode(store.appendEvent(run.id, { seq: 0, type: 'STEP', payload: {} }), 'input/invalid');
    });

    it('appends a batch of events in one call, each as appendEvent would, refusals apart', async () => {
      const a = await store.create(newRun({ id: 'batch-a' }));
      const b = await store.create(newRun({ id: 'batch-b' }));
      await store.claim(a.id, { owner: 'w1', ttlMs: 3_600_000 });
      expect(await store.appendEvents([])).toEqual([]);
      const outcomes = await store.appendEvents([
        { runId: a.id, seq: 1, type: 'STEP', payload: { step: { step: 1, previewKey: 'pv-batch' } }, stepsDone: 1, owner: 'w1' },
        { runId: b.id, seq: 1, type: 'STATUS', payload: { status: 'QUEUED' } },
        { runId: a.id, seq: 2, type: 'STEP', payload: { step: { step: 2, previewKey: 'pv-refused' } }, stepsDone: 2, owner: 'w2' },
        { runId: 'missing', seq: 1, type: 'STEP', payload: {} },
        { runId: b.id, seq: 1, type: 'STATUS', payload: { status: 'QUEUED' } },
        { runId: a.id, seq: 0, type: 'STEP', payload: {}, owner: 'w1' },
        { runId: a.id, seq: 2, type: 'STEP', payload: { step: { step: 2, previewKey: null } }, stepsDone: 2, owner: 'w1' },
        { runId: b.id, seq: 2, type: 'STEP', payload: {}, owner: 'w1' },
      ]);
      const codes = outcomes.map((o) => (o.ok ? 'ok' : isCodedError(o.error) ? o.error.code : `uncoded: ${o.error.message}`));
      expect(codes).toEqual(['ok', 'ok', 'run/lease_lost', 'run/not_found', 'run/duplicate_event', 'input/invalid', 'ok', 'run/lease_lost']);
      const first = outcomes[0]!;
      expect(first.ok && first.event).toMatchObject({ runId: a.id, seq: 1, type: 'STEP', payload: { step: { step: 1, previewKey: 'pv-batch' } } });
      expect(first.ok && first.event.createdAt).toBeInstanceOf(Date);
      expect(await store.get(a.id)).toMatchObject({ lastSeq: 2, stepsDone: 2 });
      expect(await store.get(b.id)).toMatchObject({ lastSeq: 1, stepsDone: 0 });
      expect((await store.eventsAfter(a.id, 0)).map((e) => [e.seq, e.payload])).toEqual([
        [1, { step: { step: 1, previewKey: 'pv-batch' } }],
        [2, { step: { step: 2, previewKey: null } }],
      ]);
      expect((await store.eventsAfter(b.id, 0)).map((e) => e.seq)).toEqual([1]);
      // the event's images are the run's, as with appendEvent; a refused event's are not
      expect(await store.referencedKeys(['pv-batch', 'pv-refused'])).toEqual(new Set(['pv-batch']));
      // a stored seq again, under the lease: a duplicate, not a lost lease; nothing changes
      const again = await store.appendEvents([
        { runId: a.id, seq: 2, type: 'STEP', payload: {}, owner: 'w1' },
        { runId: a.id, seq: 3, type: 'RESULT', payload: { outputKey: 'o' }, owner: 'w1' },
      ]);
      expect(again.map((o) => (o.ok ? o.event.seq : isCodedError(o.error) && o.error.code))).toEqual(['run/duplicate_event', 3]);
      expect(await store.get(a.id)).toMatchObject({ lastSeq: 3, stepsDone: 2 });
    });

    it('deletes finished runs only, with their events', async () => {
      const run = await store.create(newRun());
      await expectCode(store.delete(run.id), 'run/not_deletable');
      await store.claimNext();
      await store.appendEvent(run.id, { seq: 1, type: 'STATUS', payload: { status: 'RUNNING' } });
      await store.appendEvent(run.id, { seq: 2, type: 'STEP', payload: { step: 1 } });
      await expectCode(store.delete(run.id), 'run/not_deletable');
      await store.markSucceeded(run.id, { outputKey: 'o' });

      const keep = await store.create(newRun());
      await store.appendEvent(keep.id, { seq: 1, type: 'STATUS', payload: {} });

      await store.delete(run.id);
      expect(await store.get(run.id)).toBeNull();
      expect(await store.eventsAfter(run.id, 0)).toHaveLength(0);
      expect(await store.eventsAfter(keep.id, 0)).toHaveLength(1);
      await expectCode(store.delete(run.id), 'run/not_found');
    });

    it('counts references to images: deleting a run returns the keys no other run references', async () => {
      const finish = async (id: string, outputKey: string, previews: string[]) => {
        await store.claim(id);
        let seq = 0;
        for (const p of previews) await store.appendEvent(id, { seq: ++seq, type: 'STEP', payload: { step: { step: seq, previewKey: p } } });
        await store.markSucceeded(id, { outputKey });
        await store.appendEvent(id, { seq: ++seq, type: 'RESULT', payload: { outputKey } });
      };
      const a = await store.create(newRun({ sourceKey: 'src-shared' }));
      const b = await store.create(newRun({ sourceKey: 'src-shared' }));
      await finish(a.id, 'out-a', ['p1', 'p-shared']);
      await finish(b.id, 'out-b', ['p-shared', 'p2']);
      expect(await store.referencedKeys(['src-shared', 'out-a', 'p1', 'p-shared', 'p2', 'out-b', 'none'])).toEqual(new Set(['src-shared', 'out-a', 'p1', 'p-shared', 'p2', 'out-b']));
      expect(new Set(await store.delete(a.id))).toEqual(new Set(['out-a', 'p1']));
      expect(await store.referencedKeys(['out-a', 'p1', 'p-shared', 'src-shared'])).toEqual(new Set(['p-shared', 'src-shared']));
      expect(new Set(await store.delete(b.id))).toEqual(new Set(['src-shared', 'p-shared', 'p2', 'out-b']));
      expect(await store.referencedKeys(['src-shared', 'p-shared'])).toEqual(new Set());
    });

    it('keeps the owner of a run, filters history by owner and counts its active runs', async () => {
      const mine = await store.create(newRun({ ownerId: 'key-1' }));
      await store.create(newRun({ ownerId: 'key-1' }));
      const other = await store.create(newRun({ ownerId: 'key-2' }));
      const nobody = await store.create(newRun());
      expect([mine.ownerId, (await store.get(other.id))!.ownerId, nobody.ownerId]).toEqual(['key-1', 'key-2', null]);
      expect((await store.list({ ownerId: 'key-1' }, 10)).rows.map((r) => r.ownerId)).toEqual(['key-1', 'key-1']);
      expect(await store.countActive('key-1')).toBe(2);
      expect(await store.countActive(null)).toBe(1);
      await store.requestCancel(mine.id);
      expect(await store.countActive('key-1')).toBe(1);
      expect(await store.countActive('key-3')).toBe(0);
    });

    it('counts owners\' runs under a filter', async () => {
      await store.create(newRun({ ownerId: 'key-1' }));
      await store.create(newRun({ ownerId: 'key-1', task: 'wild2dog' }));
      await store.create(newRun({ ownerId: 'key-2' }));
      await store.create(newRun());
      expect(await store.count({ ownerId: 'key-1' })).toBe(2);
      expect(await store.count({ ownerId: 'key-1', task: 'wild2dog' })).toBe(1);
      expect(await store.count({ ownerId: 'key-2', status: 'RUNNING' })).toBe(0);
      expect(await store.count({ ownerId: 'key-3' })).toBe(0);
      expect(await store.count()).toBe(4);
    });

    it('places a queued run in its task\'s queue, oldest first, ties by id', async () => {
      const at = (s: number) => new Date(T0 - 1_000_000 + 1000 * s);
      const a = await store.create(newRun({ id: 'q-a', createdAt: at(1) }));
      const w = await store.create(newRun({ id: 'q-w', task: 'wild2dog', createdAt: at(2) }));
      const c = await store.create(newRun({ id: 'q-c', createdAt: at(3) }));
      const b = await store.create(newRun({ id: 'q-b', createdAt: at(3) }));
      const d = await store.create(newRun({ id: 'q-d', createdAt: at(4) }));
      const positions = async () => Promise.all([a, b, c, d, w].map((r) => store.queuePosition(r.id)));
      expect(await positions()).toEqual([1, 2, 3, 4, 1]);
      expect((await store.claimNext({ tasks: ['cat2dog'] }))?.id).toBe(a.id);
      expect(await positions()).toEqual([null, 1, 2, 3, 1]);
      await store.requestCancel(c.id);
      expect(await positions()).toEqual([null, 1, null, 2, 1]);
      await store.requeue(a.id);
      expect(await positions()).toEqual([1, 2, null, 3, 1]);
      expect(await store.queuePosition('no-such-run')).toBeNull();
    });

    it('counts runs by status', async () => {
      const zero = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
      expect(await store.countsByStatus()).toEqual(zero);
      for (let i = 0; i < 4; i++) await store.create(newRun());
      const a = await store.claimNext();
      const b = await store.claimNext();
      await store.markFailed(a!.id, 'x', 'y');
      await store.requestCancel((await store.list({ status: 'QUEUED' }, 1)).rows[0]!.id);
      expect(b).not.toBeNull();
      expect(await store.countsByStatus()).toEqual({ ...zero, QUEUED: 1, RUNNING: 1, FAILED: 1, CANCELLED: 1 });
    });
  });
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Valid settings (the store checks them); the seed is a column of its own. */
export const CONFORMANCE_SETTINGS = { sampler: 'egsde', M: 500, steps: 500, lambdaS: 500, lambdaI: 2, s1: 'cosine', s2: 'neg_l2', repeats: 1, previewEvery: 10 } as const;

function newRun(overrides: Partial<NewRun> = {}): NewRun {
  return { task: 'cat2dog', params: CONFORMANCE_SETTINGS, seed: 42, totalSteps: 500, sourceKey: 'sources/x.png', ...overrides };
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  if (!isCodedError(caught, code)) {
    throw new Error(`expected CodedError ${code}, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  }
}
