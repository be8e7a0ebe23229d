/**
 * Test helper: reference vectors produced by the official EGSDE implementation
 * (ML-GSAI/EGSDE, CPU, PyTorch), stored in test/fixtures/egsde-tiny.
 *
 * Format (see the fixture README): `manifest.json` lists every tensor as
 * `{file, dtype: "float32", shape}` and every case with its settings; each `*.f32` file
 * is raw little-endian float32 in C order.
 *
 * API: `loadGolden(name)` -> a tensor, `goldenCase(name)` -> a case's settings,
 * `relL2(a, b)` -> ||a - b|| / ||b||.
 */
import * as fs from 'fs';
import * as path from 'path';

/** A golden tensor: float32 data in C order and its shape. */
export interface GoldenTensor {
  readonly data: Float32Array;
  readonly shape: number[];
}

/** A case's settings as written in manifest.json (tensor fields hold tensor names). */
export type GoldenCase = Readonly<Record<string, unknown>>;

interface ManifestTensor {
  file: string;
  dtype: string;
  shape: number[];
}

interface Manifest {
  source: string;
  seed: number;
  tensors: Record<string, ManifestTensor>;
  cases: Record<string, Record<string, unknown>>;
  models?: Record<string, unknown>;
}

const FIXTURE_SUBDIR = path.join('test', 'fixtures', 'egsde-tiny');

let cachedDir: string | undefined;
let cachedManifest: Manifest | undefined;

/**
 * The fixture directory: `test/fixtures/egsde-tiny` under the project root, found by walking up
 * from this file's directory (works from src/ under ts-jest and from a compiled dist/ tree).
 */
export function goldenDir(): string {
  if (cachedDir !== undefined) return cachedDir;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, FIXTURE_SUBDIR);
    if (fs.existsSync(path.join(candidate, 'manifest.json'))) {
      cachedDir = candidate;
      return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`golden fixtures not found: no ${FIXTURE_SUBDIR}/manifest.json above ${__dirname}`);
    }
    dir = parent;
  }
}

function manifest(): Manifest {
  if (cachedManifest === undefined) {
    const text = fs.readFileSync(path.join(goldenDir(), 'manifest.json'), 'utf8');
    cachedManifest = JSON.parse(text) as Manifest;
  }
  return cachedManifest;
}

/** Names of all tensors in the manifest. */
export function goldenTensorNames(): string[] {
  return Object.keys(manifest().tensors);
}

/** Reads the tensor `name` (a key of manifest.json `tensors`). A fresh copy on every call. */
export function loadGolden(name: string): GoldenTensor {
  const entry = manifest().tensors[name];
  if (entry === undefined) throw new Error(`golden tensor '${name}' is not in manifest.json`);
  if (entry.dtype !== 'float32') {
    throw new Error(`golden tensor '${name}' has dtype '${entry.dtype}'; only float32 is supported`);
  }
  const file = path.join(goldenDir(), entry.file);
  const bytes = fs.readFileSync(file);
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * 4) {
    throw new Error(`golden tensor '${name}' (${entry.file}): ${bytes.length} bytes, expected ${count * 4} for shape [${entry.shape.join(',')}]`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
  return { data, shape: [...entry.shape] };
}

/** The settings of case `name` (a key of manifest.json `cases`), e.g. `goldenCase('resizer').down_N`. */
export function goldenCase(name: string): GoldenCase {
  const entry = manifest().cases[name];
  if (entry === undefined) throw new Error(`golden case '${name}' is not in manifest.json`);
  return entry;
}

/**
 * Relative L2 error ||a - b|| / ||b||, accumulated in float64. `b` is the reference.
 * When ||b|| = 0 it returns the absolute error ||a - b||.
 */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relL2: length mismatch (${a.length} vs ${b.length})`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    diff += d * d;
    ref += b[i] * b[i];
  }
  return ref === 0 ? Math.sqrt(diff) : Math.sqrt(diff / ref);
}
