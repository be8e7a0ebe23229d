/**
 * The faithfulness expert's low-pass filter L = up(down(.)) of the official EGSDE code
 * (ML-GSAI/EGSDE functions/resizer.py `Resizer`, taken from assafshocher/resizer; built in
 * runners/egsde.py as `down = Resizer(shape, 1 / down_N)`, `up = Resizer(shape_d, down_N)`),
 * expressed as dense per-axis matrices.
 *
 * The Resizer is separable and linear: along one axis, output pixel o is
 * sum_j w[o, j] * x[fov[o, j]] (`Resizer.forward`). Gathering the taps into a matrix R [out, in]
 * (R[o, fov[o, j]] += w[o, j]) gives the same map, so an image [H, W] resizes as R_h X R_w^T.
 * The filter is P = U D per axis, L(x) = P X P^T, and its adjoint (for the gradient of
 * E = sum (L(xt) - L(y))^2, which is -2 L^T (L(xt) - L(y)) w.r.t. y) is P^T X P.
 */

/** Interpolation kernels of functions/resizer.py (`Resizer.__init__` method table). */
export type ResizeKernel = 'cubic' | 'lanczos2' | 'lanczos3' | 'box' | 'linear';

/** A dense row-major matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** rows * cols values, row-major: element (r, c) at r * cols + c. */
  readonly data: Float64Array;
}

export interface ResizeMatrixOptions {
  /** Input length along the axis. */
  inSize: number;
  /** Scale factor; when omitted it is outSize / inSize (`Resizer.fix_scale_and_size`). */
  scale?: number;
  /** Output length; when omitted it is ceil(inSize * scale) (`Resizer.fix_scale_and_size`). */
  outSize?: number;
  /** Default 'linear' (the Resizer's default, and what EGSDE uses). */
  kernel?: ResizeKernel;
  /**
   * Default true. As in the Resizer, antialiasing only takes effect when downscaling
   * (scale < 1). (The Resizer switches it on for every axis when any axis has scale < 1; for the
   * equal-scale 2-D resizes EGSDE uses that is the same as this per-axis rule.)
   */
  antialiasing?: boolean;
}

// np.finfo(np.float32).eps, used by the Lanczos kernels of functions/resizer.py.
const FLOAT32_EPS = 2 ** -23;

