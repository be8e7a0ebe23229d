/**
 * The checkpoint codec: a run's sampler state (RunCheckpoint) as bytes a store can keep, and
 * back. Layout, little-endian: "EGCK", u8 version, u8 flags (bit 0: x0 present), u16 0,
 * u32 stepsDone, u32 values, then y and (if present) x0 as float32.
 */
import { EngineError } from '../errors';
import type { RunCheckpoint } from './run-state';

const MAGIC = 0x4b434745; // "EGCK" read as a little-endian u32
const VERSION = 1;
const HEADER = 16;

export function encodeCheckpoint(c: RunCheckpoint): Uint8Array {
  const n = c.y.length;
  if (c.x0 && c.x0.length !== n) throw new RangeError(`checkpoint x0 has ${c.x0.length} values, y ${n}`);
  const out = new Uint8Array(HEADER + 4 * n * (c.x0 ? 2 : 1));
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint8(4, VERSION);
  view.setUint8(5, c.x0 ? 1 : 0);
  view.setUint32(8, c.stepsDone, true);
  view.setUint32(12, n, true);
  for (let i = 0; i < n; i++) view.setFloat32(HEADER + 4 * i, c.y[i], true);
  if (c.x0) for (let i = 0; i < n; i++) view.setFloat32(HEADER + 4 * (n + i), c.x0[i], true);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): RunCheckpoint {
  const bad = (why: string) => new EngineError('engine/invalid_input', `not a run checkpoint: ${why}`);
  if (bytes.length < HEADER) throw bad(`${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw bad('no EGCK header');
  if (view.getUint8(4) !== VERSION) throw bad(`version ${view.getUint8(4)}`);
  const hasX0 = (view.getUint8(5) & 1) === 1;
  const stepsDone = view.getUint32(8, true);
  const n = view.getUint32(12, true);
  if (bytes.length !== HEADER + 4 * n * (hasX0 ? 2 : 1)) throw bad(`${bytes.length} bytes for ${n} values`);
  const read = (from: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = view.getFloat32(HEADER + 4 * (from + i), true);
    return a;
  };
  return { stepsDone, y: read(0), x0: hasX0 ? read(n) : null };
}
