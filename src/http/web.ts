/**
 * The browser side, served by the API server itself (no CDN; everything bundled by
 * `npm run build:web` into dist/web):
 *   GET /            the web app (dist/web/app)
 *   GET /samples/:pack/:file  the pack's web samples (./pack-samples.ts)
 *   GET /graphql     with Accept: text/html (a browser's address bar): the offline GraphQL IDE
 *                    (dist/web/graphiql, assets under /graphiql/); JSON clients are unaffected
 * A bundle that was not built answers 503 with a code, saying how to build it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import express from 'express';
import { sendJsonError } from './request-errors';
import { mountPackSamples } from './pack-samples';

export const WEB_DIST = path.join(__dirname, '..', '..', 'dist', 'web');

function notBuilt(res: express.Response, name: string): void {
  sendJsonError(res, 503, 'server/unavailable', `the ${name} bundle is not built: run \`npm run build:web\``);
}

/** GET /graphql from a browser (it asks for HTML and sends no query): the IDE page. */
export function graphiqlPage(dist = WEB_DIST): express.RequestHandler {
  const index = path.join(dist, 'graphiql', 'index.html');
  return (req, res, next) => {
    const wantsHtml = req.method === 'GET' && req.accepts(['application/json', 'text/html']) === 'text/html' && req.query.query === undefined;
    if (!wantsHtml) return next();
    if (!fs.existsSync(index)) return notBuilt(res, 'GraphiQL');
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  };
}

/** The web app at /, the IDE's assets at /graphiql/ and the packs' samples of `modelsDir` at /samples/. */
export function mountWeb(app: express.Express, modelsDir?: string, dist = WEB_DIST): void {
  app.use('/graphiql', express.static(path.join(dist, 'graphiql'), { index: false, immutable: true, maxAge: '1y' }));
  app.use('/assets', express.static(path.join(dist, 'app', 'assets'), { immutable: true, maxAge: '1y' }));
  mountPackSamples(app, modelsDir);
  app.get('/', (_req, res) => {
    const index = path.join(dist, 'app', 'index.html');
    if (!fs.existsSync(index)) return notBuilt(res, 'web app');
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  });
}
