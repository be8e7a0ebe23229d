/**
 * MatMul, Gemm, Einsum (ONNX operator specs). Batch broadcasting of MatMul is reduced by vjp.ts.
 */
import { EngineError } from '../../errors';
import { getFloat, getInt, getString } from '../../onnx/ir';
import { parseEinsum } from '../../onnx/shape-inference';
import { GradContext, RuleFamily } from '../rule';

/** Swap the last two axes. */
function transposeLast2(ctx: GradContext, x: string): string {
  const r = ctx.rank(x);
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return ctx.b.transpose(x, perm);
}

/**
 * Einsum gradient for operand k: einsum(dY, other operands -> sub_k). Letters of sub_k that
 * appear in neither the output nor another operand were summed inside operand k alone: they are
 * restored by broadcasting (Unsqueeze + Expand to the operand's shape).
 */
function einsumGrad(ctx: GradContext, k: number): string {
  const { b, node } = ctx;
  const eq = getString(node, 'equation', '');
  const ranks = node.inputs.map((n) => ctx.rank(n));
  const { inputs, output } = parseEinsum(node, eq, ranks);
  const target = inputs[k];
  if (new Set(target).size !== target.length) {
    throw new EngineError('engine/unsupported_op', `Einsum ${eq} (node ${node.name}): repeated index in operand ${k} has no gradient rule`, { op: 'Einsum', node: node.name });
  }
  const available = new Set<string>(output);
  inputs.forEach((t, i) => i !== k && t.forEach((c) => available.add(c)));
  const kept = target.filter((c) => available.has(c));
  const others = inputs.map((t, i) => ({ t, i })).filter(({ i }) => i !== k);
  const lhs = [output.join(''), ...others.map(({ t }) => t.join(''))].join(',');
  let g = b.einsum(`${lhs}->${kept.join('')}`, ctx.gradOutput(0)!, ...others.map(({ i }) => node.inputs[i]));
  if (kept.length !== target.length) {
    const missing = target.map((c, i) => (available.has(c) ? -1 : i)).filter((i) => i >= 0);
    g = b.expand(b.unsqueeze(g, missing), b.shapeOf(node.inputs[k]));
  }
  return g;
}

export const linalgRules: RuleFamily = {
  // Y = A B: dA = dY B^T, dB = A^T dY (batch axes broadcast, reduced by the framework)
  MatMul: (ctx) => {
    const { b, input, gradOutput, needsGrad } = ctx;
    const dy = gradOutput(0)!;
    if (ctx.rank(input(0)) < 2 || ctx.rank(input(1)) < 2) {
      throw new EngineError('engine/unsupported_op', `MatMul with a 1-D operand (node ${ctx.node.name}) has no gradient rule`, { op: 'MatMul', node: ctx.node.name });
    }
    return [
      needsGrad(0) ? b.matmul(dy, transposeLast2(ctx, input(1))) : null,
      needsGrad(1) ? b.matmul(transposeLast2(ctx, input(0)), dy) : null,
    ];
  },
  // Y = alpha op(A) op(B) + beta C
  Gemm: (ctx) => {
    const { b, node, input, gradOutput, needsGrad } = ctx;
    const dy = gradOutput(0)!;
    const alpha = getFloat(node, 'alpha', 1);
    const beta = getFloat(node, 'beta', 1);
    const tA = getInt(node, 'transA', 0) === 1;
    const tB = getInt(node, 'transB', 0) === 1;
    const [A, B] = [input(0), input(1)];
    let dA: string | null = null;
    let dB: string | null = null;
    if (needsGrad(0)) {
      // d op(A) = alpha dY op(B)^T; if transA, dA = (d op(A))^T = alpha op(B) dY^T
      dA = tA ? b.gemm(B, dy, undefined, { alpha, transA: tB, transB: true }) : b.gemm(dy, B, undefined, { alpha, transB: !tB });
    }
    if (needsGrad(1)) {
      // d op(B) = alpha op(A)^T dY; if transB, dB = alpha dY^T op(A)
      dB = tB ? b.gemm(dy, A, undefined, { alpha, transA: true, transB: tA }) : b.gemm(A, dy, undefined, { alpha, transA: !tA });
    }
    const dC = node.inputs[2] && needsGrad(2) ? b.scale(dy, beta) : null;
    return [dA, dB, dC];
  },
  Einsum: (ctx) => ctx.node.inputs.map((_, k) => (ctx.needsGrad(k) ? einsumGrad(ctx, k) : null)),
};
