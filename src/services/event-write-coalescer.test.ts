import { CodedError } from '../errors';
import type { NewRunEvent, RunEventAppend, RunEventAppendOutcome, RunEventRecord } from '../runs';
import { EventWriteCoalescer } from './event-write-coalescer';

/** A store that records its calls; `refuse` picks events to refuse with a coded error. */
function fakeStore(refuse: (e: RunEventAppend) => string | null = () => null) {
  const calls: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const record = (e: RunEventAppend): RunEventRecord => ({ runId: e.runId, seq: e.seq, type: e.type, payload: e.payload, createdAt: new Date(0) });
  const slow = async <T>(f: () => T): Promise<T> => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    return f();
  };
  return {
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
    appendEvent(runId: string, event: NewRunEvent): Promise<RunEventRecord> {
      calls.push([`${runId}#${event.seq}`]);
      return slow(() => {
        const code = refuse({ ...event, runId });
        if (code) throw new CodedError(code as never, code);
        return record({ ...event, runId });
      });
    },
    appendEvents(events: readonly RunEventAppend[]): Promise<RunEventAppendOutcome[]> {
      calls.push(events.map((e) => `${e.runId}#${e.seq}`));
      return slow(() =>
        events.map((e): RunEventAppendOutcome => {
          const code = refuse(e);
          return code ? { ok: false, error: new CodedError(code as never, code) } : { ok: true, event: record(e) };
        }),
      );
    },
  };
}

const step = (seq: number): NewRunEvent => ({ seq, type: 'STEP', payload: { step: seq }, stepsDone: seq, owner: 'w1' });

test('appends asked for in one turn go as one batch; the next gathers while one is written', async () => {
  const store = fakeStore();
  const c = new EventWriteCoalescer(store);
  const first = ['a', 'b', 'c'].map((id) => c.append(id, step(1)));
  await new Promise((r) => setImmediate(r)); // the first batch is on its way
  const second = ['a', 'b'].map((id) => c.append(id, step(2)));
  const third = c.append('c', step(2));
  const records = await Promise.all([...first, ...second, third]);
  expect(records.map((r) => `${r.runId}#${r.seq}`)).toEqual(['a#1', 'b#1', 'c#1', 'a#2', 'b#2', 'c#2']);
  expect(store.calls).toEqual([['a#1', 'b#1', 'c#1'], ['a#2', 'b#2', 'c#2']]);
  expect(store.maxInFlight).toBe(1);
  expect(c.stats).toEqual({ batches: 2, events: 6 });
  // one alone goes through appendEvent
  await c.append('d', step(1));
  expect(store.calls[2]).toEqual(['d#1']);
});

test('each append keeps its own outcome; a failed write fails its batch only', async () => {
  const store = fakeStore((e) => (e.runId === 'lost' ? 'run/lease_lost' : null));
  const c = new EventWriteCoalescer(store);
  const [ok, lost, alsoOk] = await Promise.allSettled([c.append('a', step(1)), c.append('lost', step(1)), c.append('b', step(1))]);
  expect(ok).toMatchObject({ status: 'fulfilled', value: { runId: 'a', seq: 1 } });
  expect(lost).toMatchObject({ status: 'rejected', reason: { code: 'run/lease_lost' } });
  expect(alsoOk).toMatchObject({ status: 'fulfilled', value: { runId: 'b', seq: 1 } });

  let down = true;
  const flaky = { ...store, appendEvents: async (events: readonly RunEventAppend[]) => (down ? Promise.reject(new CodedError('db/failed', 'database down')) : store.appendEvents(events)) };
  const d = new EventWriteCoalescer(flaky);
  const failed = await Promise.allSettled([d.append('a', step(2)), d.append('b', step(2))]);
  expect(failed.map((r) => r.status === 'rejected' && (r.reason as CodedError).code)).toEqual(['db/failed', 'db/failed']);
  down = false;
  expect((await Promise.all([d.append('a', step(2)), d.append('b', step(2))])).map((r) => r.seq)).toEqual([2, 2]);
});

test('a batch holds at most maxBatch events; the rest follow', async () => {
  const store = fakeStore();
  const c = new EventWriteCoalescer(store, { maxBatch: 2 });
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => c.append(id, step(1))));
  expect(store.calls.map((b) => b.length)).toEqual([2, 2, 1]);
});
