/**
 * A small Node client: sends an image, prints progress from the subscription, saves the result.
 *
 *   npx ts-node client-examples/translate.ts --image cat.png --task demo --out dog.png \
 *     [--url http://localhost:4000] [--steps 100] [--seed 1] [--token API_TOKEN]
 */
import * as fs from 'fs';
import * as path from 'path';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';

const OPS = fs.readFileSync(path.join(__dirname, 'operations.graphql'), 'utf8');

/** The text of one named operation from operations.graphql. */
export function operation(name: string): string {
  const m = new RegExp(`^(query|mutation|subscription) ${name}\\b[\\s\\S]*?^}`, 'm').exec(OPS);
  if (!m) throw new Error(`no operation ${name}`);
  return m[0];
}

export interface TranslateFileOptions {
  url: string;
  image: string;
  task: string;
  out: string;
  params?: Record<string, unknown>;
  token?: string;
  log?: (line: string) => void;
}

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

export async function translateFile(o: TranslateFileOptions): Promise<{ runId: string; status: string }> {
  const log = o.log ?? console.log;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const mime = MIME[path.extname(o.image).toLowerCase()] ?? 'image/png';
  const dataUrl = `data:${mime};base64,${fs.readFileSync(o.image).toString('base64')}`;
  const res = await fetch(`${o.url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query: operation('Translate'), operationName: 'Translate', variables: { input: { task: o.task, image: dataUrl, params: o.params } } }),
  });
  const body = (await res.json()) as { data?: { translate: { id: string; totalSteps: number } }; errors?: { message: string; extensions?: { code?: string } }[] };
  if (body.errors) throw new Error(`${body.errors[0].extensions?.code}: ${body.errors[0].message}`);
  const run = body.data!.translate;
  log(`run ${run.id} queued (${run.totalSteps} steps)`);

  const client = createClient({ url: `${o.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: o.token ? { authorization: `Bearer ${o.token}` } : undefined });
  let status = 'UNKNOWN';
  let outputUrl: string | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      client.subscribe<{ runEvents: { type: string; status: string | null; step: number | null; totalSteps: number | null; t: number | null; energies: { realism: number; faithfulness: number } | null; outputUrl: string | null; error: { code: string; message: string } | null } }>(
        { query: operation('RunEvents'), operationName: 'RunEvents', variables: { id: run.id, afterSeq: 0 } },
        {
          next: ({ data }) => {
            const e = data!.runEvents;
            if (e.type === 'STATUS') log(`status ${e.status}`);
            else if (e.type === 'STEP') log(`step ${e.step}/${e.totalSteps} t=${e.t}${e.energies ? ` realism=${e.energies.realism.toFixed(4)} faithfulness=${e.energies.faithfulness.toFixed(2)}` : ''}`);
            else if (e.type === 'RESULT') (status = 'SUCCEEDED'), (outputUrl = e.outputUrl);
            else if (e.type === 'ERROR') (status = 'FAILED'), log(`failed: ${e.error?.code} ${e.error?.message}`);
            else if (e.type === 'CANCELLED') status = 'CANCELLED';
          },
          error: reject,
          complete: resolve,
        },
      );
    });
  } finally {
    await client.dispose();
  }
  if (outputUrl) {
    const img = await fetch(`${o.url}${outputUrl}`, { headers });
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
  const params: Record<string, unknown> = {};
  for (const k of ['steps', 'seed', 'M']) if (arg(k)) params[k] = Number(arg(k));
  translateFile({ url: arg('url', 'http://localhost:4000')!, image: arg('image')!, task: arg('task', 'demo')!, out: arg('out', 'result.png')!, params, token: arg('token') })
    .then((r) => process.exit(r.status === 'SUCCEEDED' ? 0 : 1))
    .catch((e) => {
      console.error(e.message ?? e);
      process.exit(1);
    });
}
