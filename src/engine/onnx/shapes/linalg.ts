/**
 * MatMul (numpy matmul semantics: 1-D operands are promoted then the added axis removed, batch
 * axes broadcast), Gemm (transA/transB) and Einsum (explicit or implicit output, no ellipsis),
 * per the ONNX MatMul, Gemm and Einsum specs.
 */
import { Node, getInt, getString } from '../ir';
import { Dim } from '../dims';
import { broadcastShapes, fail } from './common';
import { ShapeRuleFamily } from './rule';

/** Operand and output subscripts of an einsum equation; the implicit output is the sorted once-used letters. */
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

export const linalgRules: ShapeRuleFamily = {
  MatMul: ({ node, req, shape }) => {
    const a = shape(0);
    const b = shape(1);
    const dtype = req(0).dtype;
    if (!a || !b) return [{ dtype, shape: null }];
    if (a.length < 1 || b.length < 1) fail(node, 'scalars are not allowed');
    const a2 = a.length === 1 ? [1, a[0]] : a;
    const b2 = b.length === 1 ? [b[0], 1] : b;
    const batch = broadcastShapes(node, [a2.slice(0, -2), b2.slice(0, -2)])!;
    const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
    if (a.length === 1) out.splice(out.length - 2, 1);
    if (b.length === 1) out.splice(out.length - 1, 1);
    return [{ dtype, shape: out }];
  },
  Gemm: ({ node, req, shape }) => {
    const a = shape(0);
    const b = shape(1);
    const dtype = req(0).dtype;
    if (!a || !b) return [{ dtype, shape: null }];
    const m = getInt(node, 'transA', 0) ? a[1] : a[0];
    const n = getInt(node, 'transB', 0) ? b[0] : b[1];
    return [{ dtype, shape: [m, n] }];
  },
  // Einsum: each letter takes its first non-1 size over the operands (1 broadcasts)
  Einsum: ({ node, req, shape, rank }) => {
    const eq = getString(node, 'equation', '');
    const { inputs, output } = parseEinsum(node, eq, node.inputs.map((_, i) => rank(i)));
    const letterDim = new Map<string, Dim>();
    inputs.forEach((sub, i) => {
      const s = shape(i)!;
      sub.forEach((ch, k) => {
        const d = s[k];
        const prev = letterDim.get(ch);
        if (prev === undefined || prev === 1) letterDim.set(ch, d);
      });
    });
    return [{ dtype: req(0).dtype, shape: output.map((ch) => letterDim.get(ch)!) }];
  },
};
