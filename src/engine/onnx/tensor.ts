/**
 * Host tensors as the graph IR stores them (initializers, constants, attribute tensors).
 * Data types are ONNX TensorProto.DataType numbers (onnx.proto).
 */
export enum DType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
}

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function floatTensor(dims: number[], data?: ArrayLike<number>): Tensor {
  const arr = new Float32Array(numel(dims));
  if (data) arr.set(data);
  return { dtype: DType.FLOAT, dims, data: arr };
}

export function int64Tensor(dims: number[], data: ArrayLike<number | bigint>): Tensor {
  const arr = new BigInt64Array(numel(dims));
  for (let i = 0; i < arr.length; i++) arr[i] = BigInt(data[i] as number | bigint);
  return { dtype: DType.INT64, dims, data: arr };
}

export function isFloatType(dtype: DType): boolean {
  return dtype === DType.FLOAT || dtype === DType.DOUBLE || dtype === DType.FLOAT16;
}

/** Values of a small numeric tensor as JS numbers (int64 converted; used for shapes and indices). */
export function tensorToNumbers(t: Tensor): number[] {
  const out: number[] = [];
  const d = t.data;
  for (let i = 0; i < d.length; i++) out.push(Number(d[i]));
  return out;
}

export function dtypeName(dtype: DType): string {
  return DType[dtype] ?? `dtype(${dtype})`;
}
