/**
 * Conv and pooling (ONNX Conv, ConvTranspose, AveragePool, MaxPool specs). Spatial sizes must be
 * static (they are in every network we run); the batch may be symbolic.
 */
import { EngineError } from '../../errors';
import { GraphBuilder } from '../../onnx/builder';
import { Node, getInt, getInts, getString } from '../../onnx/ir';
import { Dim, isStatic } from '../../onnx/dims';
import { DType, Tensor } from '../../onnx/tensor';
import { GradContext, RuleFamily } from '../rule';

interface Window {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
}

function unsupported(node: Node, why: string): never {
  throw new EngineError('engine/unsupported_op', `${node.opType} node ${node.name}: ${why}`, { op: node.opType, node: node.name });
}

function windowOf(node: Node, kernel: number[]): Window {
  const sp = kernel.length;
  if (getString(node, 'auto_pad', 'NOTSET') !== 'NOTSET') unsupported(node, 'auto_pad has no gradient rule; export with explicit pads');
  return {
    kernel,
    strides: getInts(node, 'strides') ?? new Array(sp).fill(1),
    pads: getInts(node, 'pads') ?? new Array(2 * sp).fill(0),
    dilations: getInts(node, 'dilations') ?? new Array(sp).fill(1),
  };
}

function staticSpatial(node: Node, shape: Dim[], what: string): number[] {
  const s = shape.slice(2);
  if (!s.every(isStatic)) unsupported(node, `${what} spatial size ${shape} must be static`);
  return s as number[];
}

/**
 * Transposed convolution that maps the gradient of a strided window op back to its input:
 * output_padding recovers the rows the forward op's floor() dropped.
 */
function transposedWindow(b: GraphBuilder, node: Node, dy: string, w: string, win: Window, inSpatial: number[], outSpatial: number[], group: number): string {
  const sp = win.kernel.length;
  const outputPadding = inSpatial.map((h, i) => {
    const full = win.strides[i] * (outSpatial[i] - 1) + win.dilations[i] * (win.kernel[i] - 1) + 1 - win.pads[i] - win.pads[i + sp];
    return h - full;
  });
  if (outputPadding.some((p, i) => p < 0 || p >= Math.max(win.strides[i], win.dilations[i]))) unsupported(node, `cannot invert window ${JSON.stringify(win)}`);
  return b.convTranspose(dy, w, undefined, {
    strides: win.strides,
    pads: win.pads,
    dilations: win.dilations,
    group,
    outputPadding: outputPadding.some((p) => p > 0) ? outputPadding : undefined,
  });
}

/**
 * The flipped, channel-transposed kernel of a grouped Conv weight [g*co, ci, *k] as a new
 * tensor [g*ci, co, *k]: out[g*ci + i, o, p] = w[g*co + o, i, K-1-p] (p the flat kernel index;
 * reversing it reverses every spatial axis).
 */
function flippedKernel(w: Tensor, group: number): Tensor {
  const [cout, ci, ...k] = w.dims;
  const co = cout / group;
  const kk = k.reduce((a, b) => a * b, 1);
  const src = w.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let g = 0; g < group; g++) {
    for (let o = 0; o < co; o++) {
      for (let i = 0; i < ci; i++) {
        const from = ((g * co + o) * ci + i) * kk;
        const to = ((g * ci + i) * co + o) * kk;
        for (let p = 0; p < kk; p++) out[to + p] = src[from + kk - 1 - p];
      }
    }
  }
  return { dtype: DType.FLOAT, dims: [group * ci, co, ...k], data: out };
}

/**
 * dX of a stride-1 Conv as a plain Conv of dY with the flipped, channel-transposed kernel (pads
 * d(k-1) - p). onnxruntime's CPU Conv is several times faster than its ConvTranspose. A weight
 * that is a float initializer gets its transformed kernel computed here, as an initializer (saved
 * with the graph, so no session has to fold it at load); otherwise the transform is graph ops.
 */
