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

/** Standard normals from a seeded generator, drawn in the order the run consumes them. */
export class SeededNoise implements NoiseSource {
  private readonly rng: Rng;
  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
  }
  initial(_repeat: number, size: number): Float32Array {
    return this.rng.normals(size);
  }
  step(_step: number, size: number): Float32Array {
    return this.rng.normals(size);
  }
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
