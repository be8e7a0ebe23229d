/**
 * Writing a pack folder so that it appears complete or not at all: the files go into a staging
 * folder beside it, the manifest is validated and written last, and the staging folder is renamed
 * into place (an existing pack, with `force`, is moved aside first and removed after).
 */
import * as fs from 'fs';
import * as path from 'path';
import { EngineError } from '../errors';
import { processIsAlive } from '../../util/process-alive';
import { PACK_MANIFEST_FILE } from './load';
import { parsePackManifest, PackManifest } from './schema';

export interface WritePackFolderOptions {
  /** pack.json, validated before anything is published */
  manifest: unknown;
  /** writes the pack's other files into `staging` */
  write(staging: string): Promise<void> | void;
  /** replace an existing pack folder. Default false. */
  force?: boolean;
}

export async function writePackFolder(outDir: string, opts: WritePackFolderOptions): Promise<{ dir: string; manifest: PackManifest }> {
  const out = path.resolve(outDir);
  if (fs.existsSync(out) && !opts.force) throw new EngineError('engine/invalid_input', `${out} exists; pass --force to replace it`, { field: 'out' });
  const staging = `${out}.partial-${process.pid}`;
  const aside = `${out}.old-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    await opts.write(staging);
    const manifestPath = path.join(staging, PACK_MANIFEST_FILE);
    const manifest = parsePackManifest(opts.manifest, manifestPath);
    fs.writeFileSync(manifestPath, `${JSON.stringify(opts.manifest, null, 2)}\n`);
    const replacing = fs.existsSync(out);
    if (replacing) fs.renameSync(out, aside);
    fs.renameSync(staging, out);
    if (replacing) fs.rmSync(aside, { recursive: true, force: true });
    return { dir: out, manifest };
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** Staging folders of writers that were killed (`<name>.partial-<pid>` whose process is gone), removed. */
export function removeDeadStaging(outDir: string): string[] {
  const out = path.resolve(outDir);
  const parent = path.dirname(out);
  const prefix = `${path.basename(out)}.partial-`;
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || processIsAlive(pid)) continue;
    fs.rmSync(path.join(parent, name), { recursive: true, force: true });
    removed.push(path.join(parent, name));
  }
  return removed;
}

