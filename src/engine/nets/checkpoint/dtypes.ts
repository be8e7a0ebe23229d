/**
 * Storage element types of torch.save checkpoints and their conversion to float32.
 *
 * A storage is named by the class pickled in its persistent id (torch.FloatStorage, ...); its
 * bytes are little-endian elements of that type. Half and bfloat16 widen to float32 exactly
 * (every value of both is a float32 value); float64 rounds to the nearest float32.
 */
import { CheckpointDType } from './types';

export interface StorageDType {
  dtype: CheckpointDType;
  /** bytes per element */
  size: number;
}

/** torch storage class name (GLOBAL 'torch <name>') -> element type */
const STORAGE_DTYPES: ReadonlyMap<string, StorageDType> = new Map<string, StorageDType>([
  ['FloatStorage', { dtype: 'float32', size: 4 }],
  ['HalfStorage', { dtype: 'float16', size: 2 }],
  ['BFloat16Storage', { dtype: 'bfloat16', size: 2 }],
  ['DoubleStorage', { dtype: 'float64', size: 8 }],
  ['LongStorage', { dtype: 'int64', size: 8 }],
]);

export function storageDType(storageClass: string): StorageDType | undefined {
  return STORAGE_DTYPES.get(storageClass);
}

export const SUPPORTED_STORAGE_CLASSES: readonly string[] = [...STORAGE_DTYPES.keys()];

/**
 * IEEE 754 binary16 bits -> number, exactly: sign, 5-bit exponent (bias 15), 10-bit mantissa;
 * exponent 0 is subnormal (m * 2^-24), exponent 31 is Infinity (m = 0) or NaN.
 */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

let halfTable: Float32Array | null = null;

/** all 65536 half values as float32, built once on first use (256 KiB) */
function halfLookup(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

export function halfArrayToFloat32(src: Uint16Array): Float32Array {
  const table = halfLookup();
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return out;
}

/** bfloat16 is the top half of a float32: shift the bits into place */
export function bfloat16ArrayToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

export function float64ArrayToFloat32(src: Float64Array): Float32Array {
  return Float32Array.from(src);
}
