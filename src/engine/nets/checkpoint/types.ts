/** Public types of the PyTorch checkpoint reader (re-exported by index.ts). */

export type CheckpointDType = 'float32' | 'float16' | 'float64' | 'int64' | 'bfloat16';

export interface CheckpointTensor {
  /** dimensions, C order; [] for a scalar */
  shape: number[];
  /** the dtype stored in the checkpoint */
  dtype: CheckpointDType;
  /** contiguous C-order values: float types converted to float32, int64 kept as BigInt64Array */
  data: Float32Array | BigInt64Array;
}

/** parameter/buffer name -> tensor, in the checkpoint's order */
export type StateDict = Map<string, CheckpointTensor>;

export interface ReadCheckpointOptions {
  /** called as storage bytes are read; the last call has bytesRead === totalBytes */
  onProgress?(bytesRead: number, totalBytes: number): void;
}
