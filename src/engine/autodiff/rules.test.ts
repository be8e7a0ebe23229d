/**
 * Every gradient rule passes the numerical checker, including broadcasting, Conv
 * strides/pads/groups/dilations and the Einsum equations torch exports produce.
 */
import { GraphBuilder } from '../onnx/builder';
import { DType, floatTensor } from '../onnx/tensor';
import { Dim } from '../onnx/dims';
import { HostTensor } from '../runtime/session';
import { Rng } from '../sampling/random';
import { gradCheck, gradCheckPasses } from './gradcheck';

interface Case {
  name: string;
  inputs: Record<string, number[]>;
  /** inputs drawn from [lo, hi] instead of N(0,1) */
  range?: Record<string, [number, number]>;
  /** extra initializer weights to check, name -> shape */
  weights?: Record<string, number[]>;
  build: (b: GraphBuilder, x: Record<string, string>) => string | string[];
  opset?: number;
  eps?: number;
  tol?: number;
}

const cases: Case[] = [
  { name: 'Add broadcast', inputs: { a: [2, 3, 4], b: [3, 1] }, build: (b, x) => b.add(x.a, x.b) },
  { name: 'Sub broadcast', inputs: { a: [4], b: [2, 3, 4] }, build: (b, x) => b.sub(x.a, x.b) },
  { name: 'Mul broadcast', inputs: { a: [2, 3, 4], b: [1, 3, 1] }, build: (b, x) => b.mul(x.a, x.b) },
  { name: 'Div broadcast', inputs: { a: [2, 3], b: [3] }, range: { b: [0.5, 2] }, build: (b, x) => b.div(x.a, x.b) },
  { name: 'Pow', inputs: { a: [2, 3], e: [3] }, range: { a: [0.5, 2], e: [0.5, 2] }, build: (b, x) => b.pow(x.a, x.e) },
  { name: 'Neg Exp Log Sqrt Reciprocal', inputs: { a: [5, 3] }, range: { a: [0.5, 2] }, build: (b, x) => b.add(b.add(b.neg(b.exp(x.a)), b.log(x.a)), b.add(b.sqrt(x.a), b.reciprocal(x.a))) },
  { name: 'Sigmoid Tanh Sin Cos Erf', inputs: { a: [4, 4] }, build: (b, x) => b.add(b.add(b.sigmoid(x.a), b.tanh(x.a)), b.add(b.sin(x.a), b.add(b.cos(x.a), b.op('Erf', [x.a])))) },
  { name: 'SiLU x*sigmoid(x) (fused rule)', inputs: { a: [2, 8] }, build: (b, x) => b.silu(x.a) },
  { name: 'x*sigmoid(x) with the sigmoid reused', inputs: { a: [2, 8] }, build: (b, x) => { const s = b.sigmoid(x.a); return b.add(b.mul(s, x.a), s); } },
  { name: 'Relu LeakyRelu Abs', inputs: { a: [50] }, range: { a: [0.1, 2] }, build: (b, x) => b.add(b.relu(b.neg(x.a)), b.add(b.op('LeakyRelu', [b.neg(x.a)], { alpha: 0.2 }), b.op('Abs', [b.neg(x.a)]))) },
  { name: 'Softplus Identity Cast', inputs: { a: [3, 5] }, build: (b, x) => b.cast(b.identity(b.op('Softplus', [x.a])), DType.FLOAT) },
  { name: 'Where Max Min', inputs: { a: [3, 4], c: [3, 4] }, build: (b, x) => b.add(b.where(b.op('Greater', [x.c, b.scalar(0)]), x.a, b.mul(x.a, x.c)), b.add(b.op('Max', [x.a, x.c]), b.op('Min', [x.a, b.scale(x.c, 0.5)]))) },
  { name: 'Clip Sum', inputs: { a: [20] }, build: (b, x) => b.op('Sum', [b.op('Clip', [x.a, b.scalar(-0.5), b.scalar(0.5)]), x.a, b.mul(x.a, x.a)]) },
  { name: 'MatMul batched broadcast', inputs: { a: [2, 3, 4, 5], b: [5, 6] }, build: (b, x) => b.matmul(x.a, x.b) },
  { name: 'MatMul batch both', inputs: { a: [2, 4, 5], b: [2, 5, 3] }, build: (b, x) => b.matmul(x.a, x.b) },
  { name: 'Gemm plain + bias', inputs: { a: [3, 4], w: [4, 5], c: [5] }, build: (b, x) => b.gemm(x.a, x.w, x.c, { alpha: 0.7, beta: 1.3 }) },
  { name: 'Gemm transA transB', inputs: { a: [4, 3], w: [5, 4], c: [3, 5] }, build: (b, x) => b.gemm(x.a, x.w, x.c, { transA: true, transB: true }) },
  { name: 'Gemm transB (Linear)', inputs: { a: [2, 4], w: [6, 4], c: [6] }, build: (b, x) => b.gemm(x.a, x.w, x.c, { transB: true }) },
  { name: 'Einsum bct,bcs->bts (ADM attention)', inputs: { q: [2, 4, 6], k: [2, 4, 6] }, build: (b, x) => b.einsum('bct,bcs->bts', x.q, x.k) },
  { name: 'Einsum bts,bcs->bct (ADM attention)', inputs: { w: [2, 6, 6], v: [2, 4, 6] }, build: (b, x) => b.einsum('bts,bcs->bct', x.w, x.v) },
  { name: 'Einsum summed-out index', inputs: { a: [3, 4], b: [4, 5] }, build: (b, x) => b.einsum('ij,jk->k', x.a, x.b) },
  { name: 'Conv stride 2 pad 1 + bias', inputs: { x: [2, 3, 9, 9] }, weights: { w: [4, 3, 3, 3], bias: [4] }, build: (b, x) => b.conv(x.x, x.w, x.bias, { strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'Conv groups + dilation', inputs: { x: [2, 4, 8, 8] }, weights: { w: [6, 2, 3, 3] }, build: (b, x) => b.conv(x.x, x.w, undefined, { group: 2, dilations: [2, 2], pads: [2, 1, 2, 1] }) },
  { name: 'Conv asymmetric pads stride 3', inputs: { x: [1, 2, 10, 7] }, weights: { w: [3, 2, 2, 3] }, build: (b, x) => b.conv(x.x, x.w, undefined, { strides: [3, 2], pads: [0, 1, 1, 0] }) },
  { name: 'Conv depthwise 1x1', inputs: { x: [2, 3, 5, 5] }, weights: { w: [3, 1, 1, 1] }, build: (b, x) => b.conv(x.x, x.w, undefined, { group: 3 }) },
  { name: 'Conv 1-D', inputs: { x: [2, 3, 11] }, weights: { w: [2, 3, 3] }, build: (b, x) => b.conv(x.x, x.w, undefined, { strides: [2], pads: [1, 1] }) },
  { name: 'AveragePool 2x2', inputs: { x: [2, 3, 8, 8] }, build: (b, x) => b.averagePool(x.x, { kernel: [2, 2], strides: [2, 2] }) },
  { name: 'AveragePool padded, exclude pad', inputs: { x: [1, 2, 7, 7] }, build: (b, x) => b.averagePool(x.x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'AveragePool padded, include pad', inputs: { x: [1, 2, 7, 6] }, build: (b, x) => b.averagePool(x.x, { kernel: [3, 2], strides: [2, 2], pads: [1, 0, 1, 0], countIncludePad: true }) },
  { name: 'MaxPool', eps: 1e-4, tol: 1e-2, inputs: { x: [2, 2, 6, 6] }, build: (b, x) => b.maxPool(x.x, { kernel: [2, 2], strides: [2, 2] }) },
  { name: 'GlobalAveragePool', inputs: { x: [2, 3, 4, 5] }, build: (b, x) => b.op('GlobalAveragePool', [x.x]) },
  { name: 'InstanceNormalization 3-D (torch GroupNorm export)', inputs: { x: [2, 4, 12], s: [4], c: [4] }, build: (b, x) => b.instanceNorm(x.x, x.s, x.c, 1e-5) },
  { name: 'InstanceNormalization 4-D', inputs: { x: [2, 3, 4, 4], s: [3], c: [3] }, build: (b, x) => b.instanceNorm(x.x, x.s, x.c, 1e-6) },
  { name: 'LayerNormalization', inputs: { x: [2, 3, 8], s: [8], c: [8] }, build: (b, x) => b.op('LayerNormalization', [x.x, x.s, x.c], { axis: -1, epsilon: 1e-5 }) },
  { name: 'GroupNormalization (opset 21)', opset: 21, inputs: { x: [2, 6, 3, 3], s: [6], c: [6] }, build: (b, x) => b.op('GroupNormalization', [x.x, x.s, x.c], { num_groups: 3, epsilon: 1e-5 }) },
  { name: 'Softmax', inputs: { x: [2, 3, 5] }, build: (b, x) => b.softmax(x.x, 1) },
  { name: 'LogSoftmax', inputs: { x: [3, 5] }, build: (b, x) => b.op('LogSoftmax', [x.x], { axis: -1 }) },
  { name: 'ReduceSum ReduceMean keepdims', inputs: { x: [2, 3, 4] }, build: (b, x) => b.add(b.reduceSum(x.x, [1], true), b.reduceMean(x.x, [2, 1], true)) },
  { name: 'ReduceSum no keepdims, ReduceSumSquare, ReduceL2', inputs: { x: [2, 3, 4] }, build: (b, x) => [b.reduceSum(x.x, [0, 2], false), b.op('ReduceSumSquare', [x.x], { axes: [1], keepdims: 0 }), b.op('ReduceL2', [x.x], { axes: [2], keepdims: 1 })] },
  { name: 'Reshape Flatten Squeeze Unsqueeze', inputs: { x: [2, 3, 4] }, build: (b, x) => b.squeeze(b.unsqueeze(b.op('Flatten', [b.reshape(x.x, [0, 12])], { axis: 1 }), [1]), [1]) },
  { name: 'Transpose', inputs: { x: [2, 3, 4] }, build: (b, x) => b.transpose(x.x, [2, 0, 1]) },
  { name: 'Expand', inputs: { x: [3, 1] }, build: (b, x) => b.expand(x.x, b.ints([2, 3, 4])) },
  { name: 'Concat + Split (one output unused)', inputs: { a: [2, 3], c: [2, 5] }, build: (b, x) => b.split(b.concat([x.a, x.c], 1), [4, 4], 1)[0] },
  { name: 'Split both outputs', inputs: { a: [2, 6] }, build: (b, x) => { const [p, q] = b.split(x.a, [2, 4], 1); return [p, b.mul(q, q)]; } },
  { name: 'Slice', inputs: { x: [3, 8, 5] }, build: (b, x) => b.slice(x.x, [1, -4], [7, 1000], [1, 2]) },
  { name: 'Pad constant (and negative)', inputs: { x: [2, 3, 4, 4] }, build: (b, x) => b.pad(x.x, [0, 0, 1, -1, 0, 0, 2, 1]) },
  { name: 'Resize nearest x2 (ADM Upsample)', inputs: { x: [2, 3, 4, 5] }, build: (b, x) => b.resize(x.x, [1, 1, 2, 2], 'nearest', 'asymmetric') },
  { name: 'Resize linear half_pixel', inputs: { x: [1, 2, 5, 4] }, build: (b, x) => b.op('Resize', [x.x, '', b.floats([4], [1, 1, 1.6, 2.5])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }) },
  { name: 'Resize linear align_corners down', inputs: { x: [1, 2, 8, 6] }, build: (b, x) => b.op('Resize', [x.x, '', b.floats([4], [1, 1, 0.5, 0.5])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }) },
];

function rand(rng: Rng, shape: number[], range?: [number, number]): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  return range ? rng.uniforms(n, range[0], range[1]) : rng.normals(n);
}

describe('gradient rules pass the numerical checker', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const rng = new Rng(42);
    const b = new GraphBuilder({ name: c.name, opset: c.opset ?? 17 });
    const names: Record<string, string> = {};
    const feeds: Record<string, HostTensor> = {};
    for (const [k, shape] of Object.entries(c.inputs)) {
      names[k] = b.input(k, DType.FLOAT, shape as Dim[]);
      feeds[k] = { data: rand(rng, shape, c.range?.[k]), dims: shape };
    }
    for (const [k, shape] of Object.entries(c.weights ?? {})) names[k] = b.initializer(k, floatTensor(shape, rand(rng, shape)));
    const outs = c.build(b, names);
    (Array.isArray(outs) ? outs : [outs]).forEach((o, i) => b.output(o, `y${i}`));
    const wrt = [...Object.keys(c.inputs), ...Object.keys(c.weights ?? {}).map((k) => names[k])];
    const res = await gradCheck(b.graph, { wrt, feeds, eps: c.eps ?? 1e-2, directions: 2 });
    for (const r of res) expect({ wrt: r.wrt, ok: gradCheckPasses(r, c.tol ?? 2e-3, 1e-5), r }).toMatchObject({ wrt: r.wrt, ok: true });
  });
});
