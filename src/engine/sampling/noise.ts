/**
 * Noise for a run: e (drawn once per repeat, for the start and for xt) and z (fresh every step).
 * A seeded generator makes a run reproducible from its seed on the same provider; tests inject
 * the official implementation's recorded noise instead.
 */
import { Rng } from './random';

export interface NoiseSource {
  /** e ~ N(0, I) for repeat r. */
  initial(repeat: number, size: number): Float32Array;
  /** z ~ N(0, I) for step `step` (counted over all repeats). */
  step(step: number, size: number): Float32Array;
}

/**
 * Standard normals that are a function of (seed, stream, index) alone: e of repeat r and z of
 * step s each come from their own generator, seeded by hashing the three together, so a run
 * resumed from a checkpoint at step k draws exactly the noise an uninterrupted run draws there.
 */
export class SeededNoise implements NoiseSource {
  constructor(readonly seed: number) {}
  initial(repeat: number, size: number): Float32Array {
    return new Rng(noiseSeed(this.seed, STREAM_E, repeat)).normals(size);
  }
  step(step: number, size: number): Float32Array {
    return new Rng(noiseSeed(this.seed, STREAM_Z, step)).normals(size);
  }
}

const STREAM_E = 0x65;
const STREAM_Z = 0x7a;

/** A 32-bit seed for one noise draw: murmur3's finaliser over seed, stream and index, chained. */
export function noiseSeed(seed: number, stream: number, index: number): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32((h ^ stream) >>> 0);
  h = mix32((h ^ (index >>> 0)) + 0x85ebca6b);
  return h >>> 0;
}

function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Recorded noise (golden tests): e per repeat and z per step. */
export class RecordedNoise implements NoiseSource {
  constructor(private readonly e: Float32Array[], private readonly z: Float32Array[]) {}
  initial(repeat: number, size: number): Float32Array {
    return check(this.e[repeat], size, `e[${repeat}]`);
  }
  step(step: number, size: number): Float32Array {
    return check(this.z[step], size, `z[${step}]`);
  }
}

function check(a: Float32Array | undefined, size: number, what: string): Float32Array {
  if (!a || a.length !== size) throw new RangeError(`recorded noise ${what} is missing or has ${a?.length ?? 0} values, expected ${size}`);
  return a;
}
