/**
 * GET /samples/:pack/:file: a pack's web samples, the images the web page offers as sources for
 * that pack. They live in the pack folder (samples/ beside pack.json; samples/index.json lists
 * `{ file, title }`), so a trained pack brings its own. Only the packs of the server's models
 * folder are served, read once at start; anything else is a 404 with a code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import express from 'express';
import { sendJsonError } from './request-errors';

const SAMPLES_DIR = 'samples';
const SAMPLES_INDEX = 'index.json';
const SAMPLE_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*\.(png|jpe?g|webp|json)$/;
const CONTENT_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', json: 'application/json' };

/** Pack name -> its samples folder, for every pack folder of `modelsDir` that has samples/index.json. */
export function findPackSamples(modelsDir: string): Map<string, string> {
  const found = new Map<string, string>();
  let names: string[];
  try {
    names = fs.readdirSync(modelsDir).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return found;
  }
  for (const n of names) {
    const dir = path.join(modelsDir, n);
    if (!fs.existsSync(path.join(dir, SAMPLES_DIR, SAMPLES_INDEX))) continue;
    try {
      const name = (JSON.parse(fs.readFileSync(path.join(dir, 'pack.json'), 'utf8')) as { name?: unknown }).name;
      if (typeof name === 'string' && !found.has(name)) found.set(name, path.join(dir, SAMPLES_DIR));
    } catch {
      // not a pack folder (the engine reports bad packs)
    }
  }
  return found;
}

export function mountPackSamples(app: express.Express, modelsDir: string | undefined): void {
  const samples = modelsDir ? findPackSamples(modelsDir) : new Map<string, string>();
  app.get('/samples/:pack/:file', (req, res) => {
    const { pack, file } = req.params;
    const dir = samples.get(pack);
    if (!dir) return sendJsonError(res, 404, 'pack/not_found', `no pack ${JSON.stringify(pack.slice(0, 100))} with web samples on this server`, { pack: pack.slice(0, 100) });
    const full = path.join(dir, file);
    if (!SAMPLE_FILE.test(file) || !fs.existsSync(full)) return sendJsonError(res, 404, 'storage/not_found', `pack ${pack} has no sample ${JSON.stringify(file.slice(0, 100))}`, { pack, file: file.slice(0, 100) });
    res.setHeader('content-type', CONTENT_TYPES[file.split('.').pop()!.toLowerCase()]);
    res.setHeader('cache-control', 'public, max-age=3600');
    res.sendFile(full);
  });
}
