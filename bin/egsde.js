#!/usr/bin/env node
// Runs the compiled CLI when built (npm run build), else the TypeScript sources through ts-node.
const fs = require('fs');
const path = require('path');
const dist = path.join(__dirname, '..', 'dist', 'src', 'cli', 'egsde.js');
let mod;
if (fs.existsSync(dist)) mod = require(dist);
else {
  require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', 'tsconfig.json') });
  mod = require('../src/cli/egsde.ts');
}
mod.cli(process.argv).catch((e) => {
  console.error(e && e.code ? `error ${e.code}: ${String(e.message).replace(`${e.code}: `, '')}` : e);
  process.exit(1);
});
