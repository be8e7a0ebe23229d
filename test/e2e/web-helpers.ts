/**
 * Helpers of the browser tests (the web app's and the GraphQL IDE's): an offline browser page (every
 * request off 127.0.0.1/localhost aborted and recorded), a tiny static site on another origin (for
 * the CORS and WebSocket-origin checks), and the web bundles, built when missing or stale.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import type * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import express from 'express';
import type { Browser, Page } from 'playwright-core';

export const ROOT = path.join(__dirname, '..', '..');
const APP_INDEX = path.join(ROOT, 'dist', 'web', 'app', 'index.html');
const LOCAL = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A bundle of web/build.mjs: its folder under web/, the name a message gives it, and its built index.html. */
export interface WebBundle {
  dir: 'app' | 'graphiql';
  label: string;
  index: string;
}

export const APP_BUNDLE: WebBundle = { dir: 'app', label: 'the web app', index: APP_INDEX };
export const GRAPHIQL_BUNDLE: WebBundle = { dir: 'graphiql', label: 'the IDE', index: path.join(ROOT, 'dist', 'web', 'graphiql', 'index.html') };

/**
 * Runs web/build.mjs (it rebuilds only what changed); where that fails (another bundle may not
 * build: a test needs only its own), builds the bundle alone. With `onlyWhenMissing`, a bundle
 * already built is kept as it is and nothing runs.
 */
export function ensureBundleBuilt(bundle: WebBundle, { onlyWhenMissing = false } = {}): void {
  if (onlyWhenMissing && fs.existsSync(bundle.index)) return;
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'web', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  } catch (e) {
    if (onlyWhenMissing && fs.existsSync(bundle.index)) return;
    console.warn(`web/build.mjs failed (${(e as Error).message}); building web/${bundle.dir} alone`);
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '-c', `web/${bundle.dir}/vite.config.mjs`, '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
  }
  if (!fs.existsSync(bundle.index)) throw new Error(`${bundle.label} was not built: ${bundle.index} is missing`);
}

export interface OfflinePage {
  page: Page;
  /** requests that tried to leave this machine (must stay empty) */
  offsite: string[];
  pageErrors: string[];
  close(): Promise<void>;
}

/** A fresh context and page on which every request off 127.0.0.1/localhost is aborted and recorded. */
export async function offlinePage(browser: Browser, viewport = { width: 1400, height: 1150 }): Promise<OfflinePage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const offsite: string[] = [];
  const pageErrors: string[] = [];
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if ((u.protocol === 'http:' || u.protocol === 'https:') && LOCAL.has(u.hostname)) return route.continue();
    if (u.protocol === 'data:' || u.protocol === 'blob:') return route.continue();
    offsite.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  // what route() does not see (a WebSocket, a service worker) is recorded here
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && !LOCAL.has(u.hostname) && !offsite.includes(req.url())) offsite.push(req.url());
  });
  page.on('websocket', (ws) => {
    if (!LOCAL.has(new URL(ws.url()).hostname)) offsite.push(ws.url());
  });
  page.on('pageerror', (e) => pageErrors.push(`${String(e)} ${e.stack ?? ''}`.slice(0, 2000)));
  return { page, offsite, pageErrors, close: () => context.close() };
}

/** The page another site would serve: it calls the API (given as ?api=) by fetch and by WebSocket. */
const PROBE_HTML = `<!doctype html><html><body><pre id="out">probing</pre><script>
const api = new URL(location.href).searchParams.get('api');
window.probe = { fetch: 'pending', ws: 'pending' };
fetch(api + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ packs { name } }' }) })
  .then((r) => r.json()).then((b) => { window.probe.fetch = 'ok:' + b.data.packs.map((p) => p.name).join(','); })
  .catch((e) => { window.probe.fetch = 'blocked:' + e.name; });
const ws = new WebSocket(api.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
ws.onopen = () => { ws.send(JSON.stringify({ type: 'connection_init', payload: {} })); };
ws.onmessage = (m) => { if (JSON.parse(m.data).type === 'connection_ack') { window.probe.ws = 'open'; ws.close(1000); } };
ws.onerror = () => { if (window.probe.ws === 'pending') window.probe.ws = 'refused'; };
ws.onclose = (e) => { if (window.probe.ws === 'pending') window.probe.ws = 'refused:' + e.code; };
</script></body></html>`;

export interface StaticSite {
  origin: string;
  close(): Promise<void>;
}

/** A tiny static site on its own port (host names it origin: 127.0.0.1 or localhost). */
export async function probeSite(host: '127.0.0.1' | 'localhost'): Promise<StaticSite> {
  const app = express();
  app.get('/probe.html', (_req, res) => {
    res.type('html').send(PROBE_HTML);
  });
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return { origin: `http://${host}:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
