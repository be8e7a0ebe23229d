/**
 * Authentication on HTTP: every /graphql request is turned into a principal (src/auth) before
 * GraphQL runs; a refused credential is answered 401 with the code, as JSON.
 */
import type express from 'express';
import type { Authenticator, Principal } from '../auth/principal';
import { isCodedError } from '../errors';
import { sendGraphQLError } from './request-errors';

const PRINCIPAL = Symbol('principal');

export function authenticateHttp(auth: Authenticator): express.RequestHandler {
  return (req, res, next) => {
    auth.authenticate(req.headers.authorization).then(
      (p) => {
        (res.locals as Record<symbol, Principal>)[PRINCIPAL] = p;
        next();
      },
      (e: unknown) => {
        if (isCodedError(e)) {
          const status = e.code === 'auth/unauthenticated' ? 401 : e.code === 'db/failed' ? 503 : 403;
          if (status === 401) res.setHeader('www-authenticate', 'Bearer');
          sendGraphQLError(res, status, e.code, e.message);
        } else next(e);
      },
    );
  };
}

/** The principal authenticateHttp stored for this request. */
export function principalOf(res: express.Response): Principal {
  const p = (res.locals as Record<symbol, Principal | undefined>)[PRINCIPAL];
  if (!p) throw new Error('authenticateHttp did not run for this request');
  return p;
}
