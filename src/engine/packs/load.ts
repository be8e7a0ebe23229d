/**
 * Loading model packs from disk (docs/architecture.md, model packs): one pack folder (`loadPack`), every pack
 * in a models directory (`discoverPacks`), and lookup by task name (`findPack`).
 *
 * Errors are `EngineError`s: 'pack/not_found' for a missing folder, a folder without pack.json
 * or an unknown name; 'pack/invalid' for everything else, with a message naming the pack.json
 * (relative to the working directory when inside it) and the JSON field.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { EngineError, isEngineError } from '../errors';
import { PackManifest, packInvalid, parsePackManifest } from './schema';

/** The manifest's file name inside a pack folder. */
export const PACK_MANIFEST_FILE = 'pack.json';

export interface LoadPackOptions {
  /**
   * The models root that shared files may live under (used only with `allowSharedFiles`).
   * Default: the pack folder's parent (for `discoverPacks`, the models directory).
   */
  root?: string;
  /**
   * Let `score.file` / `dse.file` resolve outside the pack folder as long as they stay inside
   * `root` (for model files shared by several packs). Default false: files must be inside the
   * pack folder.
   */
  allowSharedFiles?: boolean;
}

export interface LoadedPack {
  /** The pack folder, absolute. */
  dir: string;
  /** Its pack.json, absolute. */
  manifestPath: string;
  /** The parsed, defaults-filled manifest. */
  manifest: PackManifest;
  /** `manifest.score.file` resolved, absolute. */
  scorePath: string;
  /** `manifest.dse.file` resolved, absolute. */
  dsePath: string;
}

/** `abs` relative to the working directory when it lies inside it (forward slashes), else `abs`. */
export function displayPath(abs: string): string {
  const cwd = process.cwd();
  return isInside(cwd, abs) ? path.relative(cwd, abs).split(path.sep).join('/') : abs;
}

/** Whether `child` is `parent` itself or lies below it (both absolute, compared lexically). */
function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** `JSON.parse`'s message with a line:column added when it only gives a character position. */
function jsonErrorMessage(e: unknown, text: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /at position (\d+)/.exec(msg);
  if (!m || /line \d+/.test(msg)) return msg;
  const before = text.slice(0, Number(m[1])).split('\n');
  return `${msg} (line ${before.length} column ${before[before.length - 1]!.length + 1})`;
}

