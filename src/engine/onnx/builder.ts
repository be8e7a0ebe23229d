/**
 * A graph builder over the IR: `b.conv(x, w, {pads, strides})` style, deterministic names
 * (scope prefix + per-builder counter), shape inference as each node is added, deduplicated
 * constants. Used to write networks (src/engine/nets) and by the autodiff to emit gradients.
 */
import { EngineError } from '../errors';
import { Attr, Attrs, Graph, Node, attr } from './ir';
import { DType, Tensor, floatTensor, int64Tensor } from './tensor';
import { Dim } from './dims';
import { FactsMap, ValueFacts, constantFloats, inferNode, inferShapes } from './shape-inference';

export type AttrInput = Attr | number | number[] | string | Tensor;

/** Attribute names whose numbers are floats in the ONNX spec (everything else numeric is int). */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'gamma', 'bias', 'lambd', 'cubic_coeff_a', 'extrapolation_value', 'ratio', 'momentum', 'value_float']);

function toAttr(key: string, v: AttrInput): Attr {
  if (typeof v === 'object' && !Array.isArray(v) && 'type' in v && typeof v.type === 'string') return v as Attr;
  if (typeof v === 'string') return attr.string(v);
  if (typeof v === 'number') return FLOAT_ATTRS.has(key) || !Number.isInteger(v) ? attr.float(v) : attr.int(v);
  if (Array.isArray(v)) return FLOAT_ATTRS.has(key) || v.some((x) => !Number.isInteger(x)) ? attr.floats(v) : attr.ints(v);
  return attr.tensor(v as Tensor);
}

export interface ConvOptions {
  pads?: number[];
  strides?: number[];
  dilations?: number[];
  group?: number;
}

export interface PoolOptions {
  kernel: number[];
  strides?: number[];
  pads?: number[];
  countIncludePad?: boolean;
}

export class GraphBuilder {
  readonly graph: Graph;
  readonly facts: FactsMap;
  private counter = 0;
  private prefix = '';
  private readonly usedNames: Set<string>;
  private readonly constCache = new Map<string, string>();
  private readonly floatConsts: Map<string, number[]>;

  constructor(base: Graph | { name: string; opset?: number }) {
    if ('nodes' in base) {
      this.graph = base;
      this.facts = inferShapes(base);
    } else {
      this.graph = { name: base.name, opset: base.opset ?? 17, nodes: [], inputs: [], outputs: [], initializers: new Map() };
      this.facts = new Map();
    }
    this.usedNames = new Set<string>();
    for (const n of this.graph.nodes) {
      this.usedNames.add(n.name);
      n.outputs.forEach((o) => this.usedNames.add(o));
    }
    for (const k of this.graph.initializers.keys()) this.usedNames.add(k);
    for (const v of this.graph.inputs) this.usedNames.add(v.name);
    this.floatConsts = constantFloats(this.graph);
  }

  /** Run `fn` with names prefixed by `scope/` (nested scopes join with '/'). */
  scope<T>(scope: string, fn: () => T): T {
    const prev = this.prefix;
    this.prefix = `${prev}${scope}/`;
    try {
      return fn();
    } finally {
      this.prefix = prev;
    }
  }

  private fresh(base: string): string {
    let name = `${this.prefix}${base}`;
    while (this.usedNames.has(name)) name = `${this.prefix}${base}_${++this.counter}`;
    this.usedNames.add(name);
    return name;
  }

  /** The tensor behind an initializer or a Constant node's output, if `name` is one. */
  constantTensor(name: string): Tensor | undefined {
    const init = this.graph.initializers.get(name);
    if (init) return init;
    const node = this.graph.nodes.find((n) => n.opType === 'Constant' && n.outputs[0] === name);
    return node?.attrs.value?.type === 'tensor' ? node.attrs.value.value : undefined;
  }

  /** Whether `name` is a constant whose every element equals `v`. */
  isConstantFill(name: string, v: number): boolean {
    const t = this.constantTensor(name);
    if (!t) return false;
    for (let i = 0; i < t.data.length; i++) if (Number(t.data[i]) !== v) return false;
    return true;
  }

  has(name: string): boolean {
    return this.facts.has(name);
  }

  factsOf(name: string): ValueFacts {
    const f = this.facts.get(name);
    if (!f) throw new EngineError('engine/invalid_graph', `unknown value ${name}`);
    return f;
  }

  shape(name: string): Dim[] {
    const s = this.factsOf(name).shape;
    if (!s) throw new EngineError('engine/invalid_graph', `value ${name} has unknown rank`);
    return s;
  }

  rank(name: string): number {
    return this.shape(name).length;
  }

  dtype(name: string): DType {
    return this.factsOf(name).dtype;
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    if (this.usedNames.has(name)) throw new EngineError('engine/invalid_graph', `name ${name} already used`);
    this.usedNames.add(name);
    this.graph.inputs.push({ name, dtype, shape });
    this.facts.set(name, { dtype, shape });
    return name;
  }

