/**
 * The app's link to the service: queries and mutations over HTTP (POST /graphql), run events over
 * graphql-ws (the same origin's /graphql). The API key (optional: a service with no keys is open)
 * lives in localStorage and goes out as `Authorization: Bearer` and `connectionParams.authorization`.
 *
 * Operations are the typed documents GraphQL Code Generator makes of ./operations.graphql
 * (web/shared/gql, `npm run codegen`): each is one named operation, sent alone (the service limits
 * tokens per document), and types its variables and its result.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, print, type DocumentNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { AppRunEventsDocument } from '../../shared/gql/graphql';
import type { RunEvent } from './types';

const KEY_STORAGE = 'egsde.apiKey';

export function getApiKey(): string {
  try {
    return localStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

export function setApiKey(key: string): void {
  const k = key.trim();
  if (k) localStorage.setItem(KEY_STORAGE, k);
  else localStorage.removeItem(KEY_STORAGE);
  // the socket authenticates once, at connection_init: start a fresh one with the new key
  const old = client;
  client = null;
  void old?.dispose();
}

/** A document's text and operation name, printed once. */
const printed = new WeakMap<DocumentNode, { query: string; operationName: string | undefined }>();

function source(doc: DocumentNode): { query: string; operationName: string | undefined } {
  let p = printed.get(doc);
  if (!p) {
    p = { query: print(doc), operationName: getOperationAST(doc)?.name?.value };
    printed.set(doc, p);
  }
  return p;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Runs a query or mutation (a typed document of operations.graphql) over HTTP. */
export async function gql<R, V>(doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
  const { query, operationName } = source(doc);
  const key = getApiKey();
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables, operationName }),
    });
  } catch (e) {
    throw new ApiError(`the service is unreachable (${(e as Error).message})`, 'network');
  }
  let body: { data?: R; errors?: { message: string; extensions?: { code?: string } }[]; error?: { code: string; message: string } };
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`HTTP ${res.status}`, 'http');
  }
  if (body.errors?.length) throw new ApiError(body.errors[0].message, body.errors[0].extensions?.code);
  if (body.error) throw new ApiError(body.error.message, body.error.code);
  if (!body.data) throw new ApiError(`HTTP ${res.status}: no data`, 'http');
  return body.data;
}

// ---- the WebSocket, its state, and resumable run-event subscriptions

export type ConnState = 'idle' | 'connecting' | 'connected' | 'reconnecting';
let client: Client | null = null;
let state: ConnState = 'idle';
let following = 0;
let everConnected = false;
const stateListeners = new Set<(s: ConnState) => void>();
const dropListeners = new Set<() => void>();

function setState(s: ConnState): void {
  if (s === state) return;
  state = s;
  for (const l of stateListeners) l(s);
}

export function connState(): ConnState {
  return state;
}

export function onConnState(l: (s: ConnState) => void): () => void {
  stateListeners.add(l);
  return () => stateListeners.delete(l);
}

/** For tests and the curious: the socket now open (closing it simulates a dropped connection). */
let currentSocket: WebSocket | null = null;

function ws(): Client {
  if (client) return client;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const c = createClient({
    url,
    lazy: true,
    retryAttempts: 1000,
    shouldRetry: () => true,
    retryWait: (n) => new Promise((r) => setTimeout(r, Math.min(500 * 2 ** n, 5000) + Math.random() * 250)),
    connectionParams: () => {
      const key = getApiKey();
      return key ? { authorization: `Bearer ${key}` } : {};
    },
    on: {
      connecting: () => setState(everConnected && following > 0 ? 'reconnecting' : 'connecting'),
      opened: (s) => {
        currentSocket = s as WebSocket;
      },
      connected: () => {
        everConnected = true;
        setState('connected');
      },
      closed: () => {
        currentSocket = null;
        if (c !== client) return;
        if (following > 0) {
          setState('reconnecting');
          for (const l of [...dropListeners]) l();
        } else setState('idle');
      },
    },
  });
  client = c;
  return c;
}

export interface SubscribeHandlers<R> {
  /** a result's data (a result with errors goes to error instead, and ends the subscription) */
  next(data: R): void;
  error(e: ApiError): void;
  complete(): void;
}

function toApiError(e: unknown): ApiError {
  const list = Array.isArray(e) ? (e as { message: string; extensions?: { code?: string } }[]) : null;
  if (list?.length) return new ApiError(list[0].message, list[0].extensions?.code);
  const ce = e as { code?: number; reason?: string };
  return new ApiError(ce.reason || (e instanceof Error ? e.message : 'the subscription failed'), ce.code ? `ws/${ce.code}` : 'ws');
}

/**
 * Runs a subscription (a typed document of operations.graphql) over the socket. Returns a stop
 * function. Nothing is called after an error, complete, or stop.
 */
export function subscribe<R, V>(doc: TypedDocumentNode<R, V>, variables: V, h: SubscribeHandlers<R>): () => void {
  const { query, operationName } = source(doc);
  let ended = false;
  const end = () => {
    const was = ended;
    ended = true;
    return !was;
  };
  const unsubscribe = ws().subscribe<R>(
    { query, operationName, variables: variables as Record<string, unknown> },
    {
      next: (r) => {
        if (ended) return;
        if (r.errors?.length) {
          const e = r.errors[0] as { message: string; extensions?: { code?: string } };
          end();
          h.error(new ApiError(e.message, e.extensions?.code));
          return;
        }
        if (r.data) h.next(r.data);
      },
      error: (e) => {
        if (end()) h.error(toApiError(e));
      },
      complete: () => {
        if (end()) h.complete();
      },
    },
  );
  return () => {
    if (!end()) return;
    unsubscribe();
  };
}

export interface FollowHandlers {
  event(e: RunEvent): void;
  /** the run ended (the subscription completed after its terminal event) */
  done(): void;
  error(e: ApiError): void;
}

/**
 * Follows a run's events (AppRunEvents) from afterSeq. When the socket drops, the subscription is
 * issued again with afterSeq = the last seq seen, so the replay fills exactly what was missed: no
 * gap, no duplicate. Returns a stop function.
 */
export function followRun(id: string, afterSeq: number, h: FollowHandlers): () => void {
  let last = afterSeq;
  let gen = 0;
  let stopped = false;
  let unsubscribe: (() => void) | null = null;
  following++;
  const finish = () => {
    if (stopped) return;
    stopped = true;
    following--;
    dropListeners.delete(onDrop);
  };
  const start = () => {
    const mine = ++gen;
    const prev = unsubscribe;
    unsubscribe = subscribe(
      AppRunEventsDocument,
      { id, afterSeq: last },
      {
        next: (d) => {
          if (mine !== gen || stopped) return;
          const ev = d.runEvents;
          if (!ev || ev.seq <= last) return;
          last = ev.seq;
          h.event(ev);
        },
        error: (e) => {
          if (mine !== gen || stopped) return;
          finish();
          h.error(e);
        },
        complete: () => {
          if (mine !== gen || stopped) return;
          finish();
          h.done();
        },
      },
    );
    prev?.();
  };
  const onDrop = () => {
    if (!stopped) start();
  };
  dropListeners.add(onDrop);
  start();
  return () => {
    if (stopped) return;
    finish();
    gen++;
    unsubscribe?.();
    if (following === 0 && state === 'reconnecting') setState('idle');
  };
}

declare global {
  interface Window {
    __egsde?: { dropSocket(): boolean; connState(): ConnState };
  }
}
window.__egsde = {
  dropSocket: () => {
    if (!currentSocket) return false;
    currentSocket.close(4499, 'dropped by the page');
    return true;
  },
  connState,
};
