/**
 * Shape inference over the IR with symbolic dims, plus value propagation for the small integer
 * tensors that torch exports compute shapes with (Shape -> Gather -> Mul -> Concat -> Reshape).
 * Semantics follow the ONNX operator specs (opset 13-18 forms: axes and pads as inputs); the
 * per-op rules live in ./shapes (one family per file), this module drives them over a graph.
 */
import { EngineError } from '../errors';
import { Graph, Node } from './ir';
import { tensorToNumbers } from './tensor';
import { isStatic } from './dims';
import { SHAPE_RULES } from './shapes';
import { SMALL, factsOfTensor, fail } from './shapes/common';
import { FactsMap, ShapeContext, ValueFacts } from './shapes/rule';

export type { FactsMap, ValueFacts } from './shapes/rule';
export { broadcastShapes, factsOfTensor, sliceRange } from './shapes/common';
export { parseEinsum } from './shapes/linalg';

function makeContext(node: Node, get: (name: string) => ValueFacts | undefined, opset: number, floatsOf: (name: string) => number[] | undefined): ShapeContext {
  const input = (i: number): ValueFacts | undefined => (node.inputs[i] ? get(node.inputs[i]) : undefined);
  const req = (i: number): ValueFacts => {
    const f = input(i);
    if (!f) fail(node, `input ${i} (${node.inputs[i] ?? 'missing'}) has no known type`);
    return f;
  };
  const shape = (i: number) => req(i).shape;
  return {
    node,
    opset,
    input,
    req,
    shape,
    rank: (i) => {
      const s = shape(i);
      if (!s) fail(node, `input ${i} has unknown rank`);
      return s.length;
    },
    constInts: (i) => {
      const v = input(i)?.value;
      if (!v || !v.every(isStatic)) return undefined;
      return v as number[];
    },
    constFloats: (i) => (node.inputs[i] ? floatsOf(node.inputs[i]) : undefined),
  };
}

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
  const rule = SHAPE_RULES.get(node.opType);
  if (!rule) {
    throw new EngineError('engine/unsupported_op', `no shape inference for op ${node.opType} (node ${node.name})`, { op: node.opType, node: node.name });
  }
  return rule(makeContext(node, get, opset, floatsOf));
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
