/** The plain HTTP routes beside /graphql: GET /healthz, GET /artifacts/:key, and the token check for /graphql. */
import express from 'express';
import type { Engine } from '../engine';
import type { ArtifactStorage } from '../storage';
import type { RunQueue } from '../queue/run-queue';
import { authorised } from './auth';

export interface RouteDeps {
  engine: Engine;
  storage: ArtifactStorage;
  queue: RunQueue;
  /** 'sqlite' | 'postgresql' */
  database: string;
  activeRuns: () => number;
}

export function mountRoutes(app: express.Express, deps: RouteDeps): void {
  app.get('/healthz', async (_req, res) => {
    try {
      const s = await deps.engine.status();
      res.json({ status: 'ok', provider: s.provider, database: deps.database, packs: s.packs, activeRuns: deps.activeRuns(), queueLength: await deps.queue.length() });
    } catch (e) {
      res.status(503).json({ status: 'unavailable', error: (e as Error).message });
    }
  });
  app.get('/artifacts/:key', async (req, res) => {
    try {
      const a = await deps.storage.get(req.params.key);
      if (!a) {
        res.status(404).json({ error: { code: 'storage/not_found', message: `no artifact ${req.params.key}` } });
        return;
      }
      res.setHeader('content-type', a.contentType);
      res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      res.end(a.bytes);
    } catch {
      res.status(404).json({ error: { code: 'storage/not_found', message: 'not an artifact key' } });
    }
  });
}

/** Refuses /graphql requests without the API token (when one is configured). */
export function requireToken(apiToken: string | undefined): express.RequestHandler {
  return (req, res, next) => {
    if (!authorised(apiToken, req.headers.authorization)) {
      res.status(401).json({ errors: [{ message: 'missing or wrong API token', extensions: { code: 'auth/forbidden' } }] });
      return;
    }
    next();
  };
}
