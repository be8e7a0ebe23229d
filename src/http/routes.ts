/** The plain HTTP routes beside /graphql: GET /healthz, GET /artifacts/:key, and the token check for /graphql. */
import express from 'express';
import type { ArtifactStorage } from '../storage';
import type { AppServices } from '../resolvers/context';
import { serviceStatus } from '../services/engine-status';
import { authorised } from './auth';

export interface RouteDeps {
  services: AppServices;
  storage: ArtifactStorage;
  /** 'sqlite' | 'postgresql' */
  database: string;
}

export function mountRoutes(app: express.Express, deps: RouteDeps): void {
  app.get('/healthz', async (_req, res) => {
    try {
      const { engine, catalog, queue, config, dispatcher } = deps.services;
      // the queue may be down (Redis) while history is still served: report it, stay up
      const queueLength = await queue.assertAvailable().then(() => queue.length(), () => null);
      const queueUp = queueLength !== null;
      const s = await serviceStatus({ engine, catalog, aliveMs: config.leaseMs });
      res.json({
        status: queueUp ? 'ok' : 'degraded',
        engine: engine ? 'embedded' : 'off',
        provider: s.provider,
        database: deps.database,
        queue: queueUp ? 'ok' : 'unavailable',
        packs: s.packs,
        activeRuns: dispatcher?.activeRuns ?? s.activeRuns,
        queueLength,
        liveWorkers: s.workers.filter((w) => w.alive).length,
      });
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
