/**
 * Shape inference over the IR with symbolic dims, plus value propagation for the small integer
 * tensors that torch exports compute shapes with (Shape -> Gather -> Mul -> Concat -> Reshape).
 * Semantics follow the ONNX operator specs (opset 13-18 forms: axes and pads as inputs).
 */
import { EngineError } from '../errors';
import { Graph, Node, getInt, getInts, getString } from './ir';
import { DType, Tensor, tensorToNumbers } from './tensor';
import { Dim, dimAdd, dimDiv, dimEq, dimMul, dimProduct, dimSub, freshDim, isStatic, shapeToString } from './dims';

export interface ValueFacts {
  dtype: DType;
  shape: Dim[] | null;
  /** Flattened element values of a small integer tensor, when known (dims may be symbolic). */
  value?: Dim[];
}

export type FactsMap = Map<string, ValueFacts>;

const SMALL = 64;

export function factsOfTensor(t: Tensor): ValueFacts {
  const f: ValueFacts = { dtype: t.dtype, shape: [...t.dims] };
  if ((t.dtype === DType.INT64 || t.dtype === DType.INT32) && t.data.length <= SMALL) f.value = tensorToNumbers(t);
  return f;
}

function fail(node: Node, msg: string): never {
  throw new EngineError('engine/invalid_graph', `${node.opType} node ${node.name}: ${msg}`, { node: node.name, op: node.opType });
}

export function broadcastShapes(node: Node, shapes: (Dim[] | null)[]): Dim[] | null {
  if (shapes.some((s) => s === null)) return null;
  const ss = shapes as Dim[][];
  const rank = Math.max(...ss.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of ss) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const e = s[k];
      if (e === 1) continue;
      if (d === 1) d = e;
      else if (!dimEq(d, e)) {
        if (isStatic(d) && isStatic(e)) fail(node, `cannot broadcast ${ss.map(shapeToString).join(' and ')}`);
        // a symbol against a number or another symbol: the runtime decides; keep the known one
        d = isStatic(e) ? e : d;
      }
    }
    out.push(d);
  }
  return out;
}

/**
 * Read a strided, permuted view of a small row-major value array: output axis i walks input axis
 * perm[i] from start[perm[i]] with step[perm[i]] for count[i] elements.
 */
