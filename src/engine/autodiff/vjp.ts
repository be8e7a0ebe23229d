/**
 * Reverse-mode differentiation of ONNX graphs (vector-Jacobian products), emitting standard ONNX
 * ops that onnxruntime's CPU provider runs. The backward pass is appended to the forward graph,
 * so forward activations are computed once; nodes that do not depend on the differentiated
 * tensors (timestep embeddings, shape arithmetic) stay as they are and are never differentiated.
 */
import { EngineError } from '../errors';
import { GraphBuilder } from '../onnx/builder';
import { pruneGraph } from '../onnx/prune';
import { Graph, Node, cloneGraph } from '../onnx/ir';
import { Dim, dimEq, isStatic } from '../onnx/dims';
import { DType, isFloatType } from '../onnx/tensor';
import { GRAD_RULES, NON_DIFFERENTIABLE_OPS } from './registry';
import { GradContext } from './rule';

/**
 * Sum `grad` (shaped like a broadcast of `x`) back to x's shape: the one place broadcasting is
 * reduced. Static axes when shapes tell; otherwise the axes are found at run time.
 */
export function unbroadcast(b: GraphBuilder, grad: string, x: string): string {
  const gs = b.shape(grad);
  const xs = b.shape(x);
  if (gs.length === xs.length && gs.every((d, i) => dimEq(d, xs[i]))) return grad;
  const lead = gs.length - xs.length;
  if (lead < 0) throw new EngineError('engine/invalid_graph', `gradient ${grad} has lower rank than ${x}`);
  const axes: number[] = [];
  let ambiguous = false;
  for (let i = 0; i < gs.length; i++) {
    if (i < lead) { axes.push(i); continue; }
    const xd = xs[i - lead];
    const gd = gs[i];
    if (dimEq(xd, gd)) continue;
    if (xd === 1) axes.push(i);
    else if (isStatic(xd) && isStatic(gd)) throw new EngineError('engine/shape_mismatch', `cannot reduce gradient ${gs} to ${xs}`);
    else ambiguous = true;
  }
  if (ambiguous) return dynamicUnbroadcast(b, grad, x, lead);
  const reduced = axes.length ? b.reduceSum(grad, axes, true) : grad;
  return lead > 0 || axes.length === 0 ? b.reshape(reduced, b.shapeOf(x)) : reduced;
}

function dynamicUnbroadcast(b: GraphBuilder, grad: string, x: string, lead: number): string {
  const xShape = b.shapeOf(x);
  const padded = lead > 0 ? b.concat([b.ints(new Array(lead).fill(1)), xShape], 0) : xShape;
  const differs = b.op('Not', [b.op('Equal', [padded, b.shapeOf(grad)])]);
  const axes = b.squeeze(b.op('NonZero', [differs]), [0]);
  const reduced = b.op('ReduceSum', [grad, axes], { keepdims: 1, noop_with_empty_axes: 1 });
  return b.reshape(reduced, xShape);
}

function accumulate(b: GraphBuilder, grads: string[]): string {
  return grads.reduce((acc, g) => b.add(acc, g));
}

/**
 * Append to `b` the gradients of the seeded outputs with respect to `wrt`.
 * @param seeds forward value name -> name of its cotangent (already in the graph)
 * @param wrt graph inputs and/or initializers to differentiate
 * @returns wrt name -> gradient value name (zeros where the outputs do not depend on it)
 */