/** The kernels of functions/resizer.py; x is the distance from the pixel center. */
function kernelFunction(kernel: ResizeKernel): { fn: (x: number) => number; width: number } {
  switch (kernel) {
    case 'cubic':
      return {
        width: 4.0,
        fn: (x) => {
          const a = Math.abs(x);
          const a2 = a ** 2;
          const a3 = a ** 3;
          return (
            (1.5 * a3 - 2.5 * a2 + 1) * (a <= 1 ? 1 : 0) +
            (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * (1 < a && a <= 2 ? 1 : 0)
          );
        },
      };
    case 'lanczos2':
      return {
        width: 4.0,
        fn: (x) =>
          ((Math.sin(Math.PI * x) * Math.sin((Math.PI * x) / 2) + FLOAT32_EPS) /
            ((Math.PI ** 2 * x ** 2) / 2 + FLOAT32_EPS)) *
          (Math.abs(x) < 2 ? 1 : 0),
      };
    case 'lanczos3':
      return {
        width: 6.0,
        fn: (x) =>
          ((Math.sin(Math.PI * x) * Math.sin((Math.PI * x) / 3) + FLOAT32_EPS) /
            ((Math.PI ** 2 * x ** 2) / 3 + FLOAT32_EPS)) *
          (Math.abs(x) < 3 ? 1 : 0),
      };
    case 'box':
      return { width: 1.0, fn: (x) => (-0.5 <= x && x < 0.5 ? 1.0 : 0.0) };
    case 'linear':
      // (x + 1) * ((-1 <= x) & (x < 0)) + (1 - x) * ((0 <= x) & (x <= 1)): the triangle kernel.
      return {
        width: 2.0,
        fn: (x) => (x + 1) * (-1 <= x && x < 0 ? 1 : 0) + (1 - x) * (0 <= x && x <= 1 ? 1 : 0),
      };
    default: {
      const unknown: never = kernel;
      throw new Error(`unknown resize kernel '${String(unknown)}'`);
    }
  }
}

/**
 * The 1-D resize of functions/resizer.py as a matrix R [outSize, inSize], computed as
 * `Resizer.contributions` computes its weights and field of view:
 *   fixed_kernel(x) = scale * kernel(scale * x) and width /= scale   (antialiasing, scale < 1)
 *   match_o = (o - (out - in * scale) / 2) / scale + 0.5 * (1 - 1 / scale),  o = 1 .. out
 *   fov_o,j = floor(match_o - width / 2) + j - 1,  j = 0 .. ceil(width) + 1
 *   w_o,j = fixed_kernel(match_o - fov_o,j - 1), each row normalized to sum 1 (a zero sum stays)
 * and the boundary is handled by the Resizer's mirror trick: fov indexes
 * [0, 1, .., in-1, in-1, .., 0] modulo 2 * in, i.e. half-sample symmetric padding
 * (x[-1] = x[0], x[in] = x[in-1]). The Resizer stores each tap weight as float32; the matrix
 * holds those float32 weights, summed in float64 where two taps mirror onto the same pixel.
 */
export function resizeMatrix(options: ResizeMatrixOptions): Matrix {
  const inSize = options.inSize;
  if (!Number.isInteger(inSize) || inSize < 1) throw new RangeError(`inSize must be a positive integer, got ${inSize}`);
  // Resizer.fix_scale_and_size: scale = out / in when only the size is given,
  // out = ceil(in * scale) when only the scale is given.
  let scale: number;
  let outSize: number;
  if (options.scale !== undefined) {
    scale = options.scale;
    outSize = options.outSize ?? Math.ceil(inSize * scale);
  } else if (options.outSize !== undefined) {
    outSize = options.outSize;
    scale = (1.0 * outSize) / inSize;
  } else {
    throw new RangeError('resizeMatrix needs a scale or an outSize');
  }
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`scale must be positive and finite, got ${scale}`);
  if (!Number.isInteger(outSize) || outSize < 1) throw new RangeError(`outSize must be a positive integer, got ${outSize}`);

  const { fn: kernel, width: baseWidth } = kernelFunction(options.kernel ?? 'linear');
  // Resizer.__init__: antialiasing *= np.any(np.array(scale_factor) < 1)
  const antialiasing = (options.antialiasing ?? true) && scale < 1;
  // Resizer.contributions
  const fixedKernel = antialiasing ? (x: number) => scale * kernel(scale * x) : kernel;
  const kernelWidth = antialiasing ? baseWidth * (1.0 / scale) : baseWidth;
  const expandedKernelWidth = Math.ceil(kernelWidth) + 2;
  const mirrorLength = 2 * inSize;

  const data = new Float64Array(outSize * inSize);
  const taps = new Float64Array(expandedKernelWidth);
  for (let o = 0; o < outSize; o++) {
    const outCoordinate = o + 1;
    const shifted = outCoordinate - (outSize - inSize * scale) / 2;
    const match = shifted / scale + 0.5 * (1 - 1 / scale);
    const leftBoundary = Math.floor(match - kernelWidth / 2);
    let sum = 0;
    for (let j = 0; j < expandedKernelWidth; j++) {
      const fov = leftBoundary + j - 1;
      taps[j] = fixedKernel(1.0 * match - fov - 1);
      sum += taps[j];
    }
    if (sum === 0) sum = 1.0;
    for (let j = 0; j < expandedKernelWidth; j++) {
      const weight = Math.fround((1.0 * taps[j]) / sum);
      if (weight === 0) continue;
      const fov = leftBoundary + j - 1;
      // mirror = [0, 1, .., in-1, in-1, .., 1, 0]; field_of_view = mirror[np.mod(fov, 2 * in)]
      const m = ((fov % mirrorLength) + mirrorLength) % mirrorLength;
      const source = m < inSize ? m : mirrorLength - 1 - m;
      data[o * inSize + source] += weight;
    }
  }
  return { rows: outSize, cols: inSize, data };
}

/**
 * The per-axis matrices of EGSDE's low-pass filter at image size `size` (runners/egsde.py):
 * down D [size / downN, size] = Resizer(shape, 1 / down_N), antialiased linear kernel;
 * up U [size, size / downN] = Resizer(shape_d, down_N), linear kernel (no antialiasing when
 * upscaling). `size` must be a multiple of `downN` (the official code builds the up-resizer for
 * int(size / down_N) pixels, so other sizes do not round-trip).
 */
export function lowPassMatrices(size: number, downN: number): { down: Matrix; up: Matrix } {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  if (!Number.isInteger(downN) || downN < 1) throw new RangeError(`downN must be a positive integer, got ${downN}`);
  if (size % downN !== 0) throw new RangeError(`size ${size} is not a multiple of downN ${downN}`);
  const small = size / downN;
  const down = resizeMatrix({ inSize: size, scale: 1 / downN, kernel: 'linear', antialiasing: true });
  const up = resizeMatrix({ inSize: small, scale: downN, kernel: 'linear', antialiasing: true });
  if (down.rows !== small || up.rows !== size) {
    throw new Error(`low-pass resize sizes do not round-trip: ${size} -> ${down.rows} -> ${up.rows}`);
  }
  return { down, up };
}