function gatherValues(shape: number[], values: Dim[], start: number[], count: number[], step: number[], perm: number[]): Dim[] {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
  const out: Dim[] = [];
  const total = count.reduce((p, d) => p * d, 1);
  const idx = count.map(() => 0);
  for (let n = 0; n < total; n++) {
    let off = 0;
    for (let i = 0; i < perm.length; i++) off += (start[perm[i]] + idx[i] * step[perm[i]]) * strides[perm[i]];
    out.push(values[off]);
    for (let i = idx.length - 1; i >= 0; i--) {
      if (++idx[i] < count[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

function normAxis(node: Node, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(node, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

function clampSliceIndex(v: number, dim: number, isEnd: boolean, step: number): number {
  let x = v < 0 ? v + dim : v;
  if (step > 0) x = Math.max(0, Math.min(dim, x));
  else x = Math.max(-1, Math.min(dim - 1, x));
  void isEnd;
  return x;
}

/** Static slice bounds of one axis per the ONNX Slice spec. */
export function sliceRange(start: number, end: number, step: number, dim: number): { start: number; end: number; len: number } {
  const s = clampSliceIndex(start, dim, false, step);
  const e = clampSliceIndex(end, dim, true, step);
  const len = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { start: s, end: e, len };
}

function convOutDim(node: Node, inDim: Dim, k: number, stride: number, padBegin: number, padEnd: number, dilation: number, ceil = false): Dim {
  if (!isStatic(inDim)) return freshDim();
  const num = inDim + padBegin + padEnd - dilation * (k - 1) - 1;
  const out = (ceil ? Math.ceil(num / stride) : Math.floor(num / stride)) + 1;
  if (out <= 0) fail(node, `output size ${out} <= 0`);
  return out;
}

function elementwiseValue(op: string, a: Dim[], b: Dim[]): Dim[] | undefined {
  const n = Math.max(a.length, b.length);
  if (!(a.length === b.length || a.length === 1 || b.length === 1)) return undefined;
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.length === 1 ? a[0] : a[i];
    const y = b.length === 1 ? b[0] : b[i];
    switch (op) {
      case 'Add': out.push(dimAdd(x, y)); break;
      case 'Sub': out.push(dimSub(x, y)); break;
      case 'Mul': out.push(dimMul(x, y)); break;
      case 'Div': out.push(dimDiv(x, y)); break;
      default: return undefined;
    }
  }
  return out;
}

const UNARY_SAME = new Set([
  'Sigmoid', 'Relu', 'Neg', 'Exp', 'Log', 'Sqrt', 'Abs', 'Tanh', 'Sin', 'Cos', 'Erf', 'Reciprocal', 'Identity',
  'Softmax', 'LogSoftmax', 'LeakyRelu', 'Elu', 'Clip', 'Floor', 'Ceil', 'Round', 'Sign', 'InstanceNormalization',
  'GroupNormalization', 'BatchNormalization', 'Softplus', 'HardSigmoid', 'Gelu', 'Not', 'IsNaN', 'CumSum',
  'ScatterElements', 'ScatterND', 'Trilu', 'Dropout', 'Hardmax',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'PRelu']);
const COMPARE = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor']);
const REDUCE = new Set(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL2', 'ReduceL1', 'ReduceLogSumExp']);

/**
 * Infer the facts of a node's outputs from its inputs' facts. `get` returns the facts of a value
 * name ('' for an omitted optional input returns undefined).
 */
export function inferNode(
  node: Node,
  get: (name: string) => ValueFacts | undefined,
  opset: number,
  floatsOf: (name: string) => number[] | undefined = () => undefined,
): ValueFacts[] {
  const inp = (i: number): ValueFacts | undefined => (node.inputs[i] ? get(node.inputs[i]) : undefined);
  const req = (i: number): ValueFacts => {
    const f = inp(i);
    if (!f) fail(node, `input ${i} (${node.inputs[i] ?? 'missing'}) has no known type`);
    return f;
  };
  const shapeOf = (i: number): Dim[] | null => req(i).shape;
  const rankOf = (i: number): number => {
    const s = shapeOf(i);
    if (!s) fail(node, `input ${i} has unknown rank`);
    return s.length;
  };
  const constInts = (i: number): number[] | undefined => {
    const v = inp(i)?.value;
    if (!v || !v.every(isStatic)) return undefined;
    return v as number[];
  };
  const op = node.opType;

  if (op === 'Constant') {
    const a = node.attrs;
    if (a.value && a.value.type === 'tensor') return [factsOfTensor(a.value.value)];
    if (a.value_float) return [{ dtype: DType.FLOAT, shape: [] }];
    if (a.value_floats && a.value_floats.type === 'floats') return [{ dtype: DType.FLOAT, shape: [a.value_floats.value.length] }];
    if (a.value_int && a.value_int.type === 'int') return [{ dtype: DType.INT64, shape: [], value: [a.value_int.value] }];
    if (a.value_ints && a.value_ints.type === 'ints') return [{ dtype: DType.INT64, shape: [a.value_ints.value.length], value: [...a.value_ints.value] }];
    fail(node, 'unsupported Constant form');
  }
  if (UNARY_SAME.has(op)) {
    const x = req(0);
    const outs: ValueFacts[] = [{ dtype: x.dtype, shape: x.shape }];
    for (let i = 1; i < node.outputs.length; i++) outs.push({ dtype: op === 'Dropout' ? DType.BOOL : x.dtype, shape: x.shape });
    return outs;
  }
  if (op === 'LayerNormalization') {
    const x = req(0);
    const axis = normAxis(node, getInt(node, 'axis', -1), rankOf(0));
    const stat = x.shape ? x.shape.map((d, i) => (i < axis ? d : 1)) : null;
    return [{ dtype: x.dtype, shape: x.shape }, { dtype: DType.FLOAT, shape: stat }, { dtype: DType.FLOAT, shape: stat }].slice(0, node.outputs.length);
  }
  if (BINARY.has(op) || COMPARE.has(op)) {
    const fs = node.inputs.map((_, i) => req(i));
    const shape = broadcastShapes(node, fs.map((f) => f.shape));
    const out: ValueFacts = { dtype: COMPARE.has(op) ? DType.BOOL : fs[0].dtype, shape };
    if (fs.length === 2 && fs[0].value && fs[1].value && !COMPARE.has(op)) out.value = elementwiseValue(op, fs[0].value, fs[1].value);
    return [out];
  }
  if (op === 'Where') {
    const fs = [req(0), req(1), req(2)];
    return [{ dtype: fs[1].dtype, shape: broadcastShapes(node, fs.map((f) => f.shape)) }];
  }
  if (op === 'Cast' || op === 'CastLike') {
    const x = req(0);
    const to = op === 'Cast' ? (getInt(node, 'to', 0) as DType) : req(1).dtype;
    const out: ValueFacts = { dtype: to, shape: x.shape };
    if (x.value && (to === DType.INT64 || to === DType.INT32)) out.value = x.value;
    return [out];
  }
  if (op === 'Shape') {
    const s = shapeOf(0);
    if (!s) return [{ dtype: DType.INT64, shape: [freshDim()] }];
    const r = s.length;
    let start = getInt(node, 'start', 0);
    let end = getInt(node, 'end', r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = Math.max(0, Math.min(r, start));
    end = Math.max(start, Math.min(r, end));
    const v = s.slice(start, end);
    return [{ dtype: DType.INT64, shape: [v.length], value: v }];
  }
  if (op === 'Size') {
    const s = shapeOf(0);
    return [{ dtype: DType.INT64, shape: [], value: s ? [dimProduct(s)] : undefined }];
  }
  if (op === 'ConstantOfShape') {
    const v = req(0).value;
    const a = node.attrs.value;
    const dtype = a && a.type === 'tensor' ? a.value.dtype : DType.FLOAT;
    const out: ValueFacts = { dtype, shape: v ? [...v] : null };
    if (v && v.every(isStatic) && (dtype === DType.INT64 || dtype === DType.INT32)) {
      const n = (v as number[]).reduce((p, d) => p * d, 1);
      const fill = a && a.type === 'tensor' ? Number(a.value.data[0]) : 0;
      if (n <= SMALL) out.value = new Array(n).fill(fill);
    }
    return [out];
  }
  if (op === 'Gather') {
    const data = req(0);
    const idx = req(1);
    if (!data.shape || !idx.shape) return [{ dtype: data.dtype, shape: null }];
    const axis = normAxis(node, getInt(node, 'axis', 0), data.shape.length);
    const shape = [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)];
    const out: ValueFacts = { dtype: data.dtype, shape };
    const ii = constInts(1);
    if (data.value && ii && data.shape.length === 1) {
      const n = data.value.length;
      out.value = ii.map((i) => data.value![i < 0 ? i + n : i]);
    }
    return [out];
  }
  if (op === 'Unsqueeze' || op === 'Squeeze') {
    const x = req(0);
    const axes = opset >= 13 ? (node.inputs[1] ? constInts(1) : undefined) : getInts(node, 'axes');
    if (node.inputs[1] && !axes) fail(node, 'axes must be constant');
    if (!x.shape) return [{ dtype: x.dtype, shape: null, value: x.value }];
    let shape: Dim[];
    if (op === 'Unsqueeze') {
      const r = x.shape.length + axes!.length;
      const ax = axes!.map((a) => normAxis(node, a, r)).sort((a, b) => a - b);
      shape = [];
      let k = 0;
      for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : x.shape[k++]);
    } else {
      const r = x.shape.length;
      const ax = axes ? axes.map((a) => normAxis(node, a, r)) : x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      shape = x.shape.filter((_, i) => !ax.includes(i));
    }
    return [{ dtype: x.dtype, shape, value: x.value }];
  }
  if (op === 'Reshape') {
    const x = req(0);
    const target = req(1).value;
    if (!target) {
      const r = req(1).shape;
      return [{ dtype: x.dtype, shape: r && isStatic(r[0]) ? Array.from({ length: r[0] }, () => freshDim()) : null }];
    }
    const allowzero = getInt(node, 'allowzero', 0);
    const shape: Dim[] = target.map((d, i) => (d === 0 && !allowzero ? (x.shape ? x.shape[i] : freshDim()) : d));
    const neg = shape.findIndex((d) => d === -1);
    if (neg >= 0) {
      if (!x.shape) shape[neg] = freshDim();
      else {
        const others = shape.filter((_, i) => i !== neg);
        shape[neg] = dimDiv(dimProduct(x.shape), dimProduct(others));
      }
    }
    return [{ dtype: x.dtype, shape, value: x.value }];
  }
  if (op === 'Flatten') {
    const x = req(0);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const axis = getInt(node, 'axis', 1);
    const a = axis < 0 ? axis + x.shape.length : axis;
    return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, a)), dimProduct(x.shape.slice(a))] }];
  }
  if (op === 'Transpose') {
    const x = req(0);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const perm = getInts(node, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
    const out: ValueFacts = { dtype: x.dtype, shape: perm.map((p) => x.shape![p]) };
    if (x.value && x.shape.every(isStatic)) out.value = gatherValues(x.shape as number[], x.value, perm.map(() => 0), perm.map((p) => x.shape![p] as number), perm.map(() => 1), perm);
    return [out];
  }
  if (op === 'Concat') {
    const fs = node.inputs.map((_, i) => req(i));
    const first = fs.find((f) => f.shape)?.shape;
    if (!first || fs.some((f) => !f.shape)) return [{ dtype: fs[0].dtype, shape: null }];
    const axis = normAxis(node, getInt(node, 'axis', 0), first.length);
    const shape = [...first];
    shape[axis] = fs.map((f) => f.shape![axis]).reduce((a, b) => dimAdd(a, b));
    const out: ValueFacts = { dtype: fs[0].dtype, shape };
    if (fs.every((f) => f.value) && first.length === 1) out.value = fs.flatMap((f) => f.value!);
    return [out];
  }
  if (op === 'Split') {
    const x = req(0);
    if (!x.shape) return node.outputs.map(() => ({ dtype: x.dtype, shape: null }));
    const axis = normAxis(node, getInt(node, 'axis', 0), x.shape.length);
    let sizes = opset >= 13 ? (node.inputs[1] ? constInts(1) : undefined) : getInts(node, 'split');
    const n = node.outputs.length;
    const total = x.shape[axis];
    if (!sizes) {
      if (isStatic(total)) {
        const chunk = Math.ceil(total / n);
        sizes = Array.from({ length: n }, (_, i) => Math.min(chunk, total - chunk * i));
      } else {
        const each = dimDiv(total, n);
        return node.outputs.map(() => ({ dtype: x.dtype, shape: x.shape!.map((d, i) => (i === axis ? each : d)) }));
      }
    }
    return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape!.map((d, i) => (i === axis ? s : d)) }));
  }
  if (op === 'Slice') {
    const x = req(0);
    const starts = constInts(1);
    const ends = constInts(2);
    const axesIn = node.inputs[3] ? constInts(3) : undefined;
    const stepsIn = node.inputs[4] ? constInts(4) : undefined;
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    if (!starts || !ends || (node.inputs[3] && !axesIn) || (node.inputs[4] && !stepsIn)) {
      return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim()) }];
    }
    const r = x.shape.length;
    const axes = axesIn ? axesIn.map((a) => normAxis(node, a, r)) : starts.map((_, i) => i);
    const steps = stepsIn ?? starts.map(() => 1);
    const shape = [...x.shape];
    const st = x.shape.map(() => 0);
    const sp = x.shape.map(() => 1);
    let staticAll = true;
    axes.forEach((a, k) => {
      const d = x.shape![a];
      if (!isStatic(d)) {
        // dynamic axis: a full slice keeps it, anything else is unknown
        shape[a] = starts[k] === 0 && ends[k] >= 2 ** 31 - 1 && steps[k] === 1 ? d : freshDim();
        staticAll = false;
        return;
      }
      const rg = sliceRange(starts[k], ends[k], steps[k], d);
      shape[a] = rg.len;
      st[a] = rg.start;
      sp[a] = steps[k];
    });
    const out: ValueFacts = { dtype: x.dtype, shape };
    if (x.value && staticAll && x.shape.every(isStatic)) {
      out.value = gatherValues(x.shape as number[], x.value, st, shape as number[], sp, x.shape.map((_, i) => i));
    }
    return [out];
  }
  if (op === 'Pad') {
    const x = req(0);
    const pads = opset >= 11 ? constInts(1) : getInts(node, 'pads');
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    if (!pads) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim()) }];
    const r = x.shape.length;
    const axes = node.inputs[3] ? constInts(3)?.map((a) => normAxis(node, a, r)) : x.shape.map((_, i) => i);
    if (!axes) fail(node, 'axes must be constant');
    const shape = [...x.shape];
    axes.forEach((a, k) => {
      shape[a] = dimAdd(shape[a], pads[k] + pads[k + axes.length]);
    });
    return [{ dtype: x.dtype, shape }];
  }
  if (op === 'Expand') {
    const x = req(0);
    const s = req(1).value;
    if (!s) return [{ dtype: x.dtype, shape: null }];
    return [{ dtype: x.dtype, shape: broadcastShapes(node, [x.shape, s]) }];
  }
  if (op === 'Tile') {
    const x = req(0);
    const reps = constInts(1);
    if (!x.shape || !reps) return [{ dtype: x.dtype, shape: x.shape ? x.shape.map(() => freshDim()) : null }];
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => dimMul(d, reps[i])) }];
  }
  if (op === 'Range') {
    const s = constInts(0);
    const l = constInts(1);
    const d = constInts(2);
    const n = s && l && d ? Math.max(Math.ceil((l[0] - s[0]) / d[0]), 0) : freshDim();
    return [{ dtype: req(0).dtype, shape: [n] }];
  }
  if (op === 'NonZero') {
    return [{ dtype: DType.INT64, shape: [rankOf(0), freshDim()] }];
  }
  if (op === 'MatMul') {
    const a = shapeOf(0);
    const b = shapeOf(1);
    const dtype = req(0).dtype;
    if (!a || !b) return [{ dtype, shape: null }];
    if (a.length < 1 || b.length < 1) fail(node, 'scalars are not allowed');
    const a2 = a.length === 1 ? [1, a[0]] : a;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    const batch = broadcastShapes(node, [a2.slice(0, -2), b2.slice(0, -2)])!;
    const shape = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
    if (a.length === 1) shape.splice(shape.length - 2, 1);
    if (b.length === 1) shape.splice(shape.length - 1, 1);
    return [{ dtype, shape }];
  }
  if (op === 'Gemm') {
    const a = shapeOf(0);
    const b = shapeOf(1);
    const dtype = req(0).dtype;
    if (!a || !b) return [{ dtype, shape: null }];
    const m = getInt(node, 'transA', 0) ? a[1] : a[0];
    const n = getInt(node, 'transB', 0) ? b[0] : b[1];
    return [{ dtype, shape: [m, n] }];
  }
  if (op === 'Einsum') {
    const eq = getString(node, 'equation', '');
    const { inputs, output } = parseEinsum(node, eq, node.inputs.map((_, i) => rankOf(i)));
    const letterDim = new Map<string, Dim>();
    inputs.forEach((sub, i) => {
      const s = shapeOf(i)!;
      sub.forEach((ch, k) => {
        const d = s[k];
        const prev = letterDim.get(ch);
        if (prev === undefined || prev === 1) letterDim.set(ch, d);
      });
    });
    return [{ dtype: req(0).dtype, shape: output.map((ch) => letterDim.get(ch)!) }];
  }
  if (op === 'Conv' || op === 'ConvTranspose' || op === 'AveragePool' || op === 'MaxPool' || op === 'LpPool') {
    const x = req(0);
    if (!x.shape) return node.outputs.map(() => ({ dtype: x.dtype, shape: null }));
    const sp = x.shape.length - 2;
    const autoPad = getString(node, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET') fail(node, `auto_pad=${autoPad} is not supported; export with explicit pads`);
    let kernel: number[];
    let outC: Dim;
    if (op === 'Conv' || op === 'ConvTranspose') {
      const w = shapeOf(1);
      if (!w) fail(node, 'weight rank must be known');
      kernel = getInts(node, 'kernel_shape') ?? (w.slice(2) as number[]);
      if (!kernel.every(isStatic)) fail(node, 'kernel size must be static');
      outC = op === 'Conv' ? w[0] : dimMul(w[1], getInt(node, 'group', 1));
    } else {
      kernel = getInts(node, 'kernel_shape')!;
      if (!kernel) fail(node, 'kernel_shape is required');
      outC = x.shape[1];
    }
    const strides = getInts(node, 'strides') ?? kernel.map(() => 1);
    const dil = getInts(node, 'dilations') ?? kernel.map(() => 1);
    const pads = getInts(node, 'pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
    const ceil = getInt(node, 'ceil_mode', 0) === 1;
    const spatial: Dim[] = [];
    for (let i = 0; i < sp; i++) {
      if (op === 'ConvTranspose') {
        const outPad = getInts(node, 'output_padding')?.[i] ?? 0;
        const explicit = getInts(node, 'output_shape');
        const d = x.shape[2 + i];
        spatial.push(explicit ? explicit[i] : isStatic(d) ? strides[i] * (d - 1) + outPad + ((kernel[i] - 1) * dil[i] + 1) - pads[i] - pads[i + sp] : freshDim());
      } else spatial.push(convOutDim(node, x.shape[2 + i], kernel[i], strides[i], pads[i], pads[i + sp], dil[i], ceil));
    }
    const shape = [x.shape[0], outC, ...spatial];
    const outs: ValueFacts[] = [{ dtype: x.dtype, shape }];
    if (node.outputs.length > 1) outs.push({ dtype: DType.INT64, shape });
    return outs;
  }
  if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') {
    const x = req(0);
    return [{ dtype: x.dtype, shape: x.shape ? x.shape.map((d, i) => (i < 2 ? d : 1)) : null }];
  }
  if (op === 'Resize' || op === 'Upsample') {
    const x = req(0);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const scalesName = node.inputs[2];
    const sizes = node.inputs[3] ? req(3).value : undefined;
    if (sizes && sizes.length) return [{ dtype: x.dtype, shape: [...sizes] }];
    const scales = scalesName ? floatsOf(scalesName) : undefined;
    if (!scales) return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i < 2 ? d : freshDim())) }];
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (scales[i] === 1 ? d : isStatic(d) ? Math.floor(d * scales[i]) : freshDim())) }];
  }
  if (REDUCE.has(op) || op === 'ArgMax' || op === 'ArgMin') {
    const x = req(0);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const r = x.shape.length;
    const keep = getInt(node, 'keepdims', 1);
    let axes: number[] | undefined;
    if (op === 'ArgMax' || op === 'ArgMin') axes = [getInt(node, 'axis', 0)];
    else if (node.inputs[1]) {
      axes = constInts(1);
      if (!axes) return [{ dtype: x.dtype, shape: keep ? x.shape.map(() => freshDim()) : null }];
    } else axes = getInts(node, 'axes');
    if (!axes || axes.length === 0) {
      axes = getInt(node, 'noop_with_empty_axes', 0) && !(op === 'ArgMax' || op === 'ArgMin') ? [] : x.shape.map((_, i) => i);
    }
    const ax = axes.map((a) => normAxis(node, a, r));
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!ax.includes(i)) shape.push(d);
      else if (keep) shape.push(1);
    });
    return [{ dtype: op.startsWith('Arg') ? DType.INT64 : x.dtype, shape }];
  }
  throw new EngineError('engine/unsupported_op', `no shape inference for op ${op} (node ${node.name})`, { op, node: node.name });
}

