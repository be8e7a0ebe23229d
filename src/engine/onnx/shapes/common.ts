/**
 * Helpers shared by the shape rules: the failure form, multidirectional broadcasting (ONNX
 * Broadcasting.md), axis normalisation, Slice bounds (ONNX Slice spec) and value propagation
 * over the small integer tensors that carry shape arithmetic.
 */
import { EngineError } from '../../errors';
import { Node } from '../ir';
import { DType, Tensor, tensorToNumbers } from '../tensor';
import { Dim, dimAdd, dimDiv, dimEq, dimMul, dimSub, isStatic, shapeToString } from '../dims';
import { ShapeRule, ShapeRuleFamily, ValueFacts } from './rule';

/** Largest integer tensor whose values are tracked. */
export const SMALL = 64;

export function factsOfTensor(t: Tensor): ValueFacts {
  const f: ValueFacts = { dtype: t.dtype, shape: [...t.dims] };
  if ((t.dtype === DType.INT64 || t.dtype === DType.INT32) && t.data.length <= SMALL) f.value = tensorToNumbers(t);
  return f;
}

export function fail(node: Node, msg: string): never {
  throw new EngineError('engine/invalid_graph', `${node.opType} node ${node.name}: ${msg}`, { node: node.name, op: node.opType });
}

/** Every output takes input 0's shape; outputs after the first take `extraDtype` when given. */
export function likeInput(extraDtype?: DType): ShapeRule {
  return ({ node, req }) => {
    const x = req(0);
    const outs: ValueFacts[] = [{ dtype: x.dtype, shape: x.shape }];
    for (let i = 1; i < node.outputs.length; i++) outs.push({ dtype: extraDtype ?? x.dtype, shape: x.shape });
    return outs;
  };
}

/** Multidirectional (numpy-style) broadcasting; a symbol against another dim keeps the known one. */
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

export function normAxis(node: Node, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(node, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

function clampSliceIndex(v: number, dim: number, step: number): number {
  const x = v < 0 ? v + dim : v;
  return step > 0 ? Math.max(0, Math.min(dim, x)) : Math.max(-1, Math.min(dim - 1, x));
}

/** Static slice bounds of one axis per the ONNX Slice spec. */
export function sliceRange(start: number, end: number, step: number, dim: number): { start: number; end: number; len: number } {
  const s = clampSliceIndex(start, dim, step);
  const e = clampSliceIndex(end, dim, step);
  const len = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { start: s, end: e, len };
}

/**
 * Read a strided, permuted view of a small row-major value array: output axis i walks input axis
 * perm[i] from start[perm[i]] with step[perm[i]] for count[i] elements.
 */
export function gatherValues(shape: number[], values: Dim[], start: number[], count: number[], step: number[], perm: number[]): Dim[] {
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

const DIM_ARITHMETIC = new Map<string, (a: Dim, b: Dim) => Dim>([['Add', dimAdd], ['Sub', dimSub], ['Mul', dimMul], ['Div', dimDiv]]);

/** Values of Add/Sub/Mul/Div over two known value vectors (equal lengths, or one of length 1). */
export function elementwiseValue(op: string, a: Dim[], b: Dim[]): Dim[] | undefined {
  if (!(a.length === b.length || a.length === 1 || b.length === 1)) return undefined;
  const f = DIM_ARITHMETIC.get(op);
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    if (!f) return undefined;
    out.push(f(a.length === 1 ? a[0] : a[i], b.length === 1 ? b[0] : b[i]));
  }
  return out;
}

/** One rule for each of several ops. */
export function sameRule(ops: readonly string[], rule: ShapeRule): ShapeRuleFamily {
  return Object.fromEntries(ops.map((op) => [op, rule]));
}
