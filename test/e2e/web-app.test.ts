/**
 * The web app at GET / (web/app, served by src/http/web.ts), in a real Chromium against a real
 * server with the demo pack (a copy of models/demo) and a 64 px pack, offline: every request off 127.0.0.1/localhost is
 * blocked and recorded, and each test fails if one was attempted. It uploads a disc, watches
 * previews, progress and energies arrive, gets the result and its metrics; finds, pages, filters,
 * replays and deletes runs in the history; offers each pack's own samples and runs the 64 px pack; cancels a long run; compares the three samplers on one
 * seed; resumes a dropped WebSocket without a gap (a TCP relay that the test cuts); and checks the
 * browser-origin rules (CORS and the WebSocket handshake) from pages on other origins.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshotDir } from '../helpers/browser';
import { BACKENDS, Running, startServer, testConfig } from '../helpers/server-harness';
import { TcpRelay } from '../helpers/tcp-relay';
import { findPackSamples } from '../../src/http/pack-samples';
import { DEMO_PACKS, writeSamples } from '../../src/training/train-demo';
import { APP_BUNDLE, ROOT, ensureBundleBuilt, offlinePage, probeSite, type OfflinePage, type StaticSite } from './web-helpers';

/** a loaded 2-core machine: the bundle parses slowly, the engine shares the CPUs */
const WAIT = 90000;
const SAMPLE = path.join(ROOT, 'models', 'demo', 'samples', 'disc-1.png');
const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;

interface RunRow {
  id: string;
  status: string;
  seed: string | number;
  sampler: string;
  stepsDone: number;
  totalSteps: number;
  lastSeq: number;
}

/** The visible view (the tabs stay mounted: the hidden ones hold the same test ids). */
const v = (page: Page) => page.locator('[role="tabpanel"]:visible');

/** Polls f until ok(value), failing with the last value after timeout. */
async function poll<T>(f: () => Promise<T>, ok: (v: T) => boolean, timeout = WAIT): Promise<T> {
  const t0 = Date.now();
  let last: T | undefined;
  for (;;) {
    last = await f();
    if (ok(last)) return last;
    if (Date.now() - t0 > timeout) throw new Error(`timed out; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function openApp(page: Page, url: string, hash = ''): Promise<void> {
  const res = await page.goto(`${url}/${hash}`, { waitUntil: 'load', timeout: WAIT });
  expect(res?.status()).toBe(200);
  await page.getByTestId('app-ready').waitFor({ state: 'attached', timeout: WAIT });
  await v(page).first().waitFor({ timeout: WAIT });
}

/** Sets the run parameters of the visible form (Mantine inputs: data-testid sits on the <input>). */
async function setParams(page: Page, p: { M?: number; steps?: number; previewEvery?: number; seed?: string }): Promise<void> {
  const panel = v(page);
  // M first: steps is clamped to 2..M
  if (p.M !== undefined) await panel.getByTestId('param-M').fill(String(p.M));
  if (p.steps !== undefined) await panel.getByTestId('param-steps').fill(String(p.steps));
  if (p.previewEvery !== undefined) await panel.getByTestId('param-previewEvery').fill(String(p.previewEvery));
  if (p.seed !== undefined) await panel.getByTestId('param-seed').fill(p.seed);
  await panel.getByTestId('param-seed').click(); // blur the number inputs: they commit on blur
}

/** Records every distinct src of the preview <img> as the DOM changes. */
async function watchPreviews(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    window.__previews = [];
    const look = () => {
      for (const img of document.querySelectorAll('[data-testid="preview-img"]')) {
        const src = img.getAttribute('src');
        if (src && !window.__previews.includes(src)) window.__previews.push(src);
      }
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
    look();
  })()`);
}

const previewsSeen = (page: Page) => page.evaluate<number>('window.__previews.length');

/** The run id shown by the (first) visible run panel. */
async function panelRunId(page: Page): Promise<string> {
  const panel = v(page).locator('[data-testid="run-panel"]').first();
  const refused = v(page).locator('[data-testid="translate-error"], [data-testid="compare-error"]');
  await panel.or(refused).first().waitFor({ timeout: WAIT });
  if (await refused.count()) throw new Error(`translate refused: ${await refused.first().textContent()}`);
  return (await panel.getAttribute('data-run-id'))!;
}

/**
 * The served models folder: a copy of models/demo and a 64 px pack (the golden tiny ADM score
 * model and DSE, random weights) whose web samples are four generated cat faces.
 */
async function modelsWithA64pxPack(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-web-models-'));
  fs.cpSync(path.join(ROOT, 'models', 'demo'), path.join(dir, 'demo'), { recursive: true });
  const pack = path.join(dir, 'tiny64');
  fs.mkdirSync(pack);
  const tiny = path.join(ROOT, 'test', 'fixtures', 'egsde-tiny');
  fs.copyFileSync(path.join(tiny, 'score_adm.onnx'), path.join(pack, 'score.onnx'));
  fs.copyFileSync(path.join(tiny, 'dse.onnx'), path.join(pack, 'dse.onnx'));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'packs', 'tiny-adm', 'pack.json'), 'utf8'));
  fs.writeFileSync(path.join(pack, 'pack.json'), JSON.stringify({ ...manifest, name: 'tiny64', score: { ...manifest.score, file: 'score.onnx' }, dse: { ...manifest.dse, file: 'dse.onnx' } }));
  await writeSamples(path.join(pack, 'samples'), DEMO_PACKS['demo-cat2dog'].source, [1, 2, 3, 4], 64);
  return dir;
}

