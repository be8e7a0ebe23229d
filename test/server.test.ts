/**
 * The GraphQL service end to end: a real server on port 0, a real graphql-ws client, a real
 * database (SQLite and PostgreSQL), the golden tiny pack.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { BACKENDS, Running, countFiles, pngDataUrl, startServer, testConfig } from './helpers/server-harness';
import { buildApp } from '../src/app';
import { buildAppSchema, printAppSchema, SCHEMA_FILE } from '../src/resolvers/schema';
import { MemoryEventBus } from '../src/events/memory-event-bus';
import type { RunStore } from '../src/runs';
import { parse, validate } from 'graphql';
import { translateFile } from '../client-examples/translate';
import { until } from './helpers/until';

const RUN_FIELDS = 'id status task sampler totalSteps stepsDone lastSeq sourceUrl outputUrl outputKey error { code message } params { M steps lambdaS s1 s2 sampler } metrics { l2 psnr ssim } timings { steps msPerStep }';
const TRANSLATE = `mutation($input: TranslateInput!) { translate(input: $input) { ${RUN_FIELDS} } }`;
const EVENTS = 'subscription($id: ID!, $after: Int) { runEvents(id: $id, afterSeq: $after) { runId seq type status step totalSteps t energies { realism faithfulness } previewUrl outputUrl error { code } terminal } }';

interface Ev {
  runEvents: { seq: number; type: string; status: string | null; step: number | null; t: number | null; energies: { realism: number } | null; previewUrl: string | null; outputUrl: string | null; terminal: boolean };
}

describe.each(BACKENDS.map((b) => [b.name, b] as const))('service on %s', (_name, backend) => {
  let srv: Running;
  let dbUrl: string;
  let cleanupDb: () => Promise<void>;
  let artifacts: string;
  let image: string;

  beforeAll(async () => {
    const u = await backend.setup();
    dbUrl = u.url;
    cleanupDb = u.cleanup;
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-art-'));
    srv = await startServer(testConfig(dbUrl, artifacts, { maxImagePixels: 300 * 300, maxQueryDepth: 4 }));
    image = await pngDataUrl(80, 7);
  }, 120000);
  afterAll(async () => {
    await srv?.close();
    await cleanupDb?.();
  });

  const translate = async (params: Record<string, unknown> = {}, img = image) => {
    const r = await srv.gql<{ translate: { id: string; status: string } }>(TRANSLATE, { input: { task: 'tiny-adm', image: img, params } });
    expect(r.errors).toBeUndefined();
    return r.data!.translate;
  };

  test('translate end to end: queued, live steps with energies and previews, result image, metrics', async () => {
    const run = await translate({ M: 6, seed: 5, previewEvery: 3 });
    expect(run.status).toBe('QUEUED');
    const { events, error } = await srv.subscribe<Ev>(EVENTS, { id: run.id, after: 0 });
    expect(error).toBeUndefined();
    const types = events.map((e) => e.runEvents.type);
    expect(types[0]).toBe('STATUS');
    expect(types.filter((t) => t === 'STEP')).toHaveLength(6);
    expect(types[types.length - 1]).toBe('RESULT');
    expect(events.map((e) => e.runEvents.seq)).toEqual(events.map((_, i) => i + 1));
    const steps = events.filter((e) => e.runEvents.type === 'STEP').map((e) => e.runEvents);
    expect(steps.map((s) => s.t)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(steps.every((s) => Number.isFinite(s.energies?.realism))).toBe(true);
    expect(steps.filter((s) => s.previewUrl).length).toBe(2);
    const q = await srv.gql<{ run: { status: string; outputUrl: string; stepsDone: number; metrics: { psnr: number } } }>(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: run.id });
    expect(q.data!.run.status).toBe('SUCCEEDED');
    expect(q.data!.run.stepsDone).toBe(6);
    expect(q.data!.run.metrics.psnr).toBeGreaterThan(0);
    const png = await fetch(`${srv.url}${q.data!.run.outputUrl}`);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await png.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([64, 64]);
    const preview = await fetch(`${srv.url}${steps.find((s) => s.previewUrl)!.previewUrl}`);
    expect(preview.status).toBe(200);
  });

  test('a late subscriber gets every seq exactly once, in order, from afterSeq', async () => {
    const run = await translate({ M: 8, seed: 1 });
    // join while it runs, from the start, and again after it ended from the middle
    const early = await srv.subscribe<Ev>(EVENTS, { id: run.id, after: 0 });
    const seqs = early.events.map((e) => e.runEvents.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const late = await srv.subscribe<Ev>(EVENTS, { id: run.id, after: 4 });
    expect(late.events.map((e) => e.runEvents.seq)).toEqual(seqs.slice(4));
    expect(late.events[late.events.length - 1].runEvents.terminal).toBe(true);
    // resuming a finished run from its last seq completes at once, with nothing to send
    const resumed = await srv.subscribe<Ev>(EVENTS, { id: run.id, after: seqs.length });
    expect(resumed).toEqual({ events: [] });
  });

  test('cancel mid-run stops it at a step boundary; cancelling a queued run is immediate', async () => {
    const run = await translate({ M: 200, steps: 100, seed: 2 });
    const seen: Ev[] = [];
    const done = new Promise<void>((resolve) => {
      srv.ws.subscribe<Ev>({ query: EVENTS, variables: { id: run.id, after: 0 } }, {
        next: (v) => {
          seen.push(v.data as Ev);
          if (v.data && (v.data as Ev).runEvents.step === 2) void srv.gql(`mutation($id: ID!) { cancelRun(id: $id) { id status cancelRequested } }`, { id: run.id });
        },
        error: () => resolve(),
        complete: () => resolve(),
      });
    });
    await done;
    expect(seen[seen.length - 1].runEvents.type).toBe('CANCELLED');
    expect(seen.filter((e) => e.runEvents.type === 'STEP').length).toBeLessThan(50);
    const q = await srv.gql<{ run: { status: string } }>(`query($id: ID!) { run(id: $id) { status } }`, { id: run.id });
    expect(q.data!.run.status).toBe('CANCELLED');
    const again = await srv.gql(`mutation($id: ID!) { cancelRun(id: $id) { status } }`, { id: run.id });
    expect(again.errors).toBeUndefined();
  });

  test('history: cursor pagination, filters, delete', async () => {
    for (let i = 0; i < 3; i++) await translate({ M: 2, steps: 2, seed: 100 + i });
    const all: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: { data?: { runs: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } } = await srv.gql(
        `query($after: String) { runs(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      all.push(...r.data!.runs.edges.map((e) => e.node.id));
      if (!r.data!.runs.pageInfo.hasNextPage) break;
      after = r.data!.runs.pageInfo.endCursor;
    }
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(5);
    const byTask = await srv.gql<{ runs: { edges: unknown[] } }>(`{ runs(first: 200, filter: { task: "nope" }) { edges { cursor } } }`);
    expect(byTask.data!.runs.edges).toEqual([]);
    // wait for one to finish, then delete it
    const target = all[0];
    await srv.subscribe<Ev>(EVENTS, { id: target, after: 0 });
    const del = await srv.gql<{ deleteRun: boolean }>(`mutation($id: ID!) { deleteRun(id: $id) }`, { id: target });
    expect(del.data?.deleteRun).toBe(true);
    const gone = await srv.gql(`query($id: ID!) { run(id: $id) { id } }`, { id: target });
    expect(gone.errors?.[0].extensions?.code).toBe('run/not_found');
  });

  test('every bad input gets an error code and writes nothing', async () => {
    // runs of earlier tests still writing previews would change the file count: let them finish
    const busy = async () => (await srv.app.services.runs.list({ status: ['QUEUED', 'RUNNING'] }, 1)).rows.length > 0;
    await until('earlier runs to finish', async () => !(await busy()));
    const before = await srv.gql<{ runs: { edges: unknown[] } }>(`{ runs(first: 200) { edges { cursor } } }`);
    const files = countFiles(artifacts);
    const codeOf = async (q: string, v: Record<string, unknown>) => (await srv.gql(q, v)).errors?.[0]?.extensions?.code;
    const input = (over: Record<string, unknown>) => ({ input: { task: 'tiny-adm', image, ...over } });
    const big = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#336699' } }).png().toBuffer();
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).gif().toBuffer();
    expect(await codeOf(TRANSLATE, input({ task: 'no-such-task' }))).toBe('input/unknown_task');
    expect(await codeOf(TRANSLATE, input({ image: 'data:image/png;base64,AAAAAAAA' }))).toBe('input/image_undecodable');
    expect(await codeOf(TRANSLATE, input({ image: 'not a data url' }))).toBe('input/image_undecodable');
    expect(await codeOf(TRANSLATE, input({ image: `data:image/png;base64,${big.toString('base64')}` }))).toBe('input/image_too_large');
    expect(await codeOf(TRANSLATE, input({ image: `data:image/gif;base64,${gif.toString('base64')}` }))).toBe('input/image_unsupported_format');
    expect(await codeOf(TRANSLATE, input({ image: null }))).toBe('input/image_missing');
    expect(await codeOf(TRANSLATE, input({ params: { M: 5000 } }))).toBe('input/params_out_of_range');
    expect(await codeOf(TRANSLATE, input({ params: { lambdaS: -1 } }))).toBe('input/params_out_of_range');
    expect(await codeOf(TRANSLATE, input({ params: { steps: 1, M: 5 } }))).toBe('input/params_out_of_range');
    // seed is a BigInt scalar: a fraction is refused by GraphQL itself, a 33-bit value by the params
    expect(await codeOf(TRANSLATE, input({ params: { seed: 1.5 } }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(TRANSLATE, input({ params: { seed: '4294967296' } }))).toBe('input/params_out_of_range');
    // a faithfulness weight the explicit step cannot take at this few steps would blow the sample up
    const unstable = (await srv.gql(TRANSLATE, input({ params: { M: 500, steps: 5, lambdaI: 500 } }))).errors?.[0];
    expect(unstable?.extensions?.code).toBe('input/params_out_of_range');
    expect(unstable?.message).toMatch(/lambdaI: 500 with 5 steps from M = 500 would make the faithfulness step diverge; at these steps lambda_i must stay below \d/);
    expect(await codeOf(TRANSLATE, input({ params: { M: 'ten' } }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ runs(first: 2, after: "garbage!") { edges { cursor } } }`, {})).toBe('input/bad_cursor');
    expect(await codeOf(`{ runs(first: 0) { edges { cursor } } }`, {})).toBe('input/invalid');
    expect(await codeOf(`query($id: ID!) { run(id: $id) { id } }`, { id: 'nope' })).toBe('run/not_found');
    expect(await codeOf(`mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: 'nope' })).toBe('run/not_found');
    expect(await codeOf(`mutation($id: ID!) { deleteRun(id: $id) }`, { id: 'nope' })).toBe('run/not_found');
    const sub = await srv.subscribe<Ev>(EVENTS, { id: 'nope', after: 0 });
    expect((sub.error as { extensions: { code: string } }[])[0].extensions.code).toBe('run/not_found');
    // depth limit (4 in this server) on HTTP and on WebSocket operations alike
    const deep = `{ runs { edges { node { params { M } } } } }`;
    const httpDeep = (await srv.gql(deep)).errors?.[0];
    expect([httpDeep?.extensions?.code, httpDeep?.message]).toEqual(['query/too_complex', 'query too complex: depth 5, the limit is 4 (MAX_QUERY_DEPTH)']);
    const wsDeep = await srv.subscribe(deep, {});
    expect((wsDeep.error as { message: string; extensions: { code: string } }[])[0]).toMatchObject({ message: 'query too complex: depth 5, the limit is 4 (MAX_QUERY_DEPTH)', extensions: { code: 'query/too_complex' } });
    const after = await srv.gql<{ runs: { edges: unknown[] } }>(`{ runs(first: 200) { edges { cursor } } }`);
    expect(after.data!.runs.edges.length).toBe(before.data!.runs.edges.length);
    expect(countFiles(artifacts)).toBe(files);
  });

  test('multipart upload, packs, engine status, health, and unknown artifacts', async () => {
    const png = Buffer.from((await pngDataUrl(64, 3)).split(',')[1], 'base64');
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: TRANSLATE, variables: { input: { task: 'tiny-adm', upload: null, params: { M: 2, steps: 2 } } } }));
    form.append('map', JSON.stringify({ 0: ['variables.input.upload'] }));
    form.append('0', new Blob([png], { type: 'image/png' }), 'cat.png');
    const res = await fetch(`${srv.url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
    const body = (await res.json()) as { data?: { translate: { id: string; status: string } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.translate.status).toBe('QUEUED');
    const packs = await srv.gql<{ packs: { name: string; imageSize: number; defaults: { M: number } }[] }>(`{ packs { name imageSize defaults { M steps s1 } } }`);
    expect(packs.data!.packs.map((p) => p.name).sort()).toEqual(['tiny-adm', 'tiny-ddpm']);
    const status = await srv.gql<{ engineStatus: { provider: string; maxBatch: number } }>(`{ engineStatus { provider queueLength activeRuns stepsPerSecond lastBatchSizes maxBatch } }`);
    expect(status.data!.engineStatus.provider).toBe('cpu');
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
    // unsigned: refused before storage is even asked; signed but unknown: 404
    expect((await fetch(`${srv.url}/artifacts/..%2F..%2Fetc%2Fpasswd`)).status).toBe(403);
    expect((await fetch(`${srv.url}/artifacts/${'a'.repeat(64)}.png`)).status).toBe(403);
    expect((await fetch(`${srv.url}${srv.app.services.urls.url(`${'a'.repeat(64)}.png`)}`)).status).toBe(404);
    expect((await fetch(`${srv.url}${srv.app.services.urls.url('../../etc/passwd')}`.replace('../../etc/passwd', '..%2F..%2Fetc%2Fpasswd'))).status).toBe(404);
  });

  test('the example client sends an image, prints progress and saves the result', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-client-'));
    const img = path.join(dir, 'cat.png');
    fs.writeFileSync(img, Buffer.from((await pngDataUrl(100, 9)).split(',')[1], 'base64'));
    const lines: string[] = [];
    const r = await translateFile({ url: srv.url, image: img, task: 'tiny-adm', out: path.join(dir, 'dog.png'), params: { M: 3, steps: 3 }, log: (l) => lines.push(l) });
    expect(r.status).toBe('SUCCEEDED');
    expect(lines.filter((l) => l.startsWith('step ')).length).toBe(3);
    expect((await sharp(path.join(dir, 'dog.png')).metadata()).width).toBe(64);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('restart: queued runs resume, an interrupted run is retried or failed with a reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-restart-'));
    const u = await backend.setup();
    try {
      // first life: runs are queued but the dispatcher never starts (as if the process died)
      const a1 = await buildApp(testConfig(u.url, dir));
      const r1 = await a1.services.runs.translate({ task: 'tiny-adm', image: { dataUrl: image }, params: { M: 3, steps: 3, seed: 1 } });
      const r2 = await a1.services.runs.translate({ task: 'tiny-adm', image: { dataUrl: image }, params: { M: 3, steps: 3, seed: 2 } });
      const r3 = await a1.services.runs.translate({ task: 'tiny-adm', image: { dataUrl: image }, params: { M: 3, steps: 3, seed: 3 } });
      // r2 was RUNNING when the process died (first attempt); r3 had used all its attempts
      const store = (a1.services.runs as unknown as { deps: { store: RunStore } }).deps.store;
      const c1 = await store.claimNext();
      const c2 = await store.claimNext();
      expect([c1?.id, c2?.id].sort()).toEqual([r1.id, r2.id].sort());
      await store.requeue(r1.id); // r1 back to QUEUED
      await store.claimNext(); // r1 again (attempt 1)
      await store.requeue(r1.id);
      await a1.stop();
      // a second claim on r3 to exhaust attempts: mark it RUNNING twice via a raw claim sequence
      const a2 = await buildApp(testConfig(u.url, dir, { maxAttempts: 1 }));
      // nothing is recovered before start(): its first sweep does it (runs claimed without a lease count as expired)
      expect((await a2.services.runs.get(r2.id)).status).toBe('RUNNING');
      await a2.start(0);
      // recovery ran: r2 (attempts 1 >= maxAttempts 1) failed with run/interrupted
      const r2now = await a2.services.runs.get(r2.id);
      expect(r2now.status).toBe('FAILED');
      expect(r2now.errorCode).toBe('run/interrupted');
      // queued runs resume and finish
      for (const id of [r1.id, r3.id]) {
        const evs: string[] = [];
        for await (const ev of a2.services.runs.events(id, 0)) evs.push(ev.type);
        expect(evs[evs.length - 1]).toBe('RESULT');
      }
      // the failed run's subscribers got its terminal event
      const failedEvents: string[] = [];
      for await (const ev of a2.services.runs.events(r2.id, 0)) failedEvents.push(ev.type);
      expect(failedEvents[failedEvents.length - 1]).toBe('ERROR');
      await a2.stop();
    } finally {
      await u.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('every named operation in client-examples/operations.graphql is valid against the schema', () => {
  const schema = buildAppSchema(new MemoryEventBus());
  const doc = parse(fs.readFileSync(path.join(__dirname, '..', 'client-examples', 'operations.graphql'), 'utf8'));
  expect(validate(schema, doc)).toEqual([]);
  expect(doc.definitions.length).toBe(9);
});

test('the committed schema matches the resolvers (npm run schema:emit)', async () => {
  expect(fs.readFileSync(SCHEMA_FILE, 'utf8')).toBe(printAppSchema(buildAppSchema(new MemoryEventBus())));
});
