/**
 * The bad-input corpus: over a hundred distinct requests a careless or hostile client could send,
 * over HTTP and WebSocket, across images, parameters, pagination, ids, query shape and size,
 * transport, auth, origin and quotas. Each must be answered with its code (and HTTP status where
 * there is one), show no stack trace or server path, and write nothing: rows in every table and
 * files in the artifacts folder are counted before and after the whole corpus.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { BACKENDS, clientAs, countFiles, createKeys, pngDataUrl, startServer, testConfig, type Running } from './helpers/server-harness';
import { openDatabase, type Database } from '../src/db/client';
import { PrismaApiKeyStore } from '../src/adapters/prisma/api-key-store';

const TRANSLATE = 'mutation($input: TranslateInput!) { translate(input: $input) { id status } }';
const GET = 'query($id: ID!) { run(id: $id) { id } }';
const MAX_IMAGE_BYTES = 200_000;

interface Answer {
  status?: number;
  code?: string;
  /** the raw text of an HTTP answer, checked for leaks */
  text?: string;
}

interface Case {
  name: string;
  send: () => Promise<Answer>;
  code: string;
  status?: number;
}

const LEAK = /\bat [\w.<>]+ \(|node_modules|\/work\/|\/src\/|"stack"|stacktrace/i;

async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let code: string | undefined;
  try {
    code = codeOfBody(JSON.parse(text));
  } catch {
    code = `not JSON: ${text.slice(0, 60)}`;
  }
  return { status: res.status, code, text };
}

function codeOfBody(body: unknown): string | undefined {
  const b = body as { errors?: { extensions?: { code?: string } }[]; error?: { code?: string } };
  return b?.errors?.[0]?.extensions?.code ?? b?.error?.code;
}