  /** Declare `value` as a graph output, optionally under another name (through Identity). */
  output(value: string, as?: string): string {
    let name = value;
    if (as && as !== value) {
      name = as;
      if (this.usedNames.has(name)) throw new EngineError('engine/invalid_graph', `name ${name} already used`);
      this.usedNames.add(name);
      this.pushNode({ name: this.fresh(`Identity_${as}`), opType: 'Identity', domain: '', inputs: [value], outputs: [name], attrs: {} });
    }
    const f = this.factsOf(name);
    this.graph.outputs.push({ name, dtype: f.dtype, shape: f.shape });
    return name;
  }

  /**
   * Add an initializer. Its name gets the current scope prefix and a suffix if taken, unless
   * `exact` (network parameters keep their state_dict key; a clash is an error).
   */
  initializer(name: string, t: Tensor, exact = false): string {
    if (exact && this.usedNames.has(name)) throw new EngineError('engine/invalid_graph', `initializer ${name} already exists`);
    if (exact) this.usedNames.add(name);
    const full = exact ? name : this.fresh(name);
    this.graph.initializers.set(full, t);
    this.facts.set(full, inferNode({ name: full, opType: 'Constant', domain: '', inputs: [], outputs: [full], attrs: { value: attr.tensor(t) } }, () => undefined, this.graph.opset)[0]);
    if (t.data.length <= 64) this.floatConsts.set(full, Array.from(t.data as ArrayLike<number | bigint>, Number));
    return full;
  }

  /** Append ready-made nodes (names must be unique), inferring their shapes. */
  appendNodes(nodes: Node[]): void {
    for (const n of nodes) {
      if (this.usedNames.has(n.name)) throw new EngineError('engine/invalid_graph', `node name ${n.name} already used`);
      this.usedNames.add(n.name);
      for (const o of n.outputs) if (o) this.usedNames.add(o);
      if (n.opType === 'Constant' && n.attrs.value?.type === 'tensor' && n.attrs.value.value.data.length <= 64) {
        this.floatConsts.set(n.outputs[0], Array.from(n.attrs.value.value.data as ArrayLike<number | bigint>, Number));
      }
      this.pushNode(n);
    }
  }

  private pushNode(node: Node): void {
    const outs = inferNode(node, (n) => this.facts.get(n), this.graph.opset, (n) => this.floatConsts.get(n));
    node.outputs.forEach((o, i) => {
      if (o && outs[i]) this.facts.set(o, outs[i]);
    });
    this.graph.nodes.push(node);
  }

  /** Add a node; returns its output names. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}, nOutputs = 1, name?: string): string[] {
    const nodeName = this.fresh(name ?? opType);
    const outputs = Array.from({ length: nOutputs }, (_, i) => this.fresh(`${name ?? opType}_out${i}`));
    const a: Attrs = {};
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a[k] = toAttr(k, v);
    this.pushNode({ name: nodeName, opType, domain: '', inputs, outputs, attrs: a });
    return outputs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0];
  }

  /** A constant tensor (deduplicated by value). */
  constant(t: Tensor): string {
    const key = `${t.dtype}|${t.dims.join(',')}|${Array.from(t.data as ArrayLike<number | bigint>, String).join(',')}`;
    const useCache = t.data.length <= 64;
    const hit = useCache ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const out = this.op('Constant', [], { value: attr.tensor(t) });
    if (useCache) this.constCache.set(key, out);
    if (t.data.length <= 64) this.floatConsts.set(out, Array.from(t.data as ArrayLike<number | bigint>, Number));
    return out;
  }

  scalar(v: number, dtype: DType = DType.FLOAT): string {
    if (dtype === DType.INT64) return this.constant(int64Tensor([], [v]));
    if (dtype === DType.DOUBLE) return this.constant({ dtype, dims: [], data: Float64Array.of(v) });
    return this.constant(floatTensor([], [v]));
  }

  ints(values: number[]): string {
    return this.constant(int64Tensor([values.length], values));
  }

  floats(dims: number[], values: ArrayLike<number>): string {
    return this.constant(floatTensor(dims, values));
  }

