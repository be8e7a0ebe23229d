/**
 * The dispatcher when image storage fails, with a real engine (the fixtures' tiny-adm pack) over
 * SQLite: a preview that cannot be stored is skipped and logged, its STEP event goes out without
 * a preview and the run succeeds; an output that cannot be stored fails the run with
 * 'storage/failed'. Seqs stay contiguous either way.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import pino from 'pino';
import sharp from 'sharp';
import { loadConfig } from '../src/config';
import { openPorts, startEngine, type Ports } from '../src/compose';
import { resolveParams, type Engine, type RunParams } from '../src/engine';
import { Dispatcher } from '../src/services/dispatcher';
import type { ArtifactStorage } from '../src/storage';
import type { RunRecord } from '../src/runs';
import { until } from './helpers/until';

const FIXTURES = path.join(__dirname, 'fixtures');

let dir: string;
let ports: Ports;
let engine: Engine;
let dispatcher: Dispatcher;
let queue: ReturnType<Ports['queue']>;
let source: Buffer;
/** the n-th put since the test armed it (1-based) fails when this says so */
let failPut: (n: number) => boolean = () => false;
let puts = 0;
const warnings: { msg: string; runId?: string; step?: number }[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-dispatch-storage-'));
  const config = loadConfig({}, {
    databaseUrl: `file:${path.join(dir, 'db.sqlite')}`,
    artifactsDir: path.join(dir, 'artifacts'),
    modelsDir: path.join(FIXTURES, 'packs'),
    modelsRoot: FIXTURES,
    allowSharedModelFiles: true,
    threads: 1,
    checkpointEvery: 0,
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) warnings.push(JSON.parse(line) as never);
      done();
    },
  });
  const log = pino({ level: 'warn' }, sink);
  ports = await openPorts(config, log);
  engine = await startEngine(config, log);
  const real = ports.storage;
  const storage: ArtifactStorage = {
    put: (bytes, contentType) => (failPut(++puts) ? Promise.reject(new Error(`disk full (put ${puts})`)) : real.put(bytes, contentType)),
    get: (key) => real.get(key),
    exists: (key) => real.exists(key),
    delete: (key) => real.delete(key),
    stat: (key) => real.stat(key),
  };
  const status = await engine.status();
  queue = ports.queue(engine.packs.map((p) => p.name));
  dispatcher = new Dispatcher({
    store: ports.store,
    queue,
    bus: ports.bus,
    events: ports.events,
    storage,
    engine,
    log,
    concurrency: 2,
    workerId: 'w-test',
    leaseMs: 30_000,
    renewMs: 5_000,
    checkpointEvery: 0,
    presence: { registry: ports.registry, info: { id: 'w-test', host: 'here', pid: process.pid, provider: status.provider, packs: engine.packs, capacity: 2 } },
  });
  await dispatcher.start();
  const raw = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) % 251;
  source = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
}, 120_000);

afterAll(async () => {
  await dispatcher?.stop(1000);
  await engine?.close();
  await ports?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Queues a tiny-adm run the way translate does; `arm` decides which of the puts after the source's fail. */
async function runWith(params: Partial<RunParams>, arm: (n: number) => boolean): Promise<RunRecord> {
  failPut = () => false;
  const { key } = await ports.storage.put(source, 'image/png');
  const pack = engine.packs.find((p) => p.name === 'tiny-adm')!;
  const { seed, ...settings } = resolveParams(pack, params);
  const run = await ports.store.create({ task: 'tiny-adm', params: settings, seed, totalSteps: settings.steps * settings.repeats, sourceKey: key });
  puts = 0;
  failPut = arm;
  await queue.enqueue(run);
  return until('the run to finish', async () => {
    const r = await ports.store.get(run.id);
    return r && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status) ? r : null;
  });
}

async function eventsOf(id: string) {
  const events = await ports.store.eventsAfter(id, 0);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  return events;
}

test('a preview that cannot be stored is skipped and logged; the step goes out without it and the run succeeds', async () => {
  // previews at steps 1..4 are puts 1..4; 1 and 3 fail; put 5 (the output) does not
  const run = await runWith({ M: 4, seed: 3, previewEvery: 1 }, (n) => n === 1 || n === 3);
  expect(run).toMatchObject({ status: 'SUCCEEDED', errorCode: null, stepsDone: 4 });
  expect(run.outputKey).toMatch(/\.png$/);
  expect(run.metrics?.ssim).toEqual(expect.any(Number));
  const events = await eventsOf(run.id);
  const steps = events.filter((e) => e.type === 'STEP').map((e) => (e.payload as { step: { step: number; previewKey: string | null } }).step);
  expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
  expect(steps.map((s) => s.previewKey === null)).toEqual([true, false, true, false]);
  expect(events[events.length - 1]).toMatchObject({ type: 'RESULT', payload: { outputKey: run.outputKey } });
  const skipped = warnings.filter((w) => w.runId === run.id && /preview could not be stored/.test(w.msg));
  expect(skipped.map((w) => w.step)).toEqual([1, 3]);
});

test('an output that cannot be stored fails the run with storage/failed', async () => {
  const run = await runWith({ M: 3, seed: 4, previewEvery: 0 }, () => true);
  expect(run).toMatchObject({ status: 'FAILED', errorCode: 'storage/failed', outputKey: null, leaseOwner: null });
  expect(run.errorMessage).toMatch(/disk full/);
  const events = await eventsOf(run.id);
  expect(events.filter((e) => e.type === 'STEP')).toHaveLength(3);
  expect(events[events.length - 1]).toMatchObject({ type: 'ERROR', payload: { error: { code: 'storage/failed' } } });
  expect(events.some((e) => e.type === 'RESULT')).toBe(false);
});
