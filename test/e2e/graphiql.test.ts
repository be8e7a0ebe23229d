/**
 * The offline GraphQL IDE at GET /graphql (web/graphiql, served by src/http/web.ts), in a real
 * Chromium against a real server: it renders with nothing fetched from outside 127.0.0.1 (every
 * other request is blocked and recorded, and the test fails if one was attempted), runs a query
 * over HTTP and a subscription over graphql-ws, and sends the headers editor's Authorization on
 * both transports. JSON clients at the same URL are unaffected.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshotDir } from '../helpers/browser';
import { BACKENDS, pngDataUrl, Running, startServer, testConfig } from '../helpers/server-harness';
import { ensureBundleBuilt, GRAPHIQL_BUNDLE, offlinePage, type OfflinePage } from './web-helpers';

const TOKEN = 'operator-secret-123';
/** a loaded 2-core machine: the bundle parses slowly, the engine shares the CPUs */
const WAIT = 60000;

let shotsDir: string | undefined;
/** the screenshots' folder, made (and printed) once for the file */
const shots = (): string => (shotsDir ??= screenshotDir('graphiql'));

const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;

/** Waits for the IDE's editors (CodeMirror 5) to exist. */
async function openIde(page: Page, url: string): Promise<void> {
  const res = await page.goto(`${url}/graphql`, { waitUntil: 'load', timeout: WAIT });
  expect(res?.status()).toBe(200);
  await page.locator('.graphiql-container').waitFor({ timeout: WAIT });
  await page.waitForFunction("!!document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror", undefined, { timeout: WAIT });
}

/** An editor's content, set as a user's paste would (CodeMirror's own API: no auto-closed brackets). */
async function setEditor(page: Page, selector: string, text: string): Promise<void> {
  await page.evaluate(`document.querySelector(${JSON.stringify(`${selector} .CodeMirror`)}).CodeMirror.setValue(${JSON.stringify(text)})`);
}

async function run(page: Page, query: string): Promise<void> {
  await setEditor(page, '.graphiql-query-editor', query);
  // GraphiQL takes in an edit 100 ms later (debounced): it stores the query, then works out the
  // operation's name in the same call; a click before that would run the old operation name
  await page.waitForFunction(`localStorage.getItem('graphiql:query') === ${JSON.stringify(query)}`, undefined, { timeout: WAIT });
  // a subscription still running shows a stop button in the same place: wait for the run button
  await page.locator('.graphiql-execute-button[aria-label^="Execute"]').waitFor({ timeout: WAIT });
  await page.locator('.graphiql-execute-button').click();
}

async function resultContains(page: Page, text: string): Promise<void> {
  await page.locator('.result-window', { hasText: text }).waitFor({ timeout: WAIT });
}

async function resultText(page: Page): Promise<string> {
  return (await page.locator('.result-window').textContent()) ?? '';
}

/** A server over a fresh SQLite file (settings `over` on top of testConfig's) and a browser, for the describe it is called in. */
function serverAndBrowser(over: Parameters<typeof testConfig>[2] = {}): { readonly srv: Running; readonly browser: Browser } {
  const env = {} as { srv: Running; browser: Browser };
  let cleanupDb: () => Promise<void>;
  let artifacts: string;

  beforeAll(async () => {
    ensureBundleBuilt(GRAPHIQL_BUNDLE, { onlyWhenMissing: true });
    const db = await sqlite.setup();
    cleanupDb = db.cleanup;
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-art-'));
    env.srv = await startServer(testConfig(db.url, artifacts, over));
    env.browser = await launchBrowser();
  }, 120000);
  afterAll(async () => {
    await env.browser?.close();
    await env.srv?.close();
    await cleanupDb?.();
    if (artifacts) fs.rmSync(artifacts, { recursive: true, force: true });
  });
  return env;
}

/**
 * Opens the IDE at `url` on an offline page, runs `body` on it, then requires that no page error
 * and no off-site request happened. On a failure, screenshots `failureShot` and logs what the page
 * saw; the page's context is closed either way.
 */
async function inOfflineIde(browser: Browser, url: string, failureShot: string, body: (page: Page) => Promise<void>): Promise<void> {
  const { page, offsite, pageErrors, close }: OfflinePage = await offlinePage(browser, { width: 1400, height: 900 });
  try {
    await openIde(page, url);
    await body(page);
    expect(pageErrors).toEqual([]);
    expect(offsite).toEqual([]);
  } catch (e) {
    await page.screenshot({ path: path.join(shots(), failureShot) }).catch(() => {});
    console.log(`failed: page errors ${JSON.stringify(pageErrors)}, off-site requests ${JSON.stringify(offsite)}, result pane ${JSON.stringify(await resultText(page).catch(() => '?'))}`);
    throw e;
  } finally {
    await close();
  }
}

