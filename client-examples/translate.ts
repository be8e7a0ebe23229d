/**
 * A small Node client: sends an image, prints progress from the subscription, saves the result.
 * It uses the typed documents that GraphQL Code Generator makes from operations.graphql
 * (web/shared/gql, `npm run codegen`), so a change of the schema or of an operation that breaks
 * it fails to type-check.
 *
 *   npx ts-node client-examples/translate.ts --image cat.png --task demo --out dog.png \
 *     [--url http://localhost:4000] [--steps 100] [--M 400] [--seed 1] [--token API_TOKEN]
 *
 * Without --url it talks to http://localhost:$PORT (PORT defaults to 4000).
 */
import * as fs from 'fs';
import * as path from 'path';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { RunEventsDocument, TranslateDocument } from '../web/shared/gql/graphql';
import type { RunEventsSubscription, TranslateInput } from '../web/shared/gql/graphql';

export interface TranslateFileOptions {
  /** the server, e.g. http://localhost:4000 (its GraphQL endpoint is url + '/graphql') */
  url: string;
  image: string;
  task: string;
  out: string;
  params?: TranslateInput['params'];
  token?: string;
  log?: (line: string) => void;
}

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

/** The server to talk to: --url, else http://localhost:$PORT, else http://localhost:4000. */
export function serverUrl(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): string {
  const i = argv.indexOf('--url');
  if (i > 0 && argv[i + 1]) return argv[i + 1]!.replace(/\/+$/, '');
  return `http://localhost:${env.PORT || 4000}`;
}

/** fetch, with an error that names the URL when the server cannot be reached (fetch says only 'fetch failed'). */
async function reach(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the server at ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message} (is it running? pass --url or set PORT)`);
  }
}

type GqlResponse<T> = { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };

/** One query or mutation over HTTP, typed by its document. */
async function request<TData, TVars>(o: Pick<TranslateFileOptions, 'url' | 'token'>, doc: TypedDocumentNode<TData, TVars>, variables: TVars): Promise<TData> {
  const endpoint = `${o.url}/graphql`;
  const res = await reach(endpoint, { method: 'POST', headers: headersOf(o.token), body: JSON.stringify({ query: print(doc), variables }) });
  let body: GqlResponse<TData>;
  try {
    body = (await res.json()) as GqlResponse<TData>;
  } catch {
    throw new Error(`${endpoint} answered HTTP ${res.status} without a GraphQL response (is it this service?)`);
  }
  if (body.errors?.length) throw new Error(`${body.errors[0]!.extensions?.code}: ${body.errors[0]!.message}`);
  if (!body.data) throw new Error(`${endpoint} answered HTTP ${res.status} without data`);
  return body.data;
}

function headersOf(token?: string): Record<string, string> {
  return { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

export async function translateFile(o: TranslateFileOptions): Promise<{ runId: string; status: string }> {
  const log = o.log ?? console.log;
  const mime = MIME[path.extname(o.image).toLowerCase()] ?? 'image/png';
  const dataUrl = `data:${mime};base64,${fs.readFileSync(o.image).toString('base64')}`;
  const { translate: run } = await request(o, TranslateDocument, { input: { task: o.task, image: dataUrl, params: o.params } });
  log(`run ${run.id} queued (${run.totalSteps} steps)`);

  const wsUrl = `${o.url.replace(/^http/, 'ws')}/graphql`;
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: o.token ? { authorization: `Bearer ${o.token}` } : undefined });
  let status = 'UNKNOWN';
  let outputUrl: string | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      client.subscribe<RunEventsSubscription>(
        { query: print(RunEventsDocument), variables: { id: run.id, afterSeq: 0 } },
        {
          next: ({ data, errors }) => {
            if (errors?.length) return reject(new Error(`${(errors[0] as { extensions?: { code?: string } }).extensions?.code}: ${errors[0]!.message}`));
            const e = data!.runEvents;
            if (e.type === 'STATUS') log(`status ${e.status}`);
            else if (e.type === 'STEP') log(`step ${e.step}/${e.totalSteps} t=${e.t}${e.energies ? ` realism=${e.energies.realism.toFixed(4)} faithfulness=${e.energies.faithfulness.toFixed(2)}` : ''}`);
            else if (e.type === 'RESULT') (status = 'SUCCEEDED'), (outputUrl = e.outputUrl ?? null);
            else if (e.type === 'ERROR') (status = 'FAILED'), log(`failed: ${e.error?.code} ${e.error?.message}`);
            else if (e.type === 'CANCELLED') status = 'CANCELLED';
          },
          error: (e: unknown) => reject(e instanceof Error ? e : new Error(`the subscription at ${wsUrl} closed: ${(e as { code?: number; reason?: string })?.code ?? ''} ${(e as { reason?: string })?.reason ?? String(e)}`.trim())),
          complete: resolve,
        },
      );
    });
  } finally {
    await client.dispose();
  }
  if (outputUrl) {
    const img = await reach(`${o.url}${outputUrl}`, { headers: headersOf(o.token) });
    if (!img.ok) throw new Error(`GET ${o.url}${outputUrl}: HTTP ${img.status}`);
    fs.writeFileSync(o.out, Buffer.from(await img.arrayBuffer()));
    log(`saved ${o.out}`);
  }
  return { runId: run.id, status };
}

if (require.main === module) {
  const arg = (name: string, d?: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const image = arg('image');
  if (!image) {
    console.error('usage: translate.ts --image FILE [--task demo] [--out result.png] [--url URL] [--steps N] [--M N] [--seed N] [--token KEY]');
    process.exit(2);
  }
  const params: Record<string, number> = {};
  for (const k of ['steps', 'seed', 'M']) if (arg(k)) params[k] = Number(arg(k));
  translateFile({ url: serverUrl(), image, task: arg('task', 'demo')!, out: arg('out', 'result.png')!, params, token: arg('token') })
    .then((r) => process.exit(r.status === 'SUCCEEDED' ? 0 : 1))
    .catch((e: unknown) => {
      console.error((e as Error)?.message ?? e);
      process.exit(1);
    });
}
