// The web app (served at / by src/http/web.ts). Built by web/build.mjs into dist/web/app:
// everything bundled (React, Mantine, uPlot, graphql-ws), no CDN, so it works offline.
// The demo pack's sample images (models/demo/samples, made by scripts/make-samples.ts) are
// copied to dist/web/app/samples by the small plugin below.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const SAMPLES = path.join(root, 'models', 'demo', 'samples');

/** Emits models/demo/samples/* as samples/* (and serves them in `vite dev`). */
function samples() {
  return {
    name: 'egsde-samples',
    generateBundle() {
      if (!fs.existsSync(SAMPLES)) return;
      for (const f of fs.readdirSync(SAMPLES)) {
        if (!/\.(png|jpe?g|webp|json)$/i.test(f)) continue;
        this.emitFile({ type: 'asset', fileName: `samples/${f}`, source: fs.readFileSync(path.join(SAMPLES, f)) });
      }
    },
    configureServer(server) {
      server.middlewares.use('/samples', (req, res, next) => {
        const f = path.join(SAMPLES, path.basename(decodeURIComponent((req.url ?? '').split('?')[0])));
        if (!fs.existsSync(f)) return next();
        res.setHeader('content-type', f.endsWith('.json') ? 'application/json' : 'image/png');
        fs.createReadStream(f).pipe(res);
      });
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  plugins: [samples()],
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: path.join(root, 'dist', 'web', 'app'),
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      // Mantine's "use client" directives mean nothing in a client-only bundle
      onwarn(w, warn) {
        if (w.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(w);
      },
    },
  },
  // `npx vite web/app` against a local server: the API on :4000
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true }, '/artifacts': 'http://localhost:4000' } },
});