export function parseEinsum(node: Node, equation: string, ranks: number[]): { inputs: string[][]; output: string[] } {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) fail(node, `equation ${equation} has ${terms.length} operands, node has ${ranks.length}`);
  if (eq.includes('...')) fail(node, `ellipsis in einsum equation ${equation} is not supported`);
  const inputs = terms.map((t) => t.split(''));
  inputs.forEach((t, i) => {
    if (t.length !== ranks[i]) fail(node, `operand ${i} of ${equation} has rank ${ranks[i]}`);
  });
  let output: string[];
  if (rhs !== undefined) output = rhs.split('');
  else {
    const counts = new Map<string, number>();
    for (const t of inputs) for (const c of t) counts.set(c, (counts.get(c) ?? 0) + 1);
    output = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort();
  }
  return { inputs, output };
}

/** Constant float tensor values in a graph (initializers and Constant nodes), by name. */
export function constantFloats(g: Graph): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const [k, t] of g.initializers) if (t.data.length <= SMALL) m.set(k, tensorToNumbers(t));
  for (const n of g.nodes) {
    if (n.opType === 'Constant' && n.attrs.value?.type === 'tensor' && n.attrs.value.value.data.length <= SMALL) {
      m.set(n.outputs[0], tensorToNumbers(n.attrs.value.value));
    }
  }
  return m;
}

/**
 * Infer facts for every value of a graph. Graph inputs take their declared shapes; the batch
 * dim stays symbolic.
 */
export function inferShapes(g: Graph, overrides?: Map<string, ValueFacts>): FactsMap {
  const facts: FactsMap = new Map();
  for (const [k, t] of g.initializers) facts.set(k, factsOfTensor(t));
  for (const v of g.inputs) facts.set(v.name, overrides?.get(v.name) ?? { dtype: v.dtype, shape: v.shape });
  const consts = constantFloats(g);
  for (const n of g.nodes) {
    const outs = inferNode(n, (name) => facts.get(name), g.opset, (name) => consts.get(name));
    n.outputs.forEach((o, i) => {
      if (o && outs[i]) facts.set(o, outs[i]);
    });
  }
  return facts;
}

