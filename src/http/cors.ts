/**
 * Browser origins (ALLOWED_ORIGINS): one policy for HTTP and the WebSocket handshake.
 *
 * A request without an Origin header is a non-browser client: allowed. A browser request is
 * allowed when its Origin is listed (or the list has '*'), or is the server's own (the Origin's
 * host:port equals the Host header). Anything else is refused with 403 and auth/origin_refused
 * before any GraphQL runs, so a cross-site form or simple request never executes a mutation.
 * Listed origins get CORS headers (the `cors` package answers preflights with 204).
 */
import type * as http from 'http';
import type express from 'express';
import cors from 'cors';
import { sendGraphQLError } from './request-errors';

export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'apollo-require-preflight', 'x-apollo-operation-name'];

export interface OriginPolicy {
  /** true for a request that may go on */
  allows(origin: string | undefined, host: string | undefined): boolean;
  /** a listed origin (or any, with '*'): the one that gets CORS headers */
  listed(origin: string): boolean;
  readonly any: boolean;
}

export function originPolicy(allowedOrigins: readonly string[]): OriginPolicy {
  const any = allowedOrigins.includes('*');
  const list = new Set(allowedOrigins.map((o) => o.toLowerCase().replace(/\/+$/, '')));
  const listed = (origin: string) => any || list.has(origin.toLowerCase());
  return {
    any,
    listed,
    allows(origin, host) {
      if (origin === undefined || origin === '') return true;
      if (listed(origin)) return true;
      try {
        const u = new URL(origin);
        return host !== undefined && (u.protocol === 'http:' || u.protocol === 'https:') && u.host.toLowerCase() === host.toLowerCase();
      } catch {
        return false; // 'null' (sandboxed frames, file://) and anything unparsable
      }
    },
  };
}

export function refusedOriginMessage(origin: string): string {
  return `origin ${JSON.stringify(origin.slice(0, 200))} is not allowed (ALLOWED_ORIGINS)`;
}

/** Refuses browser requests from an origin that is neither the server's own nor listed. */
export function originGuard(policy: OriginPolicy): express.RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (policy.allows(origin, req.headers.host)) return next();
    sendGraphQLError(res, 403, 'auth/origin_refused', refusedOriginMessage(origin!));
  };
}

/** CORS headers for listed origins; preflights (OPTIONS) answered 204 here, before auth and Apollo. */
export function corsHeaders(policy: OriginPolicy): express.RequestHandler {
  return cors({
    origin: policy.any ? '*' : (origin, cb) => cb(null, origin !== undefined && policy.listed(origin)),
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: ['x-request-id'],
    maxAge: 600,
    optionsSuccessStatus: 204,
  });
}

/** The WebSocket handshake's check (ws verifyClient): 403 with the code as JSON. */
export function verifyOrigin(policy: OriginPolicy) {
  return (info: { origin: string; req: http.IncomingMessage }, done: (ok: boolean, status?: number, message?: string, headers?: http.OutgoingHttpHeaders) => void): void => {
    // ws gives `origin` from the Origin header (Sec-WebSocket-Origin for old clients)
    const origin = info.origin || undefined;
    if (policy.allows(origin, info.req.headers.host)) return done(true);
    done(false, 403, JSON.stringify({ error: { code: 'auth/origin_refused', message: refusedOriginMessage(origin!) } }), { 'Content-Type': 'application/json' });
  };
}
