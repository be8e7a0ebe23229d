// Builds the browser bundles (Vite) into dist/web/<name>, each only when its sources are newer
// than its last build: web/app (the web app served at /) and web/graphiql (the offline GraphQL
// IDE served at GET /graphql). `npm run build:web` (also run by `npm start` and `npm test`);
// `--force` rebuilds both.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

// production bundles whatever the caller's NODE_ENV (jest sets 'test', which makes Vite emit dev JSX)
process.env.NODE_ENV = 'production';
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const force = process.argv.includes('--force');
const BUNDLES = ['app', 'graphiql'];
// what every bundle depends on besides its own folder
const SHARED = ['web/shared', 'schema/schema.graphql', 'client-examples/operations.graphql', 'package-lock.json'];

function newest(p) {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of fs.readdirSync(p)) m = Math.max(m, newest(path.join(p, e)));
  return m;
}

for (const name of BUNDLES) {
  const src = path.join(root, 'web', name);
  const config = path.join(src, 'vite.config.mjs');
  if (!fs.existsSync(config)) continue;
  const out = path.join(root, 'dist', 'web', name);
  const stamp = path.join(out, 'index.html');
  const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
  const changed = Math.max(newest(src), ...SHARED.map((s) => newest(path.join(root, s))));
  if (!force && built > changed) continue;
  const t0 = Date.now();
  await build({ configFile: config, root: src, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
  console.log(`build:web: built ${name} in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${path.relative(root, out)}`);
}
