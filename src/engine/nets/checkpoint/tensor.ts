/**
 * Rebuild a tensor from its storage bytes the way torch._utils._rebuild_tensor_v2 does
 * (storage.set_(storage, offset, size, stride)), then copy it out contiguous in C order:
 * element [i0, i1, ...] is storage[offset + i0*stride0 + i1*stride1 + ...]. Any strides work
 * (transposed, expanded with stride 0, sliced with an offset); several tensors may share a storage.
 */
import { bfloat16ArrayToFloat32, float64ArrayToFloat32, halfArrayToFloat32, storageDType } from './dtypes';
import { invalid, unsupported } from './fail';
import { TensorRef } from './pickle';
import { CheckpointTensor } from './types';

type Elements = Float32Array | Float64Array | Uint16Array | BigInt64Array;
type Indexable = { [i: number]: number | bigint; readonly length: number };

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** dst[k] = src[offset + sum(index_d * stride_d)] for the C-order index k of shape */
export function gatherStrided(src: Indexable, dst: Indexable, shape: number[], stride: number[], offset: number): void {
  const nd = shape.length;
  if (dst.length === 0) return;
  if (nd === 0) {
    dst[0] = src[offset];
    return;
  }
  const inner = shape[nd - 1];
  const innerStride = stride[nd - 1];
  const index = new Array<number>(nd - 1).fill(0);
  let base = offset;
  let k = 0;
  for (;;) {
    for (let i = 0, j = base; i < inner; i++, j += innerStride) dst[k++] = src[j];
    // odometer over the outer dimensions, last fastest
    let d = nd - 2;
    for (; d >= 0; d--) {
      index[d]++;
      base += stride[d];
      if (index[d] < shape[d]) break;
      base -= stride[d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

function view(dtype: CheckpointTensor['dtype'], bytes: Uint8Array, numel: number): Elements {
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, numel);
    case 'float64':
      return new Float64Array(buffer, byteOffset, numel);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, numel);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, numel);
  }
}

function toOutput(dtype: CheckpointTensor['dtype'], raw: Elements): Float32Array | BigInt64Array {
  switch (dtype) {
    case 'float32':
    case 'int64':
      return raw as Float32Array | BigInt64Array;
    case 'float64':
      return float64ArrayToFloat32(raw as Float64Array);
    case 'float16':
      return halfArrayToFloat32(raw as Uint16Array);
    case 'bfloat16':
      return bfloat16ArrayToFloat32(raw as Uint16Array);
  }
}

/**
 * Materialise `ref` from the bytes of its storage (a whole zip entry, at an aligned offset).
 * `shared` says whether other tensors use the same storage; when not, and the tensor is the
 * whole storage, a float32/int64 result is a view of `bytes` instead of a copy.
 */
export function materializeTensor(ref: TensorRef, bytes: Uint8Array, name: string, file: string, shared: boolean): CheckpointTensor {
  const { storage, shape, stride, offset } = ref;
  const info = storageDType(storage.storageClass);
  if (!info) {
    throw unsupported(file, `tensor ${name} has storage type torch.${storage.storageClass}, which is not supported (supported: float32, float16, bfloat16, float64, int64)`, {
      tensor: name,
      storageClass: storage.storageClass,
    });
  }
  if (storage.numel * info.size > bytes.length) {
    throw invalid(file, `storage ${storage.key} of tensor ${name} has ${bytes.length} bytes, but ${storage.numel} elements of torch.${storage.storageClass} need ${storage.numel * info.size}`);
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel > 0) {
    let last = offset;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
    if (last >= storage.numel) {
      throw invalid(file, `tensor ${name} (size [${shape}], stride [${stride}], offset ${offset}) reaches element ${last} of a storage of ${storage.numel}`);
    }
  }
  const src = view(info.dtype, bytes, storage.numel);
  let raw: Elements;
  if (isContiguous(shape, stride)) {
    raw = src.subarray(offset, offset + numel);
    const wholeStorage = offset === 0 && numel === storage.numel && !shared;
    if (!wholeStorage && (info.dtype === 'float32' || info.dtype === 'int64')) raw = raw.slice();
  } else {
    raw = new (src.constructor as new (n: number) => Elements)(numel);
    gatherStrided(src, raw, shape, stride, offset);
  }
  return { shape: [...shape], dtype: info.dtype, data: toOutput(info.dtype, raw) };
}
