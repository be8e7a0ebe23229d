/**
 * The transports' limits and refusals, end to end on real servers (temp SQLite, no engine): the
 * query limits on HTTP and WebSocket alike, introspection off and on, the WebSocket message limit,
 * browser origins (WebSocket handshake, CORS), every malformed request answered as JSON with a
 * code and no stack trace (NODE_ENV=development too), /livez and /readyz; and none of it writes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import WebSocket from 'ws';
import { getIntrospectionQuery } from 'graphql';
import { Running, countFiles, startServer, testConfig } from './helpers/server-harness';
import type { AppConfig } from '../src/config';
import { localStorageState } from '../src/http/health';
import { originPolicy } from '../src/http/cors';

const ALLOWED = 'http://allowed.example';
const EVIL = 'http://evil.example';
const DELETE = 'mutation { deleteRun(id: "nope") }';
const TRANSLATE = 'mutation($input: TranslateInput!) { translate(input: $input) { id } }';
/** 17 scalar fields of Run: depth 4 inside runs { edges { node { … } } } */
const NODE_FIELDS = 'id status task sampler seed totalSteps stepsDone lastSeq attempts cancelRequested createdAt startedAt finishedAt sourceKey sourceUrl outputKey outputUrl';

interface Err {
  message: string;
  locations?: unknown;
  path?: unknown;
  extensions?: { code?: string; [k: string]: unknown };
}
interface Res {
  status: number;
  text: string;
  body: { data?: unknown; errors?: Err[]; error?: { code: string; message: string }; [k: string]: unknown };
  headers: Headers;
}

interface Server {
  srv: Running;
  dir: string;
  artifacts: string;
  runs0: number;
  files0: number;
}

async function start(name: string, over: Partial<AppConfig> = {}, artifactsDir?: string): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `egsde-transport-${name}-`));
  const artifacts = artifactsDir ?? path.join(dir, 'artifacts');
  const srv = await startServer(testConfig(`file:${path.join(dir, 'db.sqlite')}`, artifacts, { engine: 'off', allowedOrigins: [ALLOWED], introspection: false, maxQueryDepth: 4, maxImageBytes: 100_000, maxQueryCost: 5000, ...over }));
  return { srv, dir, artifacts, runs0: await runCount(srv), files0: countFiles(artifacts) };
}

async function runCount(srv: Running): Promise<number> {
  return (await srv.app.services.runs.list({}, 200)).rows.length;
}

async function request(srv: Running, pathname: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(`${srv.url}${pathname}`, init);
  const text = await res.text();
  let body: Res['body'] = {};
  try {
    body = JSON.parse(text) as Res['body'];
  } catch {
    body = { notJson: text };
  }
  return { status: res.status, text, body, headers: res.headers };
}

function post(srv: Running, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
  return request(srv, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** An operation over WebSocket (graphql-ws): its data, or the errors it was refused with. */
async function overWs(srv: Running, query: string, variables: Record<string, unknown> = {}, operationName?: string): Promise<{ data?: unknown; errors?: Err[] }> {
  return new Promise((resolve) => {
    let data: unknown;
    srv.ws.subscribe({ query, variables, operationName }, {
      next: (v) => {
        if (v.errors) resolve({ errors: v.errors as Err[] });
        else data = v.data;
      },
      error: (e) => resolve({ errors: Array.isArray(e) ? (e as Err[]) : [{ message: String(e) }] }),
      complete: () => resolve({ data }),
    });
  });
}

/** A raw WebSocket handshake: the open socket, or the HTTP answer that refused it. */
function handshake(srv: Running, origin?: string): Promise<{ ws?: WebSocket; status?: number; text?: string; contentType?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${srv.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', origin ? { origin } : {});
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, text, contentType: String(res.headers['content-type']) });
      });
    });
    ws.once('error', reject);
  });
}

/** Nothing a client may see: stack frames, file paths, Apollo's stacktrace extension. */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toMatch(/\bat [\w.<>]+ \(/);
  expect(text).not.toMatch(/node_modules|\/work\/|\/src\/|\.ts:\d|\.js:\d/);
}

