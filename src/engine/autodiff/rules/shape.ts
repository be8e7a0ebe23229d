/**
 * Data-movement ops: Reshape family, Transpose, Concat, Split, Slice, Pad, Expand, Resize.
 */
import { EngineError } from '../../errors';
import { Node, getInt, getInts, getString } from '../../onnx/ir';
import { isStatic } from '../../onnx/dims';
import { sliceRange } from '../../onnx/shape-inference';
import { GradContext, RuleFamily } from '../rule';
import { resizeMatrix } from '../../onnx/resize-weights';

const INT64_MAX = 2 ** 62; // encoded as int64; any value >= the dim means "to the end"

function unsupported(node: Node, why: string): never {
  throw new EngineError('engine/unsupported_op', `${node.opType} node ${node.name}: ${why}`, { op: node.opType, node: node.name });
}

function constInput(ctx: GradContext, i: number): number[] | undefined {
  const name = ctx.node.inputs[i];
  if (!name) return undefined;
  const v = ctx.b.factsOf(name).value;
  if (!v || !v.every(isStatic)) unsupported(ctx.node, `input ${i} must be constant`);
  return v as number[];
}

const reshapeBack = (ctx: GradContext) => [ctx.b.reshape(ctx.gradOutput(0)!, ctx.b.shapeOf(ctx.input(0)))];

export const shapeRules: RuleFamily = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (ctx) => {
    const r = ctx.rank(ctx.input(0));
    const perm = getInts(ctx.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    const inv = new Array<number>(r);
    perm.forEach((p, i) => (inv[p] = i));
    return [ctx.b.transpose(ctx.gradOutput(0)!, inv)];
  },
  // broadcast-shaped gradient; vjp.ts reduces it
  Expand: (ctx) => [ctx.gradOutput(0)],
  Concat: (ctx) => {
    const { b, node } = ctx;
    const r = ctx.rank(node.inputs[0]);
    const axis = (getInt(node, 'axis', 0) + r) % r;
    const sizes = node.inputs.map((n) => ctx.shape(n)[axis]);
    if (!sizes.every(isStatic)) unsupported(node, 'concatenation along a dynamic axis');
    const parts = b.split(ctx.gradOutput(0)!, sizes as number[], axis);
    return parts.map((p, i) => (ctx.needsGrad(i) ? p : null));
  },
  Split: (ctx) => {
    const { b, node } = ctx;
    const r = ctx.rank(ctx.input(0));
    const axis = (getInt(node, 'axis', 0) + r) % r;
    const parts = node.outputs.map((_, i) => ctx.gradOutputOrZeros(i));
    return [b.concat(parts, axis)];
  },
  // step 1: the gradient is dY padded back with zeros
  Slice: (ctx) => {
    const { b, node } = ctx;
    const x = ctx.input(0);
    const xs = ctx.shape(x);
    const r = xs.length;
    const starts = constInput(ctx, 1)!;
    const ends = constInput(ctx, 2)!;
    const axes = (constInput(ctx, 3) ?? starts.map((_, i) => i)).map((a) => (a + r) % r);
    const steps = constInput(ctx, 4) ?? starts.map(() => 1);
    const pads = new Array<number>(2 * r).fill(0);
    axes.forEach((a, k) => {
      const d = xs[a];
      if (steps[k] !== 1) unsupported(node, `step ${steps[k]} has no gradient rule`);
      if (!isStatic(d)) {
        if (starts[k] === 0 && ends[k] >= 2 ** 31 - 1) return;
        unsupported(node, `slicing dynamic axis ${a}`);
      }
      const rg = sliceRange(starts[k], ends[k], 1, d);
      pads[a] = rg.start;
      pads[a + r] = d - rg.start - rg.len;
    });
    return [b.pad(ctx.gradOutput(0)!, pads)];
  },
  // constant mode: the gradient is dY with the padding cut off (and negative pads restored)
  Pad: (ctx) => {
    const { b, node } = ctx;
    const mode = getString(node, 'mode', 'constant');
    if (mode !== 'constant') unsupported(node, `mode ${mode} has no gradient rule`);
    const r = ctx.rank(ctx.input(0));
    const padsIn = constInput(ctx, 1)!;
    const axes = (constInput(ctx, 3) ?? Array.from({ length: r }, (_, i) => i)).map((a) => (a + r) % r);
    const n = axes.length;
    let g = ctx.gradOutput(0)!;
    const starts: number[] = [];
    const ends: number[] = [];
    const sliceAxes: number[] = [];
    const restore = new Array<number>(2 * r).fill(0);
    axes.forEach((a, k) => {
      const [pb, pe] = [padsIn[k], padsIn[k + n]];
      if (pb > 0 || pe > 0) {
        sliceAxes.push(a);
        starts.push(Math.max(pb, 0));
        ends.push(pe > 0 ? -pe : INT64_MAX);
      }
      restore[a] = Math.max(-pb, 0);
      restore[a + r] = Math.max(-pe, 0);
    });
    if (sliceAxes.length) g = b.slice(g, starts, ends, sliceAxes);
    if (restore.some((p) => p > 0)) g = b.pad(g, restore);
    return [g];
  },
  /**
   * Resize is linear in X and separable over the last two axes: Y = Rh X Rw^T with interpolation
   * matrices built on the host from the ONNX Resize coordinate rules, so dX = Rh^T dY Rw.
   */
  Resize: (ctx) => {
    const { b, node } = ctx;
    const x = ctx.input(0);
    const xs = ctx.shape(x);
    const ys = ctx.shape(ctx.output(0));
    const r = xs.length;
    for (let i = 0; i < r - 2; i++) if (xs[i] !== ys[i]) unsupported(node, 'resizing other than the last two axes');
    const inSp = xs.slice(r - 2);
    const outSp = ys.slice(r - 2);
    if (!inSp.every(isStatic) || !outSp.every(isStatic)) unsupported(node, 'spatial sizes must be static');
    if (getInt(node, 'antialias', 0) !== 0) unsupported(node, 'antialias=1 has no gradient rule');
    let g = ctx.gradOutput(0)!;
    const scalesTensor = node.inputs[2] ? b.constantTensor(node.inputs[2]) : undefined;
    const scales = scalesTensor && scalesTensor.data.length ? Array.from(scalesTensor.data as Float32Array, Number) : undefined;
    const mats = [0, 1].map((k) => resizeMatrix(node, inSp[k] as number, outSp[k] as number, scales ? scales[r - 2 + k] : undefined));
    // H axis: dX_h = Rh^T dY   ([Hi, Ho] @ [.., Ho, W])
    if (inSp[0] !== outSp[0] || !mats[0].identity) g = b.matmul(b.floats([inSp[0] as number, outSp[0] as number], mats[0].transposed()), g);
    // W axis: dX = dY Rw       ([.., H, Wo] @ [Wo, Wi])
    if (inSp[1] !== outSp[1] || !mats[1].identity) g = b.matmul(g, b.floats([outSp[1] as number, inSp[1] as number], mats[1].weights));
    return [g];
  },
};