describe('the GraphQL IDE at GET /graphql (SQLite, engine embedded)', () => {
  const env = serverAndBrowser();

  test('JSON clients at /graphql are unaffected; a browser gets the IDE page, its assets cached', async () => {
    const { srv } = env;
    const post = await fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ packs { name } }' }) });
    expect(post.status).toBe(200);
    const body = (await post.json()) as { data?: { packs: { name: string }[] } };
    expect(body.data?.packs.map((p) => p.name)).toContain('tiny-adm');

    // GET without Accept: text/html reaches Apollo (which asks a GET without a query for one)
    const plain = await fetch(`${srv.url}/graphql`);
    expect(plain.headers.get('content-type') ?? '').not.toContain('text/html');
    expect(await plain.text()).not.toContain('<div id="root">');

    // GET with ?query= reaches Apollo, even from a browser's Accept header
    for (const accept of ['application/json', 'text/html,application/xhtml+xml,*/*;q=0.8']) {
      const get = await fetch(`${srv.url}/graphql?query=${encodeURIComponent('{ packs { name } }')}`, { headers: { accept, 'apollo-require-preflight': 'true' } });
      expect(get.headers.get('content-type') ?? '').not.toContain('text/html');
      expect(((await get.json()) as { data?: { packs: { name: string }[] } }).data?.packs.map((p) => p.name)).toContain('tiny-adm');
    }

    const page = await fetch(`${srv.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const a of assets) {
      expect(a.startsWith('/graphiql/assets/')).toBe(true);
      const r = await fetch(`${srv.url}${a}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toContain('immutable');
      await r.arrayBuffer();
    }
  });

  test('renders offline, runs a query over HTTP and a subscription over the WebSocket', async () => {
    await inOfflineIde(env.browser, env.srv.url, 'failure.png', async (page) => {
      // the default query shows the service; the schema loads by introspection (the docs explorer knows Query)
      expect(await page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")).toContain('packs');
      await page.locator('[aria-label="Show Documentation Explorer"]').click();
      await page.locator('.graphiql-doc-explorer', { hasText: 'Subscription' }).waitFor({ timeout: WAIT });

      await run(page, '{ packs { name } }');
      await resultContains(page, 'tiny-adm');
      await page.screenshot({ path: path.join(shots(), 'query.png') });

      // a translation queued over plain HTTP; its events followed in the IDE
      const image = await pngDataUrl(32, 3);
      const r = await env.srv.gql<{ translate: { id: string } }>('mutation($input: TranslateInput!) { translate(input: $input) { id } }', { input: { task: 'tiny-adm', image, params: { M: 3 } } });
      expect(r.errors).toBeUndefined();
      const id = r.data!.translate.id;
      await run(page, `subscription { runEvents(id: "${id}") { seq type } }`);
      await resultContains(page, 'RESULT');
      expect(await resultText(page)).toContain('runEvents');
      await page.screenshot({ path: path.join(shots(), 'subscription.png') });
    });
  });
});

describe('the IDE against a server with an operator token and introspection off (engine off)', () => {
  const env = serverAndBrowser({ engine: 'off', apiToken: TOKEN, authCacheMs: 0, introspection: false });

  test('the headers editor\'s Authorization reaches HTTP and the WebSocket; no introspection: a clear notice', async () => {
    await inOfflineIde(env.browser, env.srv.url, 'failure-token.png', async (page) => {
      // no key yet: HTTP refuses
      await run(page, '{ packs { name } }');
      await page.locator('.result-window', { hasText: 'auth/' }).waitFor({ timeout: WAIT });

      await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
      await page.waitForFunction("!!document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')?.CodeMirror", undefined, { timeout: WAIT });
      await setEditor(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ Authorization: `Bearer ${TOKEN}` }));

      await run(page, '{ packs { name } }');
      await resultContains(page, 'tiny-adm');

      // the socket authenticates with connectionParams.authorization: the subscription is
      // answered by the resolver (an unknown run), not refused with close code 4401
      await run(page, 'subscription { runEvents(id: "no-such-run") { seq } }');
      await page.locator('.result-window', { hasText: 'run/not_found' }).waitFor({ timeout: WAIT });
      const answer = await resultText(page);
      expect(answer).not.toContain('4401');
      expect(answer).not.toContain('Socket closed');

      // the schema, re-fetched with the key: introspection is off, and the page says so
      await page.locator('[aria-label="Re-fetch GraphQL schema"]').click();
      await page.locator('[data-testid="introspection-disabled"]').waitFor({ timeout: WAIT });
      expect(await page.locator('[data-testid="introspection-disabled"]').textContent()).toContain('Introspection is disabled');
      await page.screenshot({ path: path.join(shots(), 'introspection-off.png') });
    });
  });
});