/**
 * The combined per-axis low-pass operator P = U D [size, size]: L(X) = P X P^T for an image X,
 * and L^T(G) = P^T G P (use `transpose(P)` with `applySeparable`).
 */
export function lowPassOperator(size: number, downN: number): Matrix {
  const { down, up } = lowPassMatrices(size, downN);
  return matmul(up, down);
}

/** a b, in float64. */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new RangeError(`matmul: [${a.rows}x${a.cols}] times [${b.rows}x${b.cols}]`);
  const data = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k];
      if (aik === 0) continue;
      for (let j = 0; j < b.cols; j++) data[i * b.cols + j] += aik * b.data[k * b.cols + j];
    }
  }
  return { rows: a.rows, cols: b.cols, data };
}

/** a^T. */
export function transpose(a: Matrix): Matrix {
  const data = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) data[j * a.rows + i] = a.data[i * a.cols + j];
  }
  return { rows: a.cols, cols: a.rows, data };
}

/** The matrix as float32 (row-major), e.g. for an ONNX initializer. */
export function matrixToFloat32(a: Matrix): Float32Array {
  return Float32Array.from(a.data);
}

/** Nonzero entries of each row, for sparse application of banded resize matrices. */
function rowEntries(m: Matrix): { cols: Int32Array; values: Float64Array }[] {
  const rows: { cols: Int32Array; values: Float64Array }[] = [];
  for (let r = 0; r < m.rows; r++) {
    const cols: number[] = [];
    const values: number[] = [];
    for (let c = 0; c < m.cols; c++) {
      const v = m.data[r * m.cols + c];
      if (v !== 0) {
        cols.push(c);
        values.push(v);
      }
    }
    rows.push({ cols: Int32Array.from(cols), values: Float64Array.from(values) });
  }
  return rows;
}

/**
 * Y = Rh X Rw^T for every image and channel of x [N, C, H, W] (C order), with Rh [Ho, H] and
 * Rw [Wo, W]; returns y [N, C, Ho, Wo]. Accumulates in float64, rounds the result to float32.
 */
export function applySeparable(
  x: Float32Array,
  shape: readonly number[],
  rh: Matrix,
  rw: Matrix,
): { data: Float32Array; shape: [number, number, number, number] } {
  if (shape.length !== 4) throw new RangeError(`applySeparable expects [N,C,H,W], got [${shape.join(',')}]`);
  const [n, c, h, w] = shape;
  if (x.length !== n * c * h * w) throw new RangeError(`applySeparable: ${x.length} values for shape [${shape.join(',')}]`);
  if (rh.cols !== h || rw.cols !== w) {
    throw new RangeError(`applySeparable: Rh [${rh.rows}x${rh.cols}], Rw [${rw.rows}x${rw.cols}] do not fit [H=${h}, W=${w}]`);
  }
  const ho = rh.rows;
  const wo = rw.rows;
  const rowsH = rowEntries(rh);
  const rowsW = rowEntries(rw);
  const out = new Float32Array(n * c * ho * wo);
  const tmp = new Float64Array(h * wo); // X Rw^T for one plane
  for (let plane = 0; plane < n * c; plane++) {
    const xOff = plane * h * w;
    for (let i = 0; i < h; i++) {
      for (let q = 0; q < wo; q++) {
        const { cols, values } = rowsW[q];
        let s = 0;
        for (let t = 0; t < cols.length; t++) s += x[xOff + i * w + cols[t]] * values[t];
        tmp[i * wo + q] = s;
      }
    }
    const yOff = plane * ho * wo;
    for (let p = 0; p < ho; p++) {
      const { cols, values } = rowsH[p];
      for (let q = 0; q < wo; q++) {
        let s = 0;
        for (let t = 0; t < cols.length; t++) s += tmp[cols[t] * wo + q] * values[t];
        out[yOff + p * wo + q] = s;
      }
    }
  }
  return { data: out, shape: [n, c, ho, wo] };
}

/** L(x) = up(down(x)) on both spatial axes of x [N, C, size, size]. */
export function applyLowPass(x: Float32Array, shape: readonly number[], downN: number): Float32Array {
  if (shape.length !== 4 || shape[2] !== shape[3]) throw new RangeError(`applyLowPass expects square [N,C,H,W], got [${shape.join(',')}]`);
  const p = lowPassOperator(shape[2], downN);
  return applySeparable(x, shape, p, p).data;
}
