/**
 * InstanceNormalization, LayerNormalization, GroupNormalization (ONNX specs). Statistics are
 * recomputed in the backward pass (two reductions) rather than exported from the forward node.
 *
 * With xhat = (x - mean) * rstd over the normalised axes and g = dY * scale:
 *   dX = rstd * (g - mean(g) - xhat * mean(g * xhat))
 */
import { getFloat, getInt } from '../../onnx/ir';
import { GraphBuilder } from '../../onnx/builder';
import { GradContext, RuleFamily } from '../rule';

function centeredStats(b: GraphBuilder, x: string, axes: number[], eps: number): { xc: string; rstd: string } {
  const mean = b.reduceMean(x, axes, true);
  const xc = b.sub(x, mean);
  const variance = b.reduceMean(b.mul(xc, xc), axes, true);
  return { xc, rstd: b.reciprocal(b.sqrt(b.add(variance, b.scalar(eps)))) };
}

function normalized(b: GraphBuilder, x: string, axes: number[], eps: number): { xhat: string; rstd: string } {
  const { xc, rstd } = centeredStats(b, x, axes, eps);
  return { xhat: b.mul(xc, rstd), rstd };
}

function inputGrad(b: GraphBuilder, g: string, xhat: string, rstd: string, axes: number[]): string {
  const mg = b.reduceMean(g, axes, true);
  const mgx = b.reduceMean(b.mul(g, xhat), axes, true);
  return b.mul(rstd, b.sub(b.sub(g, mg), b.mul(xhat, mgx)));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

export const normalizationRules: RuleFamily = {
  InstanceNormalization: (ctx: GradContext) => {
    const { b, node, needsGrad } = ctx;
    const x = ctx.input(0);
    const r = ctx.rank(x);
    const axes = range(2, r);
    const dy = ctx.gradOutput(0)!;
    const eps = getFloat(node, 'epsilon', 1e-5);
    // torch exports GroupNorm as InstanceNormalization with constant unit scale and zero bias
    // (the affine follows as Mul/Add): then the output is xhat itself and only rstd is recomputed.
    const unitScale = b.isConstantFill(ctx.input(1), 1);
    const plain = unitScale && b.isConstantFill(ctx.input(2), 0);
    const { xhat, rstd } = plain ? { xhat: ctx.output(0), rstd: centeredStats(b, x, axes, eps).rstd } : normalized(b, x, axes, eps);
    const g = unitScale ? dy : b.mul(dy, b.unsqueeze(ctx.input(1), range(1, r - 1))); // scale as [C, 1, ...]
    const dx = needsGrad(0) ? inputGrad(b, g, xhat, rstd, axes) : null;
    const dScale = needsGrad(1) ? b.reduceSum(b.mul(dy, xhat), [0, ...axes], false) : null;
    const dBias = needsGrad(2) ? b.reduceSum(dy, [0, ...axes], false) : null;
    return [dx, dScale, dBias];
  },
  LayerNormalization: (ctx) => {
    const { b, node, needsGrad } = ctx;
    const x = ctx.input(0);
    const r = ctx.rank(x);
    const axis = (getInt(node, 'axis', -1) + r) % r;
    const axes = range(axis, r);
    const dy = ctx.gradOutput(0)!;
    const { xhat, rstd } = normalized(b, x, axes, getFloat(node, 'epsilon', 1e-5));
    const dx = needsGrad(0) ? inputGrad(b, b.mul(dy, ctx.input(1)), xhat, rstd, axes) : null;
    // broadcast-shaped: vjp.ts reduces them to the scale and bias shapes
    const dScale = needsGrad(1) ? b.mul(dy, xhat) : null;
    const dBias = node.inputs[2] && needsGrad(2) ? dy : null;
    return [dx, dScale, dBias];
  },
  // opset 21: scale and bias per channel; opsets 18-20: per group
  GroupNormalization: (ctx) => {
    const { b, node, needsGrad } = ctx;
    const x = ctx.input(0);
    const xs = ctx.shape(x);
    const r = xs.length;
    const groups = getInt(node, 'num_groups', 1);
    const eps = getFloat(node, 'epsilon', 1e-5);
    const dy = ctx.gradOutput(0)!;
    const c = xs[1] as number;
    const perChannel = b.graph.opset >= 21;
    const xg = b.reshape(x, [0, groups, -1]);
    const { xhat: xhatG, rstd } = normalized(b, xg, [2], eps);
    const xhat = b.reshape(xhatG, b.shapeOf(x));
    const expandParam = (p: string) =>
      perChannel ? b.unsqueeze(p, range(1, r - 1)) : b.reshape(b.expand(b.unsqueeze(p, [1]), b.ints([groups, c / groups])), [c, ...new Array(r - 2).fill(1)]);
    const g = b.reshape(b.mul(dy, expandParam(ctx.input(1))), [0, groups, -1]);
    const dx = needsGrad(0) ? b.reshape(inputGrad(b, g, xhatG, rstd, [2]), b.shapeOf(x)) : null;
    const perParam = (t: string) => {
      const perC = b.reduceSum(t, [0, ...range(2, r)], false);
      return perChannel ? perC : b.reduceSum(b.reshape(perC, [groups, c / groups]), [1], false);
    };
    const dScale = needsGrad(1) ? perParam(b.mul(dy, xhat)) : null;
    const dBias = needsGrad(2) ? perParam(dy) : null;
    return [dx, dScale, dBias];
  },
};