function stride1InputGrad(b: GraphBuilder, dy: string, w: string, ws: number[], win: Window, group: number): string | null {
  const sp = win.kernel.length;
  if (win.strides.some((s) => s !== 1)) return null;
  const reach = win.kernel.map((k, i) => win.dilations[i] * (k - 1));
  const pads = win.pads.map((p, i) => reach[i % sp] - p);
  if (pads.some((p) => p < 0)) return null;
  const spAxes = Array.from({ length: sp }, (_, i) => i + 2);
  const co = ws[0] / group;
  const ci = ws[1];
  const init = b.graph.initializers.get(w);
  if (init && init.dtype === DType.FLOAT) return b.conv(dy, b.initializer(`${w}/flipped`, flippedKernel(init, group)), undefined, { pads, dilations: win.dilations, group });
  let wt: string;
  if (group === 1) wt = b.transpose(w, [1, 0, ...spAxes]);
  else {
    const grouped = b.reshape(w, [group, co, ci, ...win.kernel]);
    wt = b.reshape(b.transpose(grouped, [0, 2, 1, ...spAxes.map((a) => a + 1)]), [group * ci, co, ...win.kernel]);
  }
  const flipped = b.slice(wt, spAxes.map(() => -1), spAxes.map(() => -(2 ** 62)), spAxes, spAxes.map(() => -1));
  return b.conv(dy, flipped, undefined, { pads, dilations: win.dilations, group });
}

/**
 * dW of an ungrouped Conv as one matrix product: the input's patches (im2col, extracted by a
 * depthwise Conv with one-hot kernels, same strides/pads/dilations as the forward op) contracted
 * with dY over batch and positions: dW[o, p] = sum_{n,l} dY[n, o, l] cols[n, p, l]. Much faster on
 * onnxruntime's CPU provider than a convolution with the batch as channels and a huge kernel
 * (or than its Einsum for the same contraction).
 */
function convWeightGradIm2col(ctx: GradContext, win: Window): string {
  const { b } = ctx;
  const x = ctx.input(0);
  const dy = ctx.gradOutput(0)!;
  const ws = ctx.shape(ctx.input(1)) as number[];
  const [o, ci] = ws;
  const kk = win.kernel.reduce((p, k) => p * k, 1);
  let cols: string;
  if (kk === 1 && win.strides.every((s) => s === 1) && win.pads.every((p) => p === 0)) cols = b.reshape(x, [0, ci, -1]);
  else {
    const eye = new Float32Array(ci * kk * kk);
    for (let c = 0; c < ci; c++) for (let k = 0; k < kk; k++) eye[(c * kk + k) * kk + k] = 1;
    const patches = b.conv(x, b.floats([ci * kk, 1, ...win.kernel], eye), undefined, { strides: win.strides, pads: win.pads, dilations: win.dilations, group: ci });
    cols = b.reshape(patches, [0, ci * kk, -1]);
  }
  // [N, P, L] @ [N, L, O] -> [N, P, O]: a batched GEMM with the larger operand untransposed
  const dyT = b.transpose(b.reshape(dy, [0, o, -1]), [0, 2, 1]);
  const perSample = b.matmul(cols, dyT);
  return b.reshape(b.transpose(b.reduceSum(perSample, [0], false), [1, 0]), ws);
}

/** dW of Conv as a convolution of the input with the output gradient (batch as the channel). */
function convWeightGrad(ctx: GradContext, win: Window, group: number): string {
  const { b, node } = ctx;
  const x = ctx.input(0);
  const dy = ctx.gradOutput(0)!;
  const xs = ctx.shape(x);
  const ws = ctx.shape(ctx.input(1)) as number[];
  const sp = win.kernel.length;
  const inSp = staticSpatial(node, xs, 'input');
  const outSp = staticSpatial(node, ctx.shape(dy), 'output');
  const spAxes = Array.from({ length: sp }, (_, i) => i + 2);
  let xin: string;
  let kern: string;
  if (group === 1) {
    xin = b.transpose(x, [1, 0, ...spAxes]); // [C, N, *]
    kern = b.transpose(dy, [1, 0, ...spAxes]); // [M, N, *]
  } else {
    const ci = ws[1];
    const co = ws[0] / group;
    const spAxes5 = spAxes.map((a) => a + 1);
    xin = b.reshape(b.transpose(b.reshape(x, [0, group, ci, ...inSp]), [2, 1, 0, ...spAxes5]), [ci, -1, ...inSp]); // [ci, g*N, *]
    kern = b.reshape(b.transpose(b.reshape(dy, [0, group, co, ...outSp]), [1, 2, 0, ...spAxes5]), [group * co, -1, ...outSp]); // [g*co, N, *]
  }
  // out[c, m, i] = sum_n sum_y x[n, c, i*d + y*s - pad] dy[n, m, y]
  let gw = b.conv(xin, kern, undefined, { strides: win.dilations, dilations: win.strides, pads: win.pads, group });
  const got = ctx.shape(gw).slice(2);
  if (got.some((d, i) => d !== win.kernel[i])) {
    gw = b.slice(gw, new Array(sp).fill(0), win.kernel, spAxes);
  }
  return b.transpose(gw, [1, 0, ...spAxes]);
}