/** Reads and parses `dir/pack.json`; throws 'pack/not_found' when the folder or file is missing. */
async function readManifest(dir: string): Promise<{ manifestPath: string; file: string; json: unknown }> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat || !stat.isDirectory()) {
    throw new EngineError('pack/not_found', `pack folder ${displayPath(dir)} ${stat ? 'is not a folder' : 'does not exist'}`, {
      file: displayPath(dir),
      field: null,
    });
  }
  const manifestPath = path.join(dir, PACK_MANIFEST_FILE);
  const file = displayPath(manifestPath);
  let text: string;
  try {
    text = await fs.readFile(manifestPath, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new EngineError('pack/not_found', `${file}: no ${PACK_MANIFEST_FILE} in the pack folder`, { file, field: null });
    }
    throw packInvalid(file, null, `cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  text = text.replace(/^\uFEFF/, '');
  try {
    return { manifestPath, file, json: JSON.parse(text) };
  } catch (e) {
    throw packInvalid(file, null, `invalid JSON: ${jsonErrorMessage(e, text)}`);
  }
}

/**
 * Resolves one model file of a manifest and checks that it stays inside the pack folder (or,
 * with `allowSharedFiles`, inside the models root), also after following symlinks, and that it
 * is an existing regular file.
 */
async function resolveModelFile(
  dir: string,
  rel: string,
  field: string,
  file: string,
  opts: LoadPackOptions,
): Promise<string> {
  const root = path.resolve(opts.root ?? path.dirname(dir));
  const shared = opts.allowSharedFiles === true;
  const allowed = (p: string, packDir: string, rootDir: string) => isInside(packDir, p) || (shared && isInside(rootDir, p));
  const where = shared ? `both the pack folder and the models root (${displayPath(root)})` : 'the pack folder';
  const hint = shared ? '' : ' (files shared between packs need the loader option allowSharedFiles)';

  const abs = path.resolve(dir, rel);
  if (!allowed(abs, dir, root)) throw packInvalid(file, field, `'${rel}' resolves outside ${where}${hint}`);

  const stat = await fs.stat(abs).catch(() => undefined);
  if (!stat) throw packInvalid(file, field, `'${rel}' does not exist (looked for ${displayPath(abs)})`);
  if (!stat.isFile()) throw packInvalid(file, field, `'${rel}' is not a file (${displayPath(abs)})`);

  const [real, realDir, realRoot] = await Promise.all([fs.realpath(abs), fs.realpath(dir), fs.realpath(root).catch(() => root)]);
  if (!allowed(real, realDir, realRoot)) {
    throw packInvalid(file, field, `'${rel}' resolves through a symlink to ${real}, outside ${where}${hint}`);
  }
  return abs;
}

/**
 * Loads the pack in `dir`: reads and validates pack.json, fills the defaults and resolves the
 * model files to absolute paths. Throws `EngineError` ('pack/not_found' or 'pack/invalid').
 */
export async function loadPack(dir: string, opts: LoadPackOptions = {}): Promise<LoadedPack> {
  const absDir = path.resolve(dir);
  const { manifestPath, file, json } = await readManifest(absDir);
  const manifest = parsePackManifest(json, file);
  const scorePath = await resolveModelFile(absDir, manifest.score.file, 'score.file', file, opts);
  const dsePath = await resolveModelFile(absDir, manifest.dse.file, 'dse.file', file, opts);
  return { dir: absDir, manifestPath, manifest, scorePath, dsePath };
}

export interface DiscoverPacksResult {
  /** Valid packs with distinct names, in folder-name order. */
  packs: LoadedPack[];
  /** One error per bad pack (and per later pack reusing a name), in folder-name order. */
  errors: EngineError[];
}

/**
 * Loads every immediate subfolder of `modelsDir` that holds a pack.json (folders starting with
 * '.' are skipped). A bad pack is reported in `errors` and does not stop the others; a pack
 * whose name an earlier folder already uses is an error. `opts.root` defaults to `modelsDir`.
 * Throws 'pack/not_found' only when `modelsDir` itself is missing.
 */
export async function discoverPacks(modelsDir: string, opts: LoadPackOptions = {}): Promise<DiscoverPacksResult> {
  const absModels = path.resolve(modelsDir);
  let names: string[];
  try {
    names = (await fs.readdir(absModels)).filter((n) => !n.startsWith('.')).sort();
  } catch (e) {
    throw new EngineError('pack/not_found', `models directory ${displayPath(absModels)} cannot be read (${errnoCode(e) ?? String(e)})`, {
      file: displayPath(absModels),
      field: null,
    });
  }
  const loadOpts: LoadPackOptions = { ...opts, root: opts.root ?? absModels };

  const results = await Promise.all(
    names.map(async (n): Promise<LoadedPack | EngineError | undefined> => {
      const dir = path.join(absModels, n);
      const isPackFolder = (await fs.stat(dir).catch(() => undefined))?.isDirectory() === true;
      const hasManifest = isPackFolder && (await fs.stat(path.join(dir, PACK_MANIFEST_FILE)).catch(() => undefined)) !== undefined;
      if (!hasManifest) return undefined;
      try {
        return await loadPack(dir, loadOpts);
      } catch (e) {
        if (isEngineError(e)) return e;
        return packInvalid(displayPath(path.join(dir, PACK_MANIFEST_FILE)), null, e instanceof Error ? e.message : String(e));
      }
    }),
  );

  const packs: LoadedPack[] = [];
  const errors: EngineError[] = [];
  const byName = new Map<string, LoadedPack>();
  for (const r of results) {
    if (r === undefined) continue;
    if (r instanceof EngineError) {
      errors.push(r);
      continue;
    }
    const first = byName.get(r.manifest.name);
    if (first) {
      errors.push(
        new EngineError(
          'pack/duplicate_name',
          `${displayPath(r.manifestPath)}: name: duplicate pack name '${r.manifest.name}' (already used by ${displayPath(first.manifestPath)}): two packs named '${r.manifest.name}' in ${displayPath(absModels)}, folders ${displayPath(first.dir)} and ${displayPath(r.dir)}; rename one (its pack.json "name")`,
          { file: displayPath(r.manifestPath), field: 'name', name: r.manifest.name, folders: [displayPath(first.dir), displayPath(r.dir)] },
        ),
      );
      continue;
    }
    byName.set(r.manifest.name, r);
    packs.push(r);
  }
  return { packs, errors };
}

/** The pack named `name`; throws 'pack/not_found' listing the available names. */
/** The first duplicate-name error of a discovery, if any: a models folder with one is refused. */
export function duplicatePackError(errors: readonly EngineError[]): EngineError | undefined {
  return errors.find((e) => e.code === 'pack/duplicate_name');
}

export function findPack(packs: readonly LoadedPack[], name: string): LoadedPack {
  const found = packs.find((p) => p.manifest.name === name);
  if (found) return found;
  const available = packs.map((p) => p.manifest.name).sort();
  const list = available.length > 0 ? `available: ${available.join(', ')}` : 'no packs are loaded';
  throw new EngineError('pack/not_found', `unknown pack '${name}' (${list})`, { name, available });
}
