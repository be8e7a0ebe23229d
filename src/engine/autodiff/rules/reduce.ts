/**
 * Reductions and softmax (ONNX ReduceSum/ReduceMean/ReduceSumSquare/ReduceL2, Softmax, LogSoftmax).
 */
import { getInt, getInts } from '../../onnx/ir';
import { isStatic } from '../../onnx/dims';
import { EngineError } from '../../errors';
import { GradContext, RuleFamily } from '../rule';

/** The reduced axes of a Reduce* node (attribute before opset 18 for most, input after). */
function reducedAxes(ctx: GradContext): number[] {
  const { node } = ctx;
  const r = ctx.rank(ctx.input(0));
  let axes: number[] | undefined;
  if (node.inputs[1]) {
    const v = ctx.b.factsOf(node.inputs[1]).value;
    if (!v || !v.every(isStatic)) throw new EngineError('engine/unsupported_op', `${node.opType} node ${node.name}: axes must be constant`, { op: node.opType, node: node.name });
    axes = v as number[];
  } else axes = getInts(node, 'axes');
  if (!axes || axes.length === 0) {
    if (getInt(node, 'noop_with_empty_axes', 0)) return [];
    return Array.from({ length: r }, (_, i) => i);
  }
  return axes.map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b);
}

/** dY expanded back over the reduced axes to the input's shape. */
function spread(ctx: GradContext, dy: string): string {
  const { b, node } = ctx;
  const axes = reducedAxes(ctx);
  const kept = getInt(node, 'keepdims', 1) === 1 || axes.length === 0 ? dy : b.unsqueeze(dy, axes);
  return b.expand(kept, b.shapeOf(ctx.input(0)));
}

/** dY divided by the number of reduced elements (found at run time over a dynamic axis). */
function divideByCount(ctx: GradContext, dy: string): string {
  const { b } = ctx;
  const s = ctx.shape(ctx.input(0));
  const axes = reducedAxes(ctx);
  if (axes.every((a) => isStatic(s[a]))) return b.scale(dy, 1 / axes.reduce((n, a) => n * (s[a] as number), 1));
  const size = (v: string) => b.cast(b.op('Size', [v]), b.dtype(dy));
  return b.div(dy, b.div(size(ctx.input(0)), size(ctx.output(0))));
}

export const reduceRules: RuleFamily = {
  ReduceSum: (ctx) => [spread(ctx, ctx.gradOutput(0)!)],
  ReduceMean: (ctx) => [spread(ctx, divideByCount(ctx, ctx.gradOutput(0)!))],
  // d sum(x^2) = 2 x dy
  ReduceSumSquare: (ctx) => [ctx.b.mul(spread(ctx, ctx.gradOutput(0)!), ctx.b.scale(ctx.input(0), 2))],
  // d ||x|| = x / ||x|| dy
  ReduceL2: (ctx) => {
    const { b } = ctx;
    const dy = ctx.gradOutput(0)!;
    return [b.mul(spread(ctx, b.div(dy, ctx.output(0))), ctx.input(0))];
  },
  // dx = y * (dy - sum(dy * y, axis))
  Softmax: (ctx) => {
    const { b, node } = ctx;
    const y = ctx.output(0);
    const dy = ctx.gradOutput(0)!;
    const axis = getInt(node, 'axis', -1);
    const r = ctx.rank(y);
    const s = b.reduceSum(b.mul(dy, y), [(axis + r) % r], true);
    return [b.mul(y, b.sub(dy, s))];
  },
  // dx = dy - exp(y) * sum(dy, axis)
  LogSoftmax: (ctx) => {
    const { b, node } = ctx;
    const y = ctx.output(0);
    const dy = ctx.gradOutput(0)!;
    const axis = getInt(node, 'axis', -1);
    const r = ctx.rank(y);
    return [b.sub(dy, b.mul(b.exp(y), b.reduceSum(dy, [(axis + r) % r], true)))];
  },
};