describe('bad-input corpus', () => {
  let srv: Running;
  let full: Running;
  let db: Database;
  let cleanupDb: () => Promise<void>;
  let artifacts: string;
  let keys: Record<string, string>;
  let image: string;
  let queuedRunId: string;
  let otherRunId: string;
  const cases: Case[] = [];

  beforeAll(async () => {
    const u = await BACKENDS[0]!.setup();
    cleanupDb = u.cleanup;
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-bad-'));
    db = await openDatabase(u.url);
    keys = await createKeys(db, [
      { name: 'alice', scope: 'user' },
      { name: 'bob', scope: 'user' },
      { name: 'empty', scope: 'user', ratePerMinute: 0.001, burst: 1 },
      { name: 'busy', scope: 'user', maxActive: 1 },
      { name: 'revoked', scope: 'user' },
    ]);
    await new PrismaApiKeyStore(db.prisma).revoke('revoked');
    // ENGINE=off: runs stay queued, so the run count is stable
    const over = { engine: 'off' as const, authCacheMs: 0, maxImageBytes: MAX_IMAGE_BYTES, maxImagePixels: 300 * 300, maxTotalSteps: 50, maxQueryDepth: 4, introspection: false, allowedOrigins: ['http://good.example'] };
    srv = await startServer(testConfig(u.url, artifacts, over));
    full = await startServer(testConfig(u.url, artifacts, { ...over, maxQueued: 0 }));
    image = await pngDataUrl(64, 5);
    const as = (k: string) => clientAs(srv.url, keys[k]);
    // the state the corpus refers to: a queued run of alice, one of bob, busy at its limit, empty's token spent
    queuedRunId = (await as('alice').gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 3 } } })).data!.translate.id;
    otherRunId = (await as('bob').gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 3 } } })).data!.translate.id;
    expect((await as('busy').gql(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 3 } } })).errors).toBeUndefined();
    expect((await as('empty').gql(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 3 } } })).errors).toBeUndefined();
  }, 120000);
  afterAll(async () => {
    await srv?.close();
    await full?.close();
    await db?.close();
    await cleanupDb?.();
  });

  /** 'OTHER' and 'QUEUED' in variables stand for bob's run and alice's queued run */
  const ids = (v: Record<string, unknown>) => JSON.parse(JSON.stringify(v), (_k, x: unknown) => (x === 'OTHER' ? otherRunId : x === 'QUEUED' ? queuedRunId : x)) as Record<string, unknown>;
  /** one GraphQL request over HTTP as `who` */
  const http = (query: string, variables: Record<string, unknown> = {}, who: string | null = 'alice', target = () => srv) => async (): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (who) headers.authorization = `Bearer ${keys[who] ?? who}`;
    const res = await fetch(`${target().url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables: ids(variables) }) });
    return answerOf(res);
  };
  /** a raw HTTP request */
  const raw = (init: RequestInit & { path?: string }) => async (): Promise<Answer> => {
    return answerOf(await fetch(`${srv.url}${init.path ?? '/graphql'}`, init));
  };
  /** one operation over WebSocket as `who`: the first error's code, or the close code */
  const ws = (query: string, variables: Record<string, unknown> = {}, who: string | null = 'alice') => async (): Promise<Answer> => {
    const r = await clientAs(srv.url, who ? (keys[who] ?? who) : undefined).subscribe(query, ids(variables), 1);
    const err = r.error as { extensions?: { code?: string } }[] | { code?: number; reason?: string } | undefined;
    if (Array.isArray(err)) return { code: err[0]?.extensions?.code, text: JSON.stringify(err) };
    if (r.closeCode && r.closeCode !== 1000) return { code: `close ${r.closeCode}`, text: r.closeReason };
    return { code: r.events.length ? 'answered' : 'nothing' };
  };
  const input = (over: Record<string, unknown>) => ({ input: { task: 'tiny-adm', image, ...over } });
  const params = (p: Record<string, unknown>) => input({ params: { M: 3, ...p } });
  const dataUrl = (mime: string, bytes: Buffer) => `data:${mime};base64,${bytes.toString('base64')}`;

  test('every request is answered with its code and writes nothing', async () => {
    const big = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#336699' } }).png().toBuffer();
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).gif().toBuffer();
    const tiff = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).tiff().toBuffer();
    const png = Buffer.from(image.split(',')[1]!, 'base64');
    const huge = Buffer.alloc(MAX_IMAGE_BYTES + 10, 1);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>');
    const add = (name: string, code: string, send: () => Promise<Answer>, status?: number) => cases.push({ name, code, send, status });

    // ---- images (HTTP)
    add('unknown task', 'input/unknown_task', http(TRANSLATE, input({ task: 'no-such-task' })));
    add('empty task', 'input/unknown_task', http(TRANSLATE, input({ task: '' })));
    add('base64 garbage', 'input/image_undecodable', http(TRANSLATE, input({ image: 'data:image/png;base64,AAAAAAAA' })));
    add('not a data URL', 'input/image_undecodable', http(TRANSLATE, input({ image: 'not a data url' })));
    add('empty data URL', 'input/image_missing', http(TRANSLATE, input({ image: 'data:image/png;base64,' })));
    add('truncated PNG', 'input/image_undecodable', http(TRANSLATE, input({ image: dataUrl('image/png', png.subarray(0, 60)) })));
    add('too many pixels', 'input/image_too_large', http(TRANSLATE, input({ image: dataUrl('image/png', big) })));
    add('too many bytes', 'input/image_too_large', http(TRANSLATE, input({ image: dataUrl('image/png', huge) })));
    add('GIF', 'input/image_unsupported_format', http(TRANSLATE, input({ image: dataUrl('image/gif', gif) })));
    add('TIFF', 'input/image_unsupported_format', http(TRANSLATE, input({ image: dataUrl('image/tiff', tiff) })));
    add('SVG', 'input/image_unsupported_format', http(TRANSLATE, input({ image: dataUrl('image/svg+xml', svg) })));
    add('text mime', 'input/image_unsupported_format', http(TRANSLATE, input({ image: dataUrl('text/plain', Buffer.from('hello')) })));
    add('no image', 'input/image_missing', http(TRANSLATE, input({ image: null })));
    add('image not a string', 'BAD_USER_INPUT', http(TRANSLATE, input({ image: 42 })));
    add('no task', 'BAD_USER_INPUT', http(TRANSLATE, { input: { image } }));
    add('input not an object', 'BAD_USER_INPUT', http(TRANSLATE, { input: 'x' }));
    add('no input', 'BAD_USER_INPUT', http(TRANSLATE, {}));
    // ---- parameters
    add('M 0', 'input/params_out_of_range', http(TRANSLATE, params({ M: 0 })));
    add('M negative', 'input/params_out_of_range', http(TRANSLATE, params({ M: -1 })));
    add('M past T', 'input/params_out_of_range', http(TRANSLATE, params({ M: 5000 })));
    add('M a word', 'BAD_USER_INPUT', http(TRANSLATE, params({ M: 'ten' })));
    add('M a fraction', 'BAD_USER_INPUT', http(TRANSLATE, params({ M: 1.5 })));
    add('M over 32 bits', 'BAD_USER_INPUT', http(TRANSLATE, params({ M: 2 ** 40 })));
    add('steps 0', 'input/params_out_of_range', http(TRANSLATE, params({ steps: 0 })));
    add('steps over M', 'input/params_out_of_range', http(TRANSLATE, params({ steps: 9 })));
    add('lambdaS negative', 'input/params_out_of_range', http(TRANSLATE, params({ lambdaS: -1 })));
    add('lambdaS huge', 'input/params_out_of_range', http(TRANSLATE, params({ lambdaS: 1e7 })));
    add('lambdaI a word', 'BAD_USER_INPUT', http(TRANSLATE, params({ lambdaI: 'x' })));
    add('unstable lambdaI', 'input/params_out_of_range', http(TRANSLATE, input({ params: { M: 500, steps: 5, lambdaI: 500 } })));
    add('unknown energy', 'BAD_USER_INPUT', http(TRANSLATE, params({ s1: 'bogus' })));
    add('unknown sampler', 'BAD_USER_INPUT', http(TRANSLATE, params({ sampler: 'GAN' })));
    add('seed negative', 'input/params_out_of_range', http(TRANSLATE, params({ seed: -1 })));
    add('seed fraction', 'BAD_USER_INPUT', http(TRANSLATE, params({ seed: 1.5 })));
    add('seed 33 bits', 'input/params_out_of_range', http(TRANSLATE, params({ seed: '4294967296' })));
    add('seed a word', 'BAD_USER_INPUT', http(TRANSLATE, params({ seed: 'abc' })));
    add('repeats 0', 'input/params_out_of_range', http(TRANSLATE, params({ repeats: 0 })));
    add('repeats 101', 'input/params_out_of_range', http(TRANSLATE, params({ repeats: 101 })));
    add('previewEvery negative', 'input/params_out_of_range', http(TRANSLATE, params({ previewEvery: -1 })));
    add('unknown parameter', 'BAD_USER_INPUT', http(TRANSLATE, params({ foo: 1 })));
    add('100,000 steps', 'quota/too_many_steps', http(TRANSLATE, input({ params: { M: 1000, steps: 1000, repeats: 100 } })));
    add('steps x repeats over the limit', 'quota/too_many_steps', http(TRANSLATE, input({ params: { M: 30, steps: 30, repeats: 2 } })));
    // ---- pagination
    const RUNS = (args: string) => `{ runs(${args}) { edges { cursor } } }`;
    add('first 0', 'input/invalid', http(RUNS('first: 0')));
    add('first 201', 'input/invalid', http(RUNS('first: 201')));
    add('first negative', 'input/invalid', http(RUNS('first: -5')));
    add('first a word', 'GRAPHQL_VALIDATION_FAILED', http(RUNS('first: "x"')));
    add('cursor garbage', 'input/bad_cursor', http(RUNS('first: 2, after: "garbage!"')));
    add('cursor of wrong JSON', 'input/bad_cursor', http(RUNS(`first: 2, after: "${Buffer.from('{"a":1}').toString('base64url')}"`)));
    add('cursor empty', 'input/bad_cursor', http(RUNS('first: 2, after: ""')));
    add('createdAfter not a date', 'BAD_USER_INPUT', http('query($d: DateTimeISO) { runs(filter: { createdAfter: $d }) { edges { cursor } } }', { d: 'yesterday' }));
    add('status filter unknown', 'GRAPHQL_VALIDATION_FAILED', http(RUNS('filter: { status: BOGUS }')));
    add('status variable unknown', 'BAD_USER_INPUT', http('query($s: RunStatus) { runs(filter: { status: $s }) { edges { cursor } } }', { s: 'BOGUS' }));
    // ---- ids
    add('unknown run', 'run/not_found', http(GET, { id: 'nope' }));
    add('empty id', 'run/not_found', http(GET, { id: '' }));
    add('long id', 'run/not_found', http(GET, { id: 'x'.repeat(5000) }));
    add('another owner\'s run', 'run/not_found', http(GET, { id: 'OTHER' }));
    add('cancel unknown', 'run/not_found', http('mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: 'nope' }));
    add('cancel another owner\'s run', 'run/not_found', http('mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: 'OTHER' }));
    add('delete unknown', 'run/not_found', http('mutation($id: ID!) { deleteRun(id: $id) }', { id: 'nope' }));
    add('delete a queued run', 'run/not_deletable', http('mutation($id: ID!) { deleteRun(id: $id) }', { id: 'QUEUED' }));
    add('delete another owner\'s run', 'run/not_found', http('mutation($id: ID!) { deleteRun(id: $id) }', { id: 'OTHER' }));
    add('id an object', 'BAD_USER_INPUT', http(GET, { id: { a: 1 } }));
    // ---- query shape
    add('syntax error', 'GRAPHQL_PARSE_FAILED', http('{ runs( }'));
    add('unknown field', 'GRAPHQL_VALIDATION_FAILED', http('{ nope }'));
    add('missing argument', 'GRAPHQL_VALIDATION_FAILED', http('{ run { id } }'));
    add('undefined variable', 'GRAPHQL_VALIDATION_FAILED', http('{ run(id: $x) { id } }'));
    add('wrong variable type', 'GRAPHQL_VALIDATION_FAILED', http('query($id: Int!) { run(id: $id) { id } }', { id: 1 }));
    add('fragment cycle', 'GRAPHQL_VALIDATION_FAILED', http('query { packs { ...A } } fragment A on Pack { name ...B } fragment B on Pack { ...A }'));
    add('two operations, no name', 'OPERATION_RESOLUTION_FAILURE', http('query A { packs { name } } query B { packs { name } }'));
    add('too many aliases', 'query/too_complex', http(`{ ${Array.from({ length: 16 }, (_, i) => `a${i}: packs { name }`).join(' ')} }`));
    add('20,000 aliases', 'query/too_complex', http(`{ ${Array.from({ length: 20000 }, (_, i) => `a${i}: packs { name }`).join(' ')} }`));
    add('too deep', 'query/too_complex', http('{ runs { edges { node { params { M } } } } }'));
    add('too costly', 'query/too_complex', http(`{ ${Array.from({ length: 12 }, (_, i) => `a${i}: runs(first: 200) { edges { node { id params { M steps } metrics { l2 } timings { runMs } error { code } } } }`).join(' ')} }`));
    add('too many tokens', 'query/too_complex', http(`{ packs { ${Array.from({ length: 1200 }, () => 'name').join(' ')} } }`));
    add('too many directives', 'query/too_complex', http(`{ packs { name ${Array.from({ length: 12 }, () => '@include(if: true)').join(' ')} } }`));
    add('introspection (disabled)', 'query/introspection_disabled', http('{ __schema { types { name } } }'));
    add('__type (disabled)', 'query/introspection_disabled', http('{ __type(name: "Run") { name } }'));
    add('subscription over HTTP', 'query/wrong_transport', http('subscription { runsChanged { id } }'));
    // ---- size and transport (raw HTTP)
    const json = { 'content-type': 'application/json' };
    const withKey = (h: Record<string, string>) => ({ ...h, authorization: `Bearer ${keys.alice}` });
    add('malformed JSON', 'input/malformed_request', raw({ method: 'POST', headers: withKey(json), body: '{"query": ' }), 400);
    add('JSON array', 'input/malformed_request', raw({ method: 'POST', headers: withKey(json), body: '[1,2]' }), 400);
    add('JSON without query', 'input/malformed_request', raw({ method: 'POST', headers: withKey(json), body: '{"variables": {}}' }), 400);
    add('query not a string', 'input/malformed_request', raw({ method: 'POST', headers: withKey(json), body: '{"query": 42}' }), 400);
    add('variables not an object', 'input/malformed_request', raw({ method: 'POST', headers: withKey(json), body: '{"query": "{ packs { name } }", "variables": 5}' }), 400);
    add('oversized body', 'input/too_large', raw({ method: 'POST', headers: withKey(json), body: JSON.stringify({ query: TRANSLATE, variables: { input: { task: 'tiny-adm', image: `data:image/png;base64,${'A'.repeat(2_000_000)}` } } }) }), 413);
    add('text/plain body (CSRF)', 'input/malformed_request', raw({ method: 'POST', headers: withKey({ 'content-type': 'text/plain' }), body: '{"query":"mutation { deleteRun(id: \\"x\\") }"}' }), 400);
    add('GET without a query', 'input/malformed_request', raw({ method: 'GET', headers: withKey({ 'apollo-require-preflight': '1' }) }), 400);
    add('mutation over GET', 'query/wrong_transport', raw({ method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { deleteRun(id: "x") }')}`, headers: withKey({ 'apollo-require-preflight': '1' }) }), 405);
    add('PUT /graphql', 'query/wrong_transport', raw({ method: 'PUT', headers: withKey(json), body: '{"query":"{ packs { name } }"}' }), 405);
    add('unknown route', 'input/invalid', raw({ method: 'GET', path: '/nope' }), 404);
    const multipart = (parts: [string, string | Blob, string?][]) => {
      const form = new FormData();
      for (const [k, v, name] of parts) typeof v === 'string' ? form.append(k, v) : form.append(k, v, name);
      return raw({ method: 'POST', body: form, headers: withKey({ 'apollo-require-preflight': 'true' }) });
    };
    const ops = JSON.stringify({ query: TRANSLATE, variables: { input: { task: 'tiny-adm', upload: null } } });
    add('multipart without map', 'input/bad_multipart', multipart([['operations', ops]]), 400);
    add('multipart bad operations JSON', 'input/bad_multipart', multipart([['operations', '{oops'], ['map', '{}']]), 400);
    add('multipart bad map JSON', 'input/bad_multipart', multipart([['operations', ops], ['map', '{oops']]), 400);
    add('multipart file missing', 'input/bad_multipart', multipart([['operations', ops], ['map', JSON.stringify({ 0: ['variables.input.upload'] })]]), 400);
    add('multipart file too large', 'input/image_too_large', multipart([['operations', ops], ['map', JSON.stringify({ 0: ['variables.input.upload'] })], ['0', new Blob([huge], { type: 'image/png' }), 'big.png']]));
    add('multipart upload of a non-image', 'input/image_undecodable', multipart([['operations', ops], ['map', JSON.stringify({ 0: ['variables.input.upload'] })], ['0', new Blob([Buffer.from('hello')], { type: 'image/png' }), 'x.png']]));
    add('multipart upload and image both', 'input/image_missing', multipart([['operations', JSON.stringify({ query: TRANSLATE, variables: { input: { task: 'tiny-adm', image, upload: null } } })], ['map', JSON.stringify({ 0: ['variables.input.upload'] })], ['0', new Blob([png], { type: 'image/png' }), 'x.png']]));
    // ---- auth
    add('no key', 'auth/unauthenticated', http('{ packs { name } }', {}, null), 401);
    add('wrong key', 'auth/unauthenticated', http('{ packs { name } }', {}, 'egsde_wrong'), 401);
    add('revoked key', 'auth/unauthenticated', http('{ packs { name } }', {}, 'revoked'), 401);
    add('Basic auth', 'auth/unauthenticated', raw({ method: 'POST', headers: { ...json, authorization: 'Basic YWxpY2U6eA==' }, body: '{"query":"{ packs { name } }"}' }), 401);
    add('empty bearer', 'auth/unauthenticated', raw({ method: 'POST', headers: { ...json, authorization: 'Bearer ' }, body: '{"query":"{ packs { name } }"}' }), 401);
    add('translate without a key', 'auth/unauthenticated', http(TRANSLATE, input({}), null), 401);
    add('WebSocket without a key', 'close 4401', ws('subscription { runsChanged { id } }', {}, null));
    add('WebSocket with a wrong key', 'close 4401', ws('subscription { runsChanged { id } }', {}, 'egsde_wrong'));
    add('WebSocket with a revoked key', 'close 4401', ws('subscription { runsChanged { id } }', {}, 'revoked'));
    // ---- origin
    add('POST from a refused origin', 'auth/origin_refused', raw({ method: 'POST', headers: withKey({ ...json, origin: 'http://evil.example' }), body: '{"query":"{ packs { name } }"}' }), 403);
    add('form POST from a refused origin', 'auth/origin_refused', raw({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' }, body: 'query=mutation' }), 403);
    add('WebSocket from a refused origin', 'auth/origin_refused', async () => {
      const sock = new WebSocket(`${srv.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers: { origin: 'http://evil.example' } });
      return new Promise<Answer>((resolve) => {
        sock.on('unexpected-response', (_req, res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => {
            let code: string | undefined;
            try {
              code = codeOfBody(JSON.parse(text));
            } catch {
              code = `not JSON: ${text.slice(0, 60)}`;
            }
            resolve({ status: res.statusCode, code, text });
          });
        });
        sock.on('open', () => {
          sock.close();
          resolve({ code: 'opened' });
        });
        sock.on('error', () => undefined);
      });
    }, 403);
    // ---- image URLs
    const signed = srv.app.services.urls.url(`${'ab'.repeat(32)}.png`);
    add('image URL unsigned', 'auth/bad_signature', raw({ method: 'GET', path: `/artifacts/${'ab'.repeat(32)}.png` }), 403);
    add('image URL tampered', 'auth/bad_signature', raw({ method: 'GET', path: signed.replace(/sig=./, (m) => (m === 'sig=A' ? 'sig=B' : 'sig=A')) }), 403);
    add('image URL exp edited', 'auth/bad_signature', raw({ method: 'GET', path: signed.replace(/exp=\d/, 'exp=9') }), 403);
    add('image URL with a path', 'auth/bad_signature', raw({ method: 'GET', path: '/artifacts/..%2F..%2Fetc%2Fpasswd?exp=1&sig=x' }), 403);
    add('image URL signed, no such image', 'storage/not_found', raw({ method: 'GET', path: signed }), 404);
    // ---- quotas
    add('rate limited', 'quota/rate_limited', http(TRANSLATE, input({ params: { M: 3 } }), 'empty'));
    add('too many active', 'quota/too_many_active', http(TRANSLATE, input({ params: { M: 3 } }), 'busy'));
    add('queue full', 'server/queue_full', http(TRANSLATE, input({ params: { M: 3 } }), 'alice', () => full));
    // ---- WebSocket operations
    add('WS syntax error', 'GRAPHQL_PARSE_FAILED', ws('subscription { runsChanged( }'));
    add('WS unknown field', 'GRAPHQL_VALIDATION_FAILED', ws('subscription { nope }'));
    add('WS variable coercion', 'BAD_USER_INPUT', ws('subscription($id: ID!) { runEvents(id: $id) { seq } }', { id: { a: 1 } }));
    add('WS missing variable', 'BAD_USER_INPUT', ws('subscription($id: ID!) { runEvents(id: $id) { seq } }', {}));
    add('WS unknown run', 'run/not_found', ws('subscription($id: ID!) { runEvents(id: $id) { seq } }', { id: 'nope' }));
    add('WS another owner\'s run', 'run/not_found', ws('subscription($id: ID!) { runEvents(id: $id) { seq } }', { id: 'OTHER' }));
    add('WS too many aliases', 'query/too_complex', ws(`subscription { ${Array.from({ length: 16 }, (_, i) => `a${i}: runsChanged { id }`).join(' ')} }`));
    add('WS 5,000 aliases', 'query/too_complex', ws(`query { ${Array.from({ length: 5000 }, (_, i) => `a${i}: packs { name }`).join(' ')} }`));
    add('WS too many tokens', 'query/too_complex', ws(`query { packs { ${Array.from({ length: 1200 }, () => 'name').join(' ')} } }`));
    add('WS introspection (disabled)', 'query/introspection_disabled', ws('query { __schema { types { name } } }'));
    add('WS translate with a bad image', 'input/image_undecodable', ws(TRANSLATE, input({ image: 'data:image/png;base64,AAAA' })));
    add('WS translate of an unknown task', 'input/unknown_task', ws(TRANSLATE, input({ task: 'nope' })));
    add('WS translate rate limited', 'quota/rate_limited', ws(TRANSLATE, input({ params: { M: 3 } }), 'empty'));
    add('WS message over the payload limit', 'close 1009', ws(`query { packs { name } } # ${'x'.repeat(300 * 1024)}`));

    const counts = async () => ({
      runs: await db.prisma.run.count(),
      events: await db.prisma.runEvent.count(),
      refs: await db.prisma.artifactRef.count(),
      keys: await db.prisma.apiKey.count(),
      artifactRows: await db.prisma.artifact.count(),
      files: countFiles(artifacts),
    });
    const before = await counts();
    const names = new Set<string>();
    const wrong: string[] = [];
    for (const c of cases) {
      expect(names.has(c.name)).toBe(false);
      names.add(c.name);
      const a = await c.send();
      const got = `${a.code}${c.status !== undefined ? ` ${a.status}` : ''}`;
      const want = `${c.code}${c.status !== undefined ? ` ${c.status}` : ''}`;
      if (got !== want) wrong.push(`${c.name}: got ${got}, want ${want}`);
      if (a.text && LEAK.test(a.text)) wrong.push(`${c.name}: leaks ${a.text.match(LEAK)![0]}`);
    }
    expect(wrong).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(await counts()).toEqual(before);
  }, 180000);
});