export function appendGradients(b: GraphBuilder, seeds: Map<string, string>, wrt: string[]): Map<string, string> {
  const g = b.graph;
  const forwardNodes = [...g.nodes];
  for (const w of wrt) {
    if (!b.has(w)) throw new EngineError('engine/invalid_graph', `cannot differentiate with respect to ${w}: no such input or initializer`);
    if (!isFloatType(b.dtype(w))) throw new EngineError('engine/not_differentiable', `${w} is not a floating-point tensor`);
  }
  // 1. Activity: values that depend on wrt through differentiable ops.
  const active = new Set<string>(wrt);
  for (const n of forwardNodes) {
    if (NON_DIFFERENTIABLE_OPS.has(n.opType)) continue;
    if (!n.inputs.some((i) => i && active.has(i))) continue;
    for (const o of n.outputs) if (o && isFloatType(b.dtype(o))) active.add(o);
  }
  // 2. Usefulness: active values the seeded outputs depend on.
  const useful = new Set<string>();
  for (const s of seeds.keys()) if (active.has(s)) useful.add(s);
  for (let k = forwardNodes.length - 1; k >= 0; k--) {
    const n = forwardNodes[k];
    if (!n.outputs.some((o) => useful.has(o))) continue;
    for (const i of n.inputs) if (i && active.has(i)) useful.add(i);
  }
  const producerOf = new Map<string, Node>();
  const readerCount = new Map<string, number>();
  for (const n of forwardNodes) {
    for (const o of n.outputs) if (o) producerOf.set(o, n);
    for (const i of n.inputs) if (i) readerCount.set(i, (readerCount.get(i) ?? 0) + 1);
  }
  for (const o of g.outputs) readerCount.set(o.name, (readerCount.get(o.name) ?? 0) + 1);
  const graphInfo = { producer: (n: string) => producerOf.get(n), readers: (n: string) => readerCount.get(n) ?? 0 };
  // 3. Reverse sweep.
  const pending = new Map<string, string[]>();
  const push = (name: string, grad: string) => {
    const l = pending.get(name);
    if (l) l.push(grad);
    else pending.set(name, [grad]);
  };
  for (const [out, cot] of seeds) if (useful.has(out)) push(out, cot);
  const finalGrad = (name: string): string | null => {
    const l = pending.get(name);
    if (!l || l.length === 0) return null;
    const sum = l.length === 1 ? l[0] : accumulate(b, l);
    pending.set(name, [sum]);
    return sum;
  };
  b.scope('grad', () => {
    for (let k = forwardNodes.length - 1; k >= 0; k--) {
      const node = forwardNodes[k];
      if (!node.outputs.some((o) => useful.has(o) && pending.has(o))) continue;
      const rule = GRAD_RULES.get(node.opType);
      if (!rule) {
        throw new EngineError('engine/unsupported_op', `no gradient rule for op ${node.opType} (node ${node.name})`, { op: node.opType, node: node.name });
      }
      const ctx = makeContext(b, node, finalGrad, (i) => !!node.inputs[i] && useful.has(node.inputs[i]), graphInfo);
      const grads = b.scope(node.name.replace(/^\//, '').replace(/[^A-Za-z0-9_.\-/]/g, '_'), () => rule(ctx));
      node.inputs.forEach((inp, i) => {
        const gi = grads[i];
        if (!gi || !ctx.needsGrad(i)) return;
        push(inp, unbroadcast(b, gi, inp));
      });
    }
  });
  const result = new Map<string, string>();
  for (const w of wrt) result.set(w, finalGrad(w) ?? b.zerosLike(w));
  return result;
}

function makeContext(
  b: GraphBuilder,
  node: Node,
  gradOf: (name: string) => string | null,
  needs: (i: number) => boolean,
  info: { producer: (n: string) => Node | undefined; readers: (n: string) => number },
): GradContext {
  return {
    ...info,
    b,
    node,
    input: (i) => node.inputs[i],
    output: (i) => node.outputs[i],
    gradOutput: (i) => (node.outputs[i] ? gradOf(node.outputs[i]) : null),
    gradOutputOrZeros: (i) => gradOf(node.outputs[i]) ?? b.zerosLike(node.outputs[i]),
    needsGrad: needs,
    shape: (n) => b.shape(n),
    rank: (n) => b.rank(n),
  };
}

export interface GradientGraphOptions {
  /** Forward outputs to differentiate. Default: all graph outputs. */
  outputs?: string[];
  /** Inputs and/or initializers to differentiate with respect to. */
  wrt: string[];
  /** Keep the forward outputs as outputs of the combined graph. Default true. */
  keepForwardOutputs?: boolean;
}

export interface GradientGraph {
  graph: Graph;
  /** Cotangent input name per differentiated output. */
  cotangentInputs: Map<string, string>;
  /** Gradient output name per wrt tensor. */
  gradientOutputs: Map<string, string>;
}

export const cotangentName = (output: string): string => `grad_in/${output}`;
export const gradientName = (wrt: string): string => `grad/${wrt}`;

/**
 * Build a combined forward+backward graph: inputs are the forward inputs plus one cotangent per
 * differentiated output (`grad_in/<output>`), outputs are the forward outputs (optional) plus
 * one gradient per wrt tensor (`grad/<name>`). Shape-polymorphic in the batch dimension.
 */
export function buildGradientGraph(forward: Graph, opts: GradientGraphOptions): GradientGraph {
  const graph = cloneGraph(forward);
  const b = new GraphBuilder(graph);
  const outs = opts.outputs ?? forward.outputs.map((o) => o.name);
  const seeds = new Map<string, string>();
  for (const o of outs) {
    if (!b.has(o)) throw new EngineError('engine/invalid_graph', `no value named ${o} in the graph`);
    const f = b.factsOf(o);
    if (f.dtype !== DType.FLOAT) throw new EngineError('engine/not_differentiable', `output ${o} is not float32`);
    seeds.set(o, b.input(cotangentName(o), f.dtype, (f.shape ?? []) as Dim[]));
  }
  const grads = appendGradients(b, seeds, opts.wrt);
  if (opts.keepForwardOutputs === false) graph.outputs = [];
  const gradientOutputs = new Map<string, string>();
  for (const [w, gname] of grads) gradientOutputs.set(w, b.output(gname, gradientName(w)));
  pruneGraph(graph);
  return { graph, cotangentInputs: seeds, gradientOutputs };
}