  // ---- elementwise ----
  add(a: string, b: string): string { return this.op('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op('Div', [a, b]); }
  pow(a: string, b: string): string { return this.op('Pow', [a, b]); }
  neg(x: string): string { return this.op('Neg', [x]); }
  exp(x: string): string { return this.op('Exp', [x]); }
  log(x: string): string { return this.op('Log', [x]); }
  sqrt(x: string): string { return this.op('Sqrt', [x]); }
  reciprocal(x: string): string { return this.op('Reciprocal', [x]); }
  sigmoid(x: string): string { return this.op('Sigmoid', [x]); }
  relu(x: string): string { return this.op('Relu', [x]); }
  tanh(x: string): string { return this.op('Tanh', [x]); }
  sin(x: string): string { return this.op('Sin', [x]); }
  cos(x: string): string { return this.op('Cos', [x]); }
  identity(x: string): string { return this.op('Identity', [x]); }
  /** x * sigmoid(x), the SiLU the ADM and DDPM nets use. */
  silu(x: string): string { return this.mul(x, this.sigmoid(x)); }
  where(c: string, a: string, b: string): string { return this.op('Where', [c, a, b]); }
  cast(x: string, to: DType): string { return this.op('Cast', [x], { to }); }
  /** Multiply by a float constant. */
  scale(x: string, s: number): string { return s === 1 ? x : this.mul(x, this.scalar(s)); }

  // ---- linear algebra ----
  matmul(a: string, b: string): string { return this.op('MatMul', [a, b]); }
  gemm(a: string, b: string, c?: string, o: { alpha?: number; beta?: number; transA?: boolean; transB?: boolean } = {}): string {
    return this.op('Gemm', c ? [a, b, c] : [a, b], {
      alpha: o.alpha !== undefined && o.alpha !== 1 ? attr.float(o.alpha) : undefined,
      beta: o.beta !== undefined && o.beta !== 1 ? attr.float(o.beta) : undefined,
      transA: o.transA ? 1 : undefined,
      transB: o.transB ? 1 : undefined,
    } as Record<string, AttrInput>);
  }
  einsum(equation: string, ...xs: string[]): string { return this.op('Einsum', xs, { equation }); }
  conv(x: string, w: string, b?: string, o: ConvOptions = {}): string {
    return this.op('Conv', b ? [x, w, b] : [x, w], { pads: o.pads, strides: o.strides, dilations: o.dilations, group: o.group } as Record<string, AttrInput>);
  }
  convTranspose(x: string, w: string, b: string | undefined, o: ConvOptions & { outputPadding?: number[] } = {}): string {
    return this.op('ConvTranspose', b ? [x, w, b] : [x, w], {
      pads: o.pads, strides: o.strides, dilations: o.dilations, group: o.group, output_padding: o.outputPadding,
    } as Record<string, AttrInput>);
  }
  averagePool(x: string, o: PoolOptions): string {
    return this.op('AveragePool', [x], { kernel_shape: o.kernel, strides: o.strides, pads: o.pads, count_include_pad: o.countIncludePad ? 1 : undefined } as Record<string, AttrInput>);
  }
  maxPool(x: string, o: PoolOptions): string {
    return this.op('MaxPool', [x], { kernel_shape: o.kernel, strides: o.strides, pads: o.pads } as Record<string, AttrInput>);
  }

  // ---- shape ----
  shapeOf(x: string): string { return this.op('Shape', [x]); }
  reshape(x: string, shape: number[] | string): string {
    return this.op('Reshape', [x, typeof shape === 'string' ? shape : this.ints(shape)]);
  }
  transpose(x: string, perm: number[]): string { return this.op('Transpose', [x], { perm }); }
  unsqueeze(x: string, axes: number[]): string { return this.op('Unsqueeze', [x, this.ints(axes)]); }
  squeeze(x: string, axes: number[]): string { return this.op('Squeeze', [x, this.ints(axes)]); }
  concat(xs: string[], axis: number): string { return this.op('Concat', xs, { axis }); }
  split(x: string, sizes: number[], axis: number): string[] {
    return this.node('Split', [x, this.ints(sizes)], { axis }, sizes.length);
  }
  slice(x: string, starts: number[], ends: number[], axes: number[], steps?: number[]): string {
    const ins = [x, this.ints(starts), this.ints(ends), this.ints(axes)];
    if (steps) ins.push(this.ints(steps));
    return this.op('Slice', ins);
  }
  pad(x: string, pads: number[], mode: 'constant' | 'reflect' | 'edge' = 'constant'): string {
    return this.op('Pad', [x, this.ints(pads)], mode === 'constant' ? {} : { mode });
  }
  expand(x: string, shape: string): string { return this.op('Expand', [x, shape]); }
  constantOfShape(shape: string, value = 0, dtype: DType = DType.FLOAT): string {
    const t: Tensor = dtype === DType.FLOAT ? floatTensor([1], [value]) : int64Tensor([1], [value]);
    return this.op('ConstantOfShape', [shape], { value: t });
  }
  /** Zeros shaped like x (at run time, so it follows the batch). */
  zerosLike(x: string): string {
    return this.constantOfShape(this.shapeOf(x), 0, this.dtype(x));
  }

  // ---- reductions, normalisation ----
  reduceSum(x: string, axes: number[], keepdims = true): string {
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  reduceMean(x: string, axes: number[], keepdims = true): string {
    return this.graph.opset >= 18
      ? this.op('ReduceMean', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 })
      : this.op('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 });
  }
  softmax(x: string, axis = -1): string { return this.op('Softmax', [x], { axis }); }
  instanceNorm(x: string, scale: string, bias: string, epsilon = 1e-5): string {
    return this.op('InstanceNormalization', [x, scale, bias], { epsilon });
  }
  resize(x: string, scales: number[], mode: 'nearest' | 'linear' = 'nearest', coordinateTransformationMode = 'asymmetric'): string {
    const s = this.floats([scales.length], scales);
    return this.op('Resize', [x, '', s], { mode, coordinate_transformation_mode: coordinateTransformationMode, nearest_mode: mode === 'nearest' ? 'floor' : undefined } as Record<string, AttrInput>);
  }
}
