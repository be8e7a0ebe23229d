/** The service's logs: one JSON line per HTTP request, one per run transition (src/http/request-log.ts, src/services/run-log.ts). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import pino from 'pino';
import { BACKENDS, Running, pngDataUrl, startServer, testConfig } from './helpers/server-harness';
import { until } from './helpers/until';

interface Line {
  level: number;
  msg: string;
  [k: string]: unknown;
}

describe('logging (SQLite, embedded engine)', () => {
  const lines: Line[] = [];
  let srv: Running;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const u = await BACKENDS[0]!.setup();
    cleanup = u.cleanup;
    const artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-log-'));
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) });
    srv = await startServer({ ...testConfig(u.url, artifacts), logger: log });
  }, 120000);
  afterAll(async () => {
    await srv?.close();
    await cleanup?.();
  });

  test('one line per HTTP request: method, path (no query string), status, ms, request id; /graphql with its operation name', async () => {
    const live = await fetch(`${srv.url}/livez?probe=1`);
    expect(live.status).toBe(200);
    const liveId = live.headers.get('x-request-id');
    const gql = await fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query WhoIsThere { __typename }' }) });
    expect(gql.status).toBe(200);
    const gqlId = gql.headers.get('x-request-id');
    const missing = await fetch(`${srv.url}/no-such-route`);
    expect(missing.status).toBe(404);
    const missingId = missing.headers.get('x-request-id');

    const byId = (id: string | null) => until(`the log line of request ${id}`, async () => lines.filter((l) => l.requestId === id && typeof l.status === 'number'), 30000).then((ls) => (ls.length ? ls : null));
    const [l1] = (await byId(liveId))!;
    expect(l1).toMatchObject({ level: 30, method: 'GET', path: '/livez', status: 200, requestId: liveId, msg: 'GET /livez 200' });
    expect(typeof l1!.ms).toBe('number');
    const [l2] = (await byId(gqlId))!;
    expect(l2).toMatchObject({ method: 'POST', path: '/graphql', status: 200, operationName: 'WhoIsThere' });
    const [l3] = (await byId(missingId))!;
    expect(l3).toMatchObject({ method: 'GET', path: '/no-such-route', status: 404 });
    // exactly one line per request
    for (const id of [liveId, gqlId, missingId]) expect(lines.filter((l) => l.requestId === id && typeof l.status === 'number')).toHaveLength(1);
  });

  test('one line per run transition: QUEUED, QUEUED -> RUNNING, RUNNING -> SUCCEEDED', async () => {
    const image = await pngDataUrl(64, 3);
    const r = await srv.gql<{ translate: { id: string } }>(`mutation($input: TranslateInput!) { translate(input: $input) { id status } }`, { input: { task: 'tiny-adm', image, params: { M: 3, seed: 1 } } });
    expect(r.errors).toBeUndefined();
    const id = r.data!.translate.id;
    const transitions = () => lines.filter((l) => l.runId === id && typeof l.to === 'string');
    await until('the SUCCEEDED transition', async () => transitions().some((l) => l.to === 'SUCCEEDED'), 90000);
    const t = transitions();
    expect(t.map((l) => `${l.from} -> ${l.to}`)).toEqual(['null -> QUEUED', 'QUEUED -> RUNNING', 'RUNNING -> SUCCEEDED']);
    expect(t[0]).toMatchObject({ msg: 'run new -> QUEUED', task: 'tiny-adm', ownerId: null, workerId: null, stepsDone: 0 });
    expect(t[1]).toMatchObject({ msg: 'run QUEUED -> RUNNING', task: 'tiny-adm', workerId: srv.app.config.workerId, attempts: 1 });
    expect(t[2]).toMatchObject({ msg: 'run RUNNING -> SUCCEEDED', workerId: srv.app.config.workerId, stepsDone: 3 });
    // and no line per step at info
    expect(lines.filter((l) => l.runId === id && l.level >= 30 && /step/i.test(l.msg))).toEqual([]);
  });
});
