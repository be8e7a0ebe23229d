// The offline GraphQL IDE (GraphiQL, bundled with its CSS and fonts: nothing from a CDN),
// served by src/http/web.ts: GET /graphql with Accept: text/html -> index.html, assets under
// /graphiql/. Built by `npm run build:web` (web/build.mjs) into dist/web/graphiql, or alone with
// `npx vite build -c web/graphiql/vite.config.mjs`.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/graphiql/',
  publicDir: false,
  // React's and codemirror's `process.env.NODE_ENV` checks: the production builds, no `process` global
  define: { 'process.env.NODE_ENV': '"production"' },
  // jsxDev off whatever NODE_ENV says (jest sets NODE_ENV=test when a test builds this, and Vite
  // would then emit jsxDEV calls, which React's production runtime does not have)
  esbuild: { jsx: 'automatic', jsxDev: false },
  build: {
    outDir: path.join(here, '..', '..', 'dist', 'web', 'graphiql'),
    emptyOutDir: true,
    target: 'es2020',
    // one bundle of GraphiQL + React + graphql-js is ~2 MB (minified); served once, cached for a year
    chunkSizeWarningLimit: 4096,
    // fonts and icons inline as data URLs (graphiql's CSS already embeds its fonts)
    assetsInlineLimit: 100000,
    rollupOptions: {
      input: path.join(here, 'index.html'),
      onwarn(warning, warn) {
        // radix-ui's "use client" (a React Server Components marker): meaningless in a browser bundle
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