describe('the web app at / (demo pack, SQLite, engine embedded)', () => {
  let srv: Running;
  let browser: Browser;
  let cleanupDb: () => Promise<void>;
  let artifacts: string;
  let shots: string;
  let allowedSite: StaticSite;
  let refusedSite: StaticSite;
  const pages: OfflinePage[] = [];
  let firstRun = '';
  let models = '';

  async function newPage(): Promise<OfflinePage> {
    const p = await offlinePage(browser);
    pages.push(p);
    return p;
  }

  const runOf = async (id: string): Promise<RunRow> => {
    const r = await srv.gql<{ run: RunRow }>('query($id: ID!) { run(id: $id) { id status seed sampler stepsDone totalSteps lastSeq } }', { id });
    if (!r.data) throw new Error(JSON.stringify(r.errors));
    return r.data.run;
  };

  beforeAll(async () => {
    ensureBundleBuilt(APP_BUNDLE);
    allowedSite = await probeSite('127.0.0.1');
    refusedSite = await probeSite('127.0.0.1');
    const db = await sqlite.setup();
    cleanupDb = db.cleanup;
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-art-'));
    models = await modelsWithA64pxPack();
    srv = await startServer(testConfig(db.url, artifacts, { modelsDir: models, modelsRoot: undefined, allowSharedModelFiles: false, allowedOrigins: [allowedSite.origin] }));
    browser = await launchBrowser();
    shots = screenshotDir('web-app');
  }, 120000);

  afterEach(() => {
    // offline: nothing ever left this machine, and no page threw
    for (const p of pages) {
      expect(p.offsite).toEqual([]);
      expect(p.pageErrors).toEqual([]);
    }
  });

  afterAll(async () => {
    for (const p of pages) await p.close().catch(() => undefined);
    await browser?.close();
    await srv?.close();
    await cleanupDb?.();
    await allowedSite?.close();
    await refusedSite?.close();
    if (artifacts) fs.rmSync(artifacts, { recursive: true, force: true });
    if (models) fs.rmSync(models, { recursive: true, force: true });
  });

  test('uploads a disc, shows previews, progress and energies live, then the result and its metrics', async () => {
    const { page } = await newPage();
    await openApp(page, srv.url);
    await expect(v(page).getByTestId('pack-defaults').textContent()).resolves.toContain('EGSDE M 200 steps 100');
    await v(page).getByTestId('file-input').setInputFiles(SAMPLE);
    await v(page).getByTestId('picked-source').waitFor({ timeout: WAIT });
    await setParams(page, { M: 200, steps: 50, previewEvery: 5, seed: '42' });
    await watchPreviews(page);
    await v(page).getByTestId('translate').click();
    firstRun = await panelRunId(page);

    // at least three different preview frames arrive while it runs
    await poll(() => previewsSeen(page), (x) => x >= 3);
    await v(page).locator('[data-testid="progress"][data-value="100"]').waitFor({ timeout: WAIT });
    await expect(v(page).getByTestId('progress-text').textContent()).resolves.toContain('step 50 / 50 · 100 %');
    await v(page).getByTestId('result-img').waitFor({ timeout: WAIT });
    await v(page).getByTestId('metrics').waitFor({ timeout: WAIT });
    await v(page).locator('[data-testid="run-status"]', { hasText: 'SUCCEEDED' }).waitFor({ timeout: WAIT });
    // every step's energies were charted, no seq was missed
    await expect(v(page).getByTestId('energy-chart').getAttribute('data-points')).resolves.toBe('50');
    await expect(v(page).getByTestId('run-panel').getAttribute('data-gaps')).resolves.toBe('0');
    const psnr = await v(page).getByTestId('metric-psnr').textContent();
    expect(psnr).toMatch(/^\d+\.\d\d dB$/);
    // the images load (signed relative URLs, same origin)
    const loaded = await page.evaluate<boolean[]>(`[...document.querySelectorAll('[role="tabpanel"]:not([style*="none"]) [data-testid="source-img"], [role="tabpanel"]:not([style*="none"]) [data-testid="result-img"]')].map((i) => i.complete && i.naturalWidth > 0)`);
    expect(loaded).toEqual([true, true]);
    const run = await runOf(firstRun);
    expect({ ...run, seed: String(run.seed) }).toMatchObject({ status: 'SUCCEEDED', seed: '42', sampler: 'EGSDE', stepsDone: 50 });
    await page.screenshot({ path: path.join(shots, 'run-page.png') });
  });

  test('the history finds the run, pages with a cursor, filters, replays a run and deletes it', async () => {
    expect(firstRun).not.toBe('');
    // 22 quick runs beside the first, so that the history has two pages of 20
    const { SAMPLE_URL } = { SAMPLE_URL: `data:image/png;base64,${fs.readFileSync(SAMPLE).toString('base64')}` };
    const ids: string[] = [];
    for (let i = 0; i < 22; i++) {
      const r = await srv.gql<{ translate: { id: string } }>('mutation($input: TranslateInput!) { translate(input: $input) { id } }', { input: { task: 'demo', image: SAMPLE_URL, params: { sampler: 'SDEDIT', M: 4, steps: 2, seed: i } } });
      ids.push(r.data!.translate.id);
    }
    await poll(async () => (await Promise.all(ids.map(runOf))).every((r) => r.status === 'SUCCEEDED'), (x) => x === true);

    const { page } = await newPage();
    await openApp(page, srv.url, '#/history');
    const rows = v(page).locator('[data-testid="history-row"]');
    await poll(() => rows.count(), (x) => x === 20);
    await expect(v(page).getByTestId('history-count').textContent()).resolves.toBe('20 of 23 runs');
    await v(page).getByTestId('history-more').click();
    await poll(() => rows.count(), (x) => x === 23);
    await expect(v(page).getByTestId('history-more').count()).resolves.toBe(0);
    // newest first: the first run is the last row
    await expect(rows.last().getAttribute('data-run-id')).resolves.toBe(firstRun);

    // filter: EGSDE runs only succeeded ones here; CANCELLED: none yet
    await v(page).getByTestId('filter-status').click();
    await page.getByRole('option', { name: 'CANCELLED' }).click();
    await v(page).getByTestId('history-empty').waitFor({ timeout: WAIT });
    await v(page).getByTestId('filter-status').click();
    await page.getByRole('option', { name: 'SUCCEEDED' }).click();
    await v(page).getByTestId('filter-pack').click();
    await page.getByRole('option', { name: 'demo', exact: true }).click();
    await poll(() => rows.count(), (x) => x === 20);

    // open the first run: its events replay from seq 0
    await v(page).getByTestId('filter-status').click();
    await page.getByRole('option', { name: 'SUCCEEDED' }).click(); // deselect: back to all
    await page.goto(`${srv.url}/#/runs/${firstRun}`);
    const panel = v(page).locator(`[data-testid="run-panel"][data-run-id="${firstRun}"]`);
    await panel.locator('[data-testid="result-img"]').waitFor({ timeout: WAIT });
    await panel.getByTestId('metrics').waitFor({ timeout: WAIT });
    await expect(panel.getByTestId('energy-chart').getAttribute('data-points')).resolves.toBe('50');
    const lastSeq = (await runOf(firstRun)).lastSeq;
    await poll(() => panel.getAttribute('data-last-seq'), (x) => x === String(lastSeq));
    await page.screenshot({ path: path.join(shots, 'history-run.png') });

    // delete a quick run from the list, then the first run from its page
    await page.goto(`${srv.url}/#/history`);
    await poll(() => rows.count(), (x) => x === 20);
    await page.screenshot({ path: path.join(shots, 'history.png') });
    const victim = (await rows.first().getAttribute('data-run-id'))!;
    await rows.first().getByTestId('history-delete').click();
    await poll(() => v(page).locator(`[data-testid="history-row"][data-run-id="${victim}"]`).count(), (x) => x === 0);
    expect((await srv.gql('query($id: ID!) { run(id: $id) { id } }', { id: victim })).errors?.[0].extensions?.code).toBe('run/not_found');
  });

  test('cancels a long run early', async () => {
    const { page } = await newPage();
    await openApp(page, srv.url);
    await v(page).getByTestId('file-input').setInputFiles(SAMPLE);
    await v(page).getByTestId('picked-source').waitFor({ timeout: WAIT });
    await setParams(page, { M: 400, steps: 400, previewEvery: 10 });
    await v(page).getByTestId('translate').click();
    const id = await panelRunId(page);
    await poll(() => v(page).getByTestId('progress-text').textContent(), (t) => /step [1-9]\d* \//.test(t ?? ''));
    await expect(v(page).getByTestId('eta').textContent()).resolves.toMatch(/ETA|queued/);
    await v(page).getByTestId('cancel-run').click();
    await v(page).locator('[data-testid="run-status"]', { hasText: 'CANCELLED' }).waitFor({ timeout: WAIT });
    const run = await runOf(id);
    expect(run.status).toBe('CANCELLED');
    expect(run.stepsDone).toBeLessThan(400);
    expect(Number(await v(page).getByTestId('progress').getAttribute('data-value'))).toBeLessThan(100);
    await expect(v(page).getByTestId('cancel-run').count()).resolves.toBe(0);
  });

  test('compares EGSDE, SDEdit and ILVR on one image with one seed, side by side', async () => {
    const { page } = await newPage();
    await openApp(page, srv.url, '#/compare');
    const panel = v(page);
    await panel.getByTestId('file-input').setInputFiles(SAMPLE);
    await panel.getByTestId('picked-source').waitFor({ timeout: WAIT });
    await setParams(page, { M: 100, steps: 25, previewEvery: 5, seed: '7' });
    await v(page).getByTestId('compare').click();
    await panelRunId(page);
    const panels = v(page).locator('[data-testid="compare-panels"] [data-testid="run-panel"]');
    await poll(() => panels.count(), (x) => x === 3);
    await poll(() => v(page).locator('[data-testid="compare-panels"] [data-terminal="yes"] [data-testid="result-img"]').count(), (x) => x === 3);
    await poll(() => v(page).locator('[data-testid="compare-panels"] [data-testid="metrics"]').count(), (x) => x === 3);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await panels.nth(i).getAttribute('data-run-id'))!);
    const runs = await Promise.all(ids.map(runOf));
    expect(runs.map((r) => r.sampler)).toEqual(['EGSDE', 'SDEDIT', 'ILVR']);
    expect(runs.map((r) => String(r.seed))).toEqual(['7', '7', '7']);
    expect(runs.every((r) => r.status === 'SUCCEEDED')).toBe(true);
    // only EGSDE has energies to chart
    await expect(panels.nth(0).getByTestId('energy-chart').getAttribute('data-points')).resolves.toBe('25');
    await expect(panels.nth(1).getByTestId('energy-chart').count()).resolves.toBe(0);
    await page.screenshot({ path: path.join(shots, 'compare.png') });
  });

  test('a dropped connection shows "reconnecting" and resumes with afterSeq, with no gap', async () => {
    const relay = new TcpRelay(srv.url);
    await relay.up();
    const via = `http://127.0.0.1:${relay.port}`;
    try {
      const { page } = await newPage();
      const subscribes: { afterSeq: number }[] = [];
      page.on('websocket', (ws) =>
        ws.on('framesent', (f) => {
          const m = JSON.parse(String(f.payload)) as { type: string; payload?: { variables?: { afterSeq: number } } };
          if (m.type === 'subscribe' && m.payload?.variables) subscribes.push({ afterSeq: m.payload.variables.afterSeq });
        }),
      );
      await openApp(page, via);
      await v(page).getByTestId('file-input').setInputFiles(SAMPLE);
      await v(page).getByTestId('picked-source').waitFor({ timeout: WAIT });
      await setParams(page, { M: 300, steps: 80, previewEvery: 10, seed: '5' });
      await v(page).getByTestId('translate').click();
      const id = await panelRunId(page);
      await poll(() => v(page).getByTestId('progress-text').textContent(), (t) => /step ([5-9]|\d\d+) \//.test(t ?? ''));

      await relay.down(); // every connection cut, new ones refused
      await page.getByTestId('reconnecting').waitFor({ timeout: WAIT });
      await relay.up();
      await page.getByTestId('reconnecting').waitFor({ state: 'detached', timeout: WAIT });
      await v(page).locator('[data-testid="run-status"]', { hasText: 'SUCCEEDED' }).waitFor({ timeout: WAIT });
      await v(page).getByTestId('result-img').waitFor({ timeout: WAIT });

      // re-issued after the last seq seen, and every step arrived exactly once
      expect(subscribes.length).toBeGreaterThanOrEqual(2);
      expect(subscribes[0].afterSeq).toBe(0);
      expect(subscribes[subscribes.length - 1].afterSeq).toBeGreaterThan(0);
      const panel = v(page).getByTestId('run-panel');
      await expect(panel.getAttribute('data-gaps')).resolves.toBe('0');
      await expect(v(page).getByTestId('energy-chart').getAttribute('data-points')).resolves.toBe('80');
      const lastSeq = String((await runOf(id)).lastSeq);
      await poll(() => panel.getAttribute('data-last-seq'), (x) => x === lastSeq);
    } finally {
      await relay.down();
    }
  });

  test('browser origins: a listed origin may fetch and open the WebSocket; another is refused', async () => {
    const probe = async (site: StaticSite) => {
      const { page } = await newPage();
      await page.goto(`${site.origin}/probe.html?api=${encodeURIComponent(srv.url)}`, { timeout: WAIT });
      await page.waitForFunction("!!window.probe && window.probe.fetch !== 'pending' && window.probe.ws !== 'pending'", undefined, { timeout: WAIT });
      return page.evaluate<{ fetch: string; ws: string }>('window.probe');
    };
    expect(await probe(allowedSite)).toEqual({ fetch: 'ok:demo,tiny64', ws: 'open' });
    const refused = await probe(refusedSite);
    expect(refused.fetch).toMatch(/^blocked:/);
    expect(refused.ws).toMatch(/^refused/);
    // the server said why (non-browser clients send no Origin and are always allowed)
    const res = await fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', origin: refusedSite.origin }, body: '{"query":"{ packs { name } }"}' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).toBe('auth/origin_refused');
  });

  test('each pack offers its own samples; a sample of the 64 px pack translates to a 64 px result', async () => {
    const { page } = await newPage();
    await openApp(page, srv.url);
    const withSamples = [...findPackSamples(models).entries()];
    expect(withSamples.map(([name]) => name)).toEqual(['demo', 'tiny64']);
    for (const [name, dir] of withSamples) {
      await v(page).getByTestId('pack-select').click();
      await page.getByRole('option', { name, exact: true }).click();
      const files = (JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { file: string }[]).map((x) => x.file);
      const shown = () => page.evaluate<string[]>(`[...document.querySelectorAll('[role="tabpanel"]:not([style*="none"]) [data-testid^="sample-"]')].map((e) => e.getAttribute('data-testid'))`);
      await poll(shown, (ids) => JSON.stringify(ids) === JSON.stringify(files.map((f) => `sample-${f}`)));
      await v(page).getByTestId(`sample-${files[0]}`).click();
      await v(page).locator('[data-testid="picked-source"]').waitFor({ timeout: WAIT });
      // the previous pack's sample may still show while this one is read
      await poll(() => v(page).getByTestId('dropzone').textContent(), (t) => (t ?? '').includes(files[0]));
    }
    // tiny64 (picked last): its first cat, a short run, a 64 px result back
    await expect(v(page).getByTestId('pack-defaults').textContent()).resolves.toContain('EGSDE M 12');
    await setParams(page, { M: 10, steps: 5, seed: '3' });
    await v(page).getByTestId('translate').click();
    const id = await panelRunId(page);
    await v(page).locator('[data-testid="run-status"]', { hasText: 'SUCCEEDED' }).waitFor({ timeout: WAIT });
    await v(page).getByTestId('result-img').waitFor({ timeout: WAIT });
    await expect(page.evaluate<number>(`document.querySelector('[role="tabpanel"]:not([style*="none"]) [data-testid="result-img"]').naturalWidth`)).resolves.toBe(64);
    expect(await runOf(id)).toMatchObject({ status: 'SUCCEEDED', stepsDone: 5 });
    await page.screenshot({ path: path.join(shots, 'second-pack.png') });
  });
});
