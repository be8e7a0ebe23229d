/**
 * A small typed graph IR mirroring ONNX GraphProto: nodes in topological order, named values,
 * initializers held as host tensors. Shapes use symbolic dims (see dims.ts) so that graphs stay
 * polymorphic in the batch dimension.
 */
import { DType, Tensor } from './tensor';
import { Dim } from './dims';

export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: Tensor };

export type Attrs = Record<string, Attr>;

export interface Node {
  name: string;
  opType: string;
  domain: string;
  inputs: string[]; // '' marks an omitted optional input
  outputs: string[];
  attrs: Attrs;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** null when the rank is unknown */
  shape: Dim[] | null;
}

export interface Graph {
  name: string;
  opset: number;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
}

export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  ints: (value: number[]): Attr => ({ type: 'ints', value }),
  floats: (value: number[]): Attr => ({ type: 'floats', value }),
  tensor: (value: Tensor): Attr => ({ type: 'tensor', value }),
};

export function getInt(node: Node, name: string, dflt: number): number {
  const a = node.attrs[name];
  if (!a) return dflt;
  if (a.type !== 'int') throw new TypeError(`${node.opType} ${node.name}: attribute ${name} is ${a.type}, expected int`);
  return a.value;
}

export function getFloat(node: Node, name: string, dflt: number): number {
  const a = node.attrs[name];
  if (!a) return dflt;
  if (a.type !== 'float' && a.type !== 'int') throw new TypeError(`${node.opType} ${node.name}: attribute ${name} is ${a.type}, expected float`);
  return a.value;
}

export function getInts(node: Node, name: string): number[] | undefined {
  const a = node.attrs[name];
  if (!a) return undefined;
  if (a.type !== 'ints') throw new TypeError(`${node.opType} ${node.name}: attribute ${name} is ${a.type}, expected ints`);
  return a.value;
}

export function getString(node: Node, name: string, dflt: string): string {
  const a = node.attrs[name];
  if (!a) return dflt;
  if (a.type !== 'string') throw new TypeError(`${node.opType} ${node.name}: attribute ${name} is ${a.type}, expected string`);
  return a.value;
}

export function cloneGraph(g: Graph): Graph {
  return {
    name: g.name,
    opset: g.opset,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    inputs: g.inputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : null })),
    outputs: g.outputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : null })),
    initializers: new Map(g.initializers),
  };
}

/** Map from value name to the node that produces it. */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}
