/** The plain HTTP routes beside /graphql: GET /livez, /readyz, /healthz (./health.ts) and GET /artifacts/:key (signed URLs only). */
import express from 'express';
import type { ArtifactStorage } from '../storage';
import type { AppServices } from '../resolvers/context';
import { mountHealth } from './health';
import { isCodedError } from '../errors';
import { sendJsonError } from './request-errors';

export interface RouteDeps {
  services: AppServices;
  storage: ArtifactStorage;
  /** 'sqlite' | 'postgresql' */
  database: string;
  /** a trivial query against the database, for /readyz */
  pingDatabase?: () => Promise<unknown>;
}

export function mountRoutes(app: express.Express, deps: RouteDeps): void {
  mountHealth(app, deps);
  app.get('/artifacts/:key', async (req, res) => {
    const key = req.params.key;
    try {
      // only a URL the API handed out (to the run's owner), until it expires
      deps.services.urls.verify(key, req.query.exp, req.query.sig);
    } catch (e) {
      if (!isCodedError(e)) throw e;
      sendJsonError(res, 403, e.code, e.message);
      return;
    }
    try {
      const a = await deps.storage.get(key);
      if (!a) {
        sendJsonError(res, 404, 'storage/not_found', `no artifact ${key}`);
        return;
      }
      const maxAge = Math.max(0, Math.floor(Number(req.query.exp) - Date.now() / 1000));
      res.setHeader('content-type', a.contentType);
      res.setHeader('cache-control', `private, max-age=${maxAge}, immutable`);
      res.end(a.bytes);
    } catch {
      sendJsonError(res, 404, 'storage/not_found', 'not an artifact key');
    }
  });
}
