// The web app (served at / by src/http/web.ts). Built by web/build.mjs into dist/web/app:
// everything bundled (React, Mantine, uPlot, graphql-ws), no CDN, so it works offline.
// The packs' sample images are served by the API (GET /samples/PACK/FILE, src/http/pack-samples.ts).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
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
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true }, '/artifacts': 'http://localhost:4000', '/samples': 'http://localhost:4000' } },
});