function expectCode(r: Res, status: number, code: string): Err {
  expect({ status: r.status, code: r.body.errors?.[0]?.extensions?.code }).toEqual({ status, code });
  expectNoInternals(r.text);
  return r.body.errors![0];
}

const aliases = (n: number, field = 'packs { name }') => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
/** 8n tokens: n operations (A0 … A{n-1}), each within every other limit; run A0 */
const tokens = (n: number) => Array.from({ length: n }, (_, i) => `query A${i} { packs { name } }`).join(' ');
const directives = (n: number) => `{ packs { ${Array.from({ length: n }, (_, i) => `n${i}: name @skip(if: false)`).join(' ')} } }`;
/** cost 1 + (1 + first x 19) per alias */
const page = (n: number, first: number | string) => `query${typeof first === 'string' ? '($n: Int!)' : ''} { ${Array.from({ length: n }, (_, i) => `p${i}: runs(first: ${first}) { edges { cursor node { ${NODE_FIELDS} } } }`).join(' ')} }`;

let main: Server;
let open: Server;
let dev: Server;
let broken: Server;

beforeAll(async () => {
  main = await start('main');
  // the default limits but introspection on and any origin
  open = await start('open', { introspection: true, allowedOrigins: ['*'], maxQueryDepth: 12, maxImageBytes: 10 * 2 ** 20 });
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'development';
  try {
    dev = await start('dev');
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  // artifacts "under" a regular file: no write can succeed there, root or not
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-transport-file-')), 'plain-file');
  fs.writeFileSync(file, 'not a folder');
  broken = await start('broken', {}, path.join(file, 'artifacts'));
}, 120000);

afterAll(async () => {
  for (const s of [main, open, dev, broken]) await s?.srv.close();
});

describe('query limits, the same on HTTP and WebSocket', () => {
  const refusedOnBoth = async (query: string, limit: string, variables: Record<string, unknown> = {}, operationName?: string) => {
    const http = expectCode(await post(main.srv, { query, variables, operationName }), 400, 'query/too_complex');
    expect(http.extensions).toMatchObject({ limit });
    const ws = await overWs(main.srv, query, variables, operationName);
    expect(ws.errors?.[0]).toMatchObject({ message: http.message, extensions: { code: 'query/too_complex', limit } });
    expectNoInternals(JSON.stringify(ws));
    return http;
  };
  const allowedOnBoth = async (query: string, variables: Record<string, unknown> = {}, operationName?: string) => {
    const http = await post(main.srv, { query, variables, operationName });
    expect([http.status, http.body.errors]).toEqual([200, undefined]);
    expect((await overWs(main.srv, query, variables, operationName)).errors).toBeUndefined();
  };

  test('aliases (MAX_ALIASES, 15)', async () => {
    const e = await refusedOnBoth(aliases(16), 'aliases');
    expect(e.message).toBe('query too complex: 16 aliases, the limit is 15 (MAX_ALIASES)');
    expect(e.extensions).toEqual({ code: 'query/too_complex', limit: 'aliases', max: 15, found: 16 });
    await allowedOnBoth(aliases(15));
  });

  test('depth (MAX_QUERY_DEPTH, 4 on this server), fragments followed', async () => {
    const e = await refusedOnBoth('{ runs { edges { node { params { M } } } } }', 'depth');
    expect(e.message).toBe('query too complex: depth 5, the limit is 4 (MAX_QUERY_DEPTH)');
    await refusedOnBoth('{ runs { ...E } } fragment E on RunConnection { edges { node { params { M } } } }', 'depth');
    await allowedOnBoth('{ runs { ...E } } fragment E on RunConnection { edges { node { id } } }');
  });

  test('cost (MAX_QUERY_COST, 5000): list fields weighted by their page size', async () => {
    // runs(first: 200) with 17 node fields: 3802 each
    const e = await refusedOnBoth(page(2, 200), 'cost');
    expect(e.message).toMatch(/^query too complex: cost 7604, the limit is 5000 \(MAX_QUERY_COST/);
    await allowedOnBoth(page(1, 200));
    // the same fields on small pages are cheap
    await allowedOnBoth(page(13, 10));
    // a variable page size counts as the largest page
    await refusedOnBoth(page(2, '$n'), 'cost', { n: 1 });
    // the tester's shape: 1,000 aliases of runs(first: 200) is refused (by aliases, tokens and cost)
    const r = await post(main.srv, { query: aliases(1000, 'runs(first: 200) { edges { cursor } }') });
    expectCode(r, 400, 'query/too_complex');
  });

  test('tokens (MAX_QUERY_TOKENS, 1000), counted before parsing', async () => {
    const e = await refusedOnBoth(tokens(126), 'tokens', {}, 'A0');
    expect(e.message).toBe('query too complex: more than 1000 tokens, the limit is 1000 (MAX_QUERY_TOKENS)');
    await allowedOnBoth(tokens(125), {}, 'A0');
    // the tester's 20,000-alias query (~800 KB) is refused at once, long before a parse could end
    const huge = aliases(20000, 'runs(first: 200) { edges { cursor } }');
    expect(huge.length).toBeGreaterThan(800_000);
    for (const s of [main, open]) {
      const t0 = performance.now();
      const r = await post(s.srv, { query: huge });
      const ms = performance.now() - t0;
      expectCode(r, 400, 'query/too_complex');
      expect(r.body.errors?.[0].extensions?.limit).toBe('tokens');
      expect(ms).toBeLessThan(1000);
    }
    // the same over GET
    const get = await request(main.srv, `/graphql?operationName=A0&query=${encodeURIComponent(tokens(126))}`, { headers: { 'apollo-require-preflight': 'true' } });
    expectCode(get, 400, 'query/too_complex');
  });

  test('a limit\'s refusal comes first when the query breaks another rule too', async () => {
    const subs = `subscription { ${Array.from({ length: 16 }, (_, i) => `a${i}: runsChanged { id }`).join(' ')} }`;
    const http = await post(main.srv, { query: subs });
    expect(http.body.errors?.map((e) => e.extensions?.code)).toEqual(['query/too_complex', 'GRAPHQL_VALIDATION_FAILED']);
    expect((await overWs(main.srv, subs)).errors?.map((e) => e.extensions?.code)).toEqual(['query/too_complex', 'GRAPHQL_VALIDATION_FAILED']);
  });

  test('directives (MAX_DIRECTIVES, 10)', async () => {
    const e = await refusedOnBoth(directives(11), 'directives');
    expect(e.message).toBe('query too complex: 11 directives, the limit is 10 (MAX_DIRECTIVES)');
    await allowedOnBoth(directives(10));
  });

  test('introspection off: __schema and __type refused once with their code, __typename allowed, no schema suggestions', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Run") { name } }', getIntrospectionQuery()]) {
      const http = await post(main.srv, { query });
      const e = expectCode(http, 400, 'query/introspection_disabled');
      expect(http.body.errors).toHaveLength(1);
      expect(e.message).toMatch(/introspection is disabled/);
      const ws = await overWs(main.srv, query);
      expect(ws.errors?.[0]).toMatchObject({ message: e.message, extensions: { code: 'query/introspection_disabled' } });
    }
    const tn = await post(main.srv, { query: '{ __typename packs { __typename } }' });
    expect(tn.body).toEqual({ data: { __typename: 'Query', packs: expect.any(Array) } });
    expect((await overWs(main.srv, '{ __typename }')).data).toEqual({ __typename: 'Query' });
    const typo = expectCode(await post(main.srv, { query: '{ pakcs { name } }' }), 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(typo.message).toBe('Cannot query field "pakcs" on type "Query".');
    expect((await overWs(main.srv, '{ pakcs { name } }')).errors?.[0].message).toBe('Cannot query field "pakcs" on type "Query".');
  });

  test('introspection on: the standard introspection query passes on both (exempt from depth and cost, not from tokens)', async () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    const http = await post(open.srv, { query });
    expect(http.status).toBe(200);
    expect(http.body.errors).toBeUndefined();
    expect((http.body.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(10);
    const ws = await overWs(open.srv, query);
    expect(ws.errors).toBeUndefined();
    // suggestions are shown while introspection is on
    expect((await post(open.srv, { query: '{ pakcs { name } }' })).body.errors?.[0].message).toMatch(/Did you mean "packs"\?/);
    // graphql-js's own rule bounds introspection's fan-out
    const fanOut = '{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }';
    expectCode(await post(open.srv, { query: fanOut }), 400, 'GRAPHQL_VALIDATION_FAILED');
  });
});

describe('WebSocket transport', () => {
  test('a message over WS_MAX_PAYLOAD_BYTES (256 KiB) closes the socket with 1009', async () => {
    const { ws } = await handshake(main.srv);
    const acked = new Promise<void>((resolve) => ws!.once('message', () => resolve()));
    ws!.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await acked;
    const closed = new Promise<number>((resolve) => ws!.once('close', (code) => resolve(code)));
    const consoleError = jest.spyOn(console, 'error');
    try {
      ws!.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ packs { name } }', variables: { pad: 'x'.repeat(256 * 1024) } } }));
      expect(await closed).toBe(1009);
      await new Promise((r) => setTimeout(r, 50));
      // the client's fault: not printed as an internal error with a stack
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
    }
    // a message under the limit is served
    expect((await overWs(main.srv, '{ packs { name } }', { pad: 'x'.repeat(200 * 1024) })).errors).toBeUndefined();
  });

  test('variable-coercion errors carry the code HTTP gives them', async () => {
    const query = 'query($first: Int!) { runs(first: $first) { edges { cursor } } }';
    const http = expectCode(await post(main.srv, { query, variables: { first: 'ten' } }), 400, 'BAD_USER_INPUT');
    const ws = await overWs(main.srv, query, { first: 'ten' });
    expect(ws.errors?.[0]).toMatchObject({ message: http.message, extensions: { code: 'BAD_USER_INPUT' } });
  });

  test('origins on the handshake: none, same-origin and listed open; any other gets 403 auth/origin_refused as JSON', async () => {
    for (const origin of [undefined, main.srv.url, ALLOWED]) {
      const r = await handshake(main.srv, origin);
      expect(r.ws).toBeDefined();
      r.ws!.close();
    }
    for (const origin of [EVIL, 'null', `http://127.0.0.1:1`]) {
      const r = await handshake(main.srv, origin);
      expect({ status: r.status, contentType: r.contentType }).toEqual({ status: 403, contentType: 'application/json' });
      expect(JSON.parse(r.text!)).toEqual({ error: { code: 'auth/origin_refused', message: expect.stringContaining('ALLOWED_ORIGINS') } });
    }
    // '*' allows any origin
    const any = await handshake(open.srv, EVIL);
    expect(any.ws).toBeDefined();
    any.ws!.close();
  });
});

describe('origins on HTTP (CORS)', () => {
  test('a preflight from a listed origin is answered 204 with the allowed headers, before auth and CSRF checks', async () => {
    const r = await request(main.srv, '/graphql', { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(r.headers.get('access-control-allow-headers')?.split(',').sort()).toEqual(['apollo-require-preflight', 'authorization', 'content-type', 'x-apollo-operation-name']);
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    const ok = await post(main.srv, { query: '{ packs { name } }' }, { origin: ALLOWED });
    expect([ok.status, ok.headers.get('access-control-allow-origin')]).toEqual([200, ALLOWED]);
    const same = await post(main.srv, { query: '{ packs { name } }' }, { origin: main.srv.url });
    expect(same.status).toBe(200);
    const any = await request(open.srv, '/graphql', { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
    expect([any.status, any.headers.get('access-control-allow-origin')]).toEqual([204, '*']);
  });

  test('a refused origin gets 403 auth/origin_refused: preflight, JSON POST, and a simple form POST that must not run', async () => {
    const pre = await request(main.srv, '/graphql', { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.body.errors?.[0].extensions?.code).toBe('auth/origin_refused');
    expectCode(await post(main.srv, { query: DELETE }, { origin: EVIL }), 403, 'auth/origin_refused');
    const form = await request(main.srv, '/graphql', { method: 'POST', headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${encodeURIComponent(TRANSLATE)}` });
    expectCode(form, 403, 'auth/origin_refused');
    const text = await request(main.srv, '/graphql', { method: 'POST', headers: { origin: EVIL, 'content-type': 'text/plain' }, body: JSON.stringify({ query: TRANSLATE, variables: { input: { task: 'tiny-adm', image: 'data:image/png;base64,AAAA' } } }) });
    expectCode(text, 403, 'auth/origin_refused');
    const get = await request(main.srv, `/graphql?query=${encodeURIComponent('{ packs { name } }')}`, { headers: { origin: EVIL } });
    expectCode(get, 403, 'auth/origin_refused');
  });

  test('the origin policy', () => {
    const p = originPolicy(['http://a.example']);
    expect(p.allows(undefined, 'h:1')).toBe(true);
    expect(p.allows('http://a.example', 'h:1')).toBe(true);
    expect(p.allows('http://h:1', 'h:1')).toBe(true);
    expect(p.allows('https://h:1', 'h:1')).toBe(true);
    expect(p.allows('http://h:2', 'h:1')).toBe(false);
    expect(p.allows('null', 'h:1')).toBe(false);
    expect(p.allows('http://b.example', undefined)).toBe(false);
    expect(originPolicy(['*']).allows('http://b.example', 'h:1')).toBe(true);
  });
});

/** Every malformed request: its status and code, JSON, no stack trace or path. */
function malformedRequests(name: string, server: () => Server): void {
  describe(`malformed requests (${name})`, () => {
    const srv = () => server().srv;

    test('bodies: not JSON, too large, not a GraphQL request', async () => {
      expectCode(await post(srv(), '{"query": '), 400, 'input/malformed_request');
      expectCode(await post(srv(), '{bad json'), 400, 'input/malformed_request');
      // maxImageBytes 100 000 here: the JSON body limit is 1.4 x that + 64 KiB, at least 1 MiB
      const big = await post(srv(), { query: '{ packs { name } }', variables: { pad: 'x'.repeat(1_100_000) } });
      expect(big.body).toEqual({ errors: [{ message: expect.stringMatching(/larger than \d+ bytes/), extensions: { code: 'input/too_large' } }] });
      expect(big.status).toBe(413);
      for (const body of ['[]', '[{"query":"{ packs { name } }"}]', '{}', '{"foo":1}', '{"query":5}', '{"query":"{ packs { name } }","variables":"x"}', '"a string"', '42']) {
        expectCode(await post(srv(), body), 400, 'input/malformed_request');
      }
      // a body the JSON parser does not take (text/plain without an Origin, e.g. curl): Apollo's CSRF check
      expectCode(await request(srv(), '/graphql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{ packs { name } }' }), 400, 'input/malformed_request');
      expectCode(await request(srv(), '/graphql', { method: 'POST', headers: { 'content-type': 'application/json; charset=latin-7' }, body: '{}' }), 415, 'input/malformed_request');
      // a GraphQL syntax error
      expectCode(await post(srv(), { query: '{ packs { name }' }), 400, 'GRAPHQL_PARSE_FAILED');
    });

    test('multipart: missing or bad operations/map, too many files, an oversized file', async () => {
      const send = (parts: [string, string | Blob, string?][]) => {
        const form = new FormData();
        for (const [k, v, f] of parts) if (typeof v === 'string') form.append(k, v);
        else form.append(k, v, f);
        return request(srv(), '/graphql', { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
      };
      const ops = JSON.stringify({ query: TRANSLATE, variables: { input: { task: 'tiny-adm', upload: null } } });
      const png = new Blob([Buffer.alloc(10)], { type: 'image/png' });
      const bad = [
        await send([['map', '{"0":["variables.input.upload"]}']]),
        await send([['operations', ops]]),
        await send([['operations', '{not json'], ['map', '{}']]),
        await send([['operations', ops], ['map', 'not json']]),
        await send([['operations', ops], ['map', '{"0":"variables.input.upload"}']]),
        await send([['0', png, 'a.png']]),
        // the map names a file the request does not carry: found when the resolver awaits it
        await send([['operations', ops], ['map', '{"0":["variables.input.upload"]}']]),
      ];
      for (const r of bad) {
        expectCode(r, 400, 'input/bad_multipart');
        expect(r.body.errors?.[0].message).toMatch(/^not a GraphQL multipart request: /);
      }
      const truncated = await request(srv(), '/graphql', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xyz', 'apollo-require-preflight': 'true' }, body: '--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":' });
      expectCode(truncated, 400, 'input/bad_multipart');
      const two = await send([['operations', ops], ['map', '{"0":["variables.input.upload"],"1":["variables.x"]}'], ['0', png, 'a.png'], ['1', png, 'b.png']]);
      expectCode(two, 413, 'input/too_large');
      // a file over MAX_IMAGE_BYTES: the resolver reading it refuses it, with its own code, before anything is written
      const huge = await send([['operations', ops], ['map', '{"0":["variables.input.upload"]}'], ['0', new Blob([Buffer.alloc(150_000)], { type: 'image/png' }), 'big.png']]);
      expect(huge.body.errors?.[0].extensions?.code).toBe('input/image_too_large');
      expectNoInternals(huge.text);
    });

    test('transport: a subscription over HTTP, GET (queries only), other methods', async () => {
      const sub = expectCode(await post(srv(), { query: 'subscription { runsChanged { id } }' }), 400, 'query/wrong_transport');
      expect(sub.message).toMatch(/WebSocket/);
      const q = encodeURIComponent('{ packs { name } }');
      const get = await request(srv(), `/graphql?query=${q}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect([get.status, get.body.errors]).toEqual([200, undefined]);
      expectCode(await request(srv(), `/graphql?query=${encodeURIComponent(DELETE)}`, { headers: { 'apollo-require-preflight': 'true' } }), 405, 'query/wrong_transport');
      // a GET without a preflight-forcing header: Apollo's CSRF prevention
      expectCode(await request(srv(), `/graphql?query=${q}`), 400, 'input/malformed_request');
      expectCode(await request(srv(), '/graphql', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' }), 405, 'query/wrong_transport');
      expectCode(await request(srv(), '/graphql', { method: 'DELETE', headers: { 'content-type': 'application/json' } }), 405, 'query/wrong_transport');
      // without a content-type Apollo's CSRF check answers first
      expectCode(await request(srv(), '/graphql', { method: 'DELETE' }), 400, 'input/malformed_request');
    });

    test('unknown routes: 404 JSON with a code', async () => {
      for (const p of ['/nope', '/artifacts', '/graphqlx', '/healthz/x']) {
        const r = await request(srv(), p);
        expect([r.status, r.body.error?.code]).toEqual([404, 'input/invalid']);
        expectNoInternals(r.text);
      }
      const r = await request(srv(), '/graphql/sub', { method: 'POST' });
      expectCode(r, 404, 'input/invalid');
      const artifact = await request(srv(), `/artifacts/${'a'.repeat(64)}.png`);
      expect([artifact.status, artifact.body.error?.code]).toEqual([403, 'auth/bad_signature']);
    });
  });
}

malformedRequests('production-like', () => main);
malformedRequests('NODE_ENV=development', () => dev);

describe('health', () => {
  test('/livez: the process answers', async () => {
    for (const s of [main, broken]) expect(await request(s.srv, '/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  test('/readyz: 200 with every check ok; 503 naming the check when the storage is not writable', async () => {
    expect(await request(main.srv, '/readyz')).toMatchObject({ status: 200, body: { status: 'ready', checks: { database: 'ok', storage: 'ok', queue: 'ok' } } });
    const r = await request(broken.srv, '/readyz');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: 'unavailable', checks: { database: 'ok', storage: 'unwritable', queue: 'ok' }, failed: ['storage'], error: { code: 'server/unavailable' } });
    expectNoInternals(r.text);
  });

  test('/healthz says degraded while the storage is not writable', async () => {
    expect(await request(main.srv, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok', queue: 'ok', storage: 'ok' } });
    expect(await request(broken.srv, '/healthz')).toMatchObject({ status: 200, body: { status: 'degraded', queue: 'ok', storage: 'unwritable' } });
  });

  test('a local disk with less than the minimum free is full', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-transport-free-'));
    expect(await localStorageState(dir, 0)).toBe('ok');
    expect(await localStorageState(dir, Number.MAX_SAFE_INTEGER)).toBe('full');
  });
});

test('none of the above wrote a run or a file', async () => {
  for (const s of [main, open, dev, broken]) {
    expect(await runCount(s.srv)).toBe(s.runs0);
    expect(countFiles(s.artifacts)).toBe(s.files0);
  }
  expect(main.runs0).toBe(0);
});