export const convRules: RuleFamily = {
  Conv: (ctx) => {
    const { b, node, needsGrad } = ctx;
    const w = ctx.input(1);
    const ws = ctx.shape(w);
    if (!ws.every(isStatic)) unsupported(node, 'weight shape must be static');
    const win = windowOf(node, getInts(node, 'kernel_shape') ?? (ws.slice(2) as number[]));
    const group = getInt(node, 'group', 1);
    const dy = ctx.gradOutput(0)!;
    const dx = needsGrad(0)
      ? stride1InputGrad(b, dy, w, ws as number[], win, group) ?? transposedWindow(b, node, dy, w, win, staticSpatial(node, ctx.shape(ctx.input(0)), 'input'), staticSpatial(node, ctx.shape(dy), 'output'), group)
      : null;
    const dw = needsGrad(1) ? (group === 1 ? convWeightGradIm2col(ctx, win) : convWeightGrad(ctx, win, group)) : null;
    const db = node.inputs[2] && needsGrad(2) ? b.reduceSum(dy, [0, ...ws.slice(2).map((_, i) => i + 2)], false) : null;
    return [dx, dw, db];
  },
  AveragePool: (ctx) => {
    const { b, node } = ctx;
    const x = ctx.input(0);
    const xs = ctx.shape(x);
    const kernel = getInts(node, 'kernel_shape')!;
    const win = windowOf(node, kernel);
    if (getInt(node, 'ceil_mode', 0) === 1) unsupported(node, 'ceil_mode=1 has no gradient rule');
    const c = xs[1];
    if (!isStatic(c)) unsupported(node, 'channel count must be static');
    const inSp = staticSpatial(node, xs, 'input');
    const dy = ctx.gradOutput(0)!;
    const outSp = staticSpatial(node, ctx.shape(dy), 'output');
    const area = kernel.reduce((p, k) => p * k, 1);
    const padded = win.pads.some((p) => p > 0);
    let scaled: string;
    if (!padded || getInt(node, 'count_include_pad', 0) === 1) scaled = b.scale(dy, 1 / area);
    else {
      // divisor = number of non-pad elements in each window (count_include_pad = 0)
      const counts = windowCounts(inSp, outSp, win);
      scaled = b.div(dy, b.floats([1, 1, ...outSp], counts));
    }
    const ones = b.floats([c, 1, ...kernel], new Float32Array(c * area).fill(1));
    return [transposedWindow(b, node, scaled, ones, win, inSp, outSp, c)];
  },
  GlobalAveragePool: (ctx) => {
    const { b } = ctx;
    const x = ctx.input(0);
    const sp = staticSpatial(ctx.node, ctx.shape(x), 'input');
    return [b.expand(b.scale(ctx.gradOutput(0)!, 1 / sp.reduce((p, d) => p * d, 1)), b.shapeOf(x))];
  },
  // Recompute the argmax indices and scatter the gradient into them.
  MaxPool: (ctx) => {
    const { b, node } = ctx;
    const x = ctx.input(0);
    if (getInt(node, 'storage_order', 0) !== 0) unsupported(node, 'storage_order=1 has no gradient rule');
    const attrs = Object.fromEntries(Object.entries(node.attrs));
    const [, idx] = b.node('MaxPool', [x], attrs, 2);
    const flatX = b.reshape(x, [-1]);
    const zeros = b.zerosLike(flatX);
    const scattered = b.op('ScatterElements', [zeros, b.reshape(idx, [-1]), b.reshape(ctx.gradOutput(0)!, [-1])], { axis: 0, reduction: 'add' });
    return [b.reshape(scattered, b.shapeOf(x))];
  },
};

function windowCounts(inSp: number[], outSp: number[], win: Window): Float32Array {
  const sp = inSp.length;
  const per = outSp.map((o, a) => {
    const c = new Array(o).fill(0);
    for (let i = 0; i < o; i++) {
      const start = i * win.strides[a] - win.pads[a];
      for (let k = 0; k < win.kernel[a]; k++) {
        const p = start + k * win.dilations[a];
        if (p >= 0 && p < inSp[a]) c[i]++;
      }
    }
    return c;
  });
  const total = outSp.reduce((p, d) => p * d, 1);
  const out = new Float32Array(total);
  for (let n = 0; n < total; n++) {
    let rem = n;
    let v = 1;
    for (let a = sp - 1; a >= 0; a--) {
      v *= per[a][rem % outSp[a]];
      rem = Math.floor(rem / outSp[a]);
    }
    out[n] = v;
  }
  return out;
}

