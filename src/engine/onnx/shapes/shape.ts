/**
 * Data-movement ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice,
 * Gather, Pad, Expand, Tile. Opset 13+ takes axes / split sizes as inputs (ONNX Squeeze-13,
 * Unsqueeze-13, Split-13), Pad-11+ takes pads as an input and Pad-18 an optional axes input.
 * Rank-1 value tensors (shape arithmetic) propagate their values through Gather, Concat,
 * Transpose, Slice, Reshape and (Un)Squeeze.
 */
import { getInt, getInts } from '../ir';
import { Dim, dimAdd, dimDiv, dimMul, dimProduct, freshDim, isStatic } from '../dims';
import { broadcastShapes, fail, gatherValues, normAxis, sliceRange } from './common';
import { ShapeContext, ShapeRule, ShapeRuleFamily, ValueFacts } from './rule';

/** Squeeze/Unsqueeze axes: an input from opset 13, an attribute before. */
function squeezeAxes({ node, opset, constInts }: ShapeContext): number[] | undefined {
  const axes = opset >= 13 ? (node.inputs[1] ? constInts(1) : undefined) : getInts(node, 'axes');
  if (node.inputs[1] && !axes) fail(node, 'axes must be constant');
  return axes;
}

function squeezeLike(reshape: (ctx: ShapeContext, shape: Dim[], axes: number[] | undefined) => Dim[]): ShapeRule {
  return (ctx) => {
    const x = ctx.req(0);
    const axes = squeezeAxes(ctx);
    if (!x.shape) return [{ dtype: x.dtype, shape: null, value: x.value }];
    return [{ dtype: x.dtype, shape: reshape(ctx, x.shape, axes), value: x.value }];
  };
}

export const shapeRules: ShapeRuleFamily = {
  // Gather (ONNX Gather spec): data.shape[:axis] + indices.shape + data.shape[axis+1:]
  Gather: ({ node, req, constInts }) => {
    const data = req(0);
    const idx = req(1);
    if (!data.shape || !idx.shape) return [{ dtype: data.dtype, shape: null }];
    const axis = normAxis(node, getInt(node, 'axis', 0), data.shape.length);
    const shape = [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)];
    const out: ValueFacts = { dtype: data.dtype, shape };
    const ii = constInts(1);
    if (data.value && ii && data.shape.length === 1) {
      const n = data.value.length;
      out.value = ii.map((i) => data.value![i < 0 ? i + n : i]);
    }
    return [out];
  },
  Unsqueeze: squeezeLike(({ node }, xs, axes) => {
    const r = xs.length + axes!.length;
    const ax = axes!.map((a) => normAxis(node, a, r)).sort((a, b) => a - b);
    const shape: Dim[] = [];
    let k = 0;
    for (let i = 0; i < r; i++) shape.push(ax.includes(i) ? 1 : xs[k++]);
    return shape;
  }),
  // Squeeze without axes drops every static 1
  Squeeze: squeezeLike(({ node }, xs, axes) => {
    const r = xs.length;
    const ax = axes ? axes.map((a) => normAxis(node, a, r)) : xs.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    return xs.filter((_, i) => !ax.includes(i));
  }),
  // Reshape (ONNX Reshape-14): 0 copies the input dim unless allowzero, one -1 is inferred
  Reshape: ({ node, req }) => {
    const x = req(0);
    const target = req(1).value;
    if (!target) {
      const r = req(1).shape;
      return [{ dtype: x.dtype, shape: r && isStatic(r[0]) ? Array.from({ length: r[0] }, () => freshDim()) : null }];
    }
    const allowzero = getInt(node, 'allowzero', 0);
    const shape: Dim[] = target.map((d, i) => (d === 0 && !allowzero ? (x.shape ? x.shape[i] : freshDim()) : d));
    const neg = shape.findIndex((d) => d === -1);
    if (neg >= 0) {
      if (!x.shape) shape[neg] = freshDim();
      else {
        const others = shape.filter((_, i) => i !== neg);
        shape[neg] = dimDiv(dimProduct(x.shape), dimProduct(others));
      }
    }
    return [{ dtype: x.dtype, shape, value: x.value }];
  },
  Flatten: ({ node, req }) => {
    const x = req(0);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const axis = getInt(node, 'axis', 1);
    const a = axis < 0 ? axis + x.shape.length : axis;
    return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, a)), dimProduct(x.shape.slice(a))] }];
  },
  // Transpose: default perm reverses the axes
  Transpose: ({ node, req }) => {
    const x = req(0);
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    const perm = getInts(node, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
    const out: ValueFacts = { dtype: x.dtype, shape: perm.map((p) => x.shape![p]) };
    if (x.value && x.shape.every(isStatic)) out.value = gatherValues(x.shape as number[], x.value, perm.map(() => 0), perm.map((p) => x.shape![p] as number), perm.map(() => 1), perm);
    return [out];
  },
  Concat: ({ node, req }) => {
    const fs = node.inputs.map((_, i) => req(i));
    const first = fs.find((f) => f.shape)?.shape;
    if (!first || fs.some((f) => !f.shape)) return [{ dtype: fs[0].dtype, shape: null }];
    const axis = normAxis(node, getInt(node, 'axis', 0), first.length);
    const shape = [...first];
    shape[axis] = fs.map((f) => f.shape![axis]).reduce((a, b) => dimAdd(a, b));
    const out: ValueFacts = { dtype: fs[0].dtype, shape };
    if (fs.every((f) => f.value) && first.length === 1) out.value = fs.flatMap((f) => f.value!);
    return [out];
  },
  // Split (ONNX Split-13/18): without sizes, equal chunks of ceil(dim / outputs), the last smaller
  Split: ({ node, opset, req, constInts }) => {
    const x = req(0);
    if (!x.shape) return node.outputs.map(() => ({ dtype: x.dtype, shape: null }));
    const axis = normAxis(node, getInt(node, 'axis', 0), x.shape.length);
    let sizes = opset >= 13 ? (node.inputs[1] ? constInts(1) : undefined) : getInts(node, 'split');
    const n = node.outputs.length;
    const total = x.shape[axis];
    if (!sizes) {
      if (isStatic(total)) {
        const chunk = Math.ceil(total / n);
        sizes = Array.from({ length: n }, (_, i) => Math.min(chunk, total - chunk * i));
      } else {
        const each = dimDiv(total, n);
        return node.outputs.map(() => ({ dtype: x.dtype, shape: x.shape!.map((d, i) => (i === axis ? each : d)) }));
      }
    }
    return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape!.map((d, i) => (i === axis ? s : d)) }));
  },
  // Slice (ONNX Slice-13): starts, ends, axes, steps as inputs; bounds clamped per sliceRange
  Slice: ({ node, req, constInts }) => {
    const x = req(0);
    const starts = constInts(1);
    const ends = constInts(2);
    const axesIn = node.inputs[3] ? constInts(3) : undefined;
    const stepsIn = node.inputs[4] ? constInts(4) : undefined;
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    if (!starts || !ends || (node.inputs[3] && !axesIn) || (node.inputs[4] && !stepsIn)) {
      return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim()) }];
    }
    const r = x.shape.length;
    const axes = axesIn ? axesIn.map((a) => normAxis(node, a, r)) : starts.map((_, i) => i);
    const steps = stepsIn ?? starts.map(() => 1);
    const shape = [...x.shape];
    const st = x.shape.map(() => 0);
    const sp = x.shape.map(() => 1);
    let staticAll = true;
    axes.forEach((a, k) => {
      const d = x.shape![a];
      if (!isStatic(d)) {
        // dynamic axis: a full slice keeps it, anything else is unknown
        shape[a] = starts[k] === 0 && ends[k] >= 2 ** 31 - 1 && steps[k] === 1 ? d : freshDim();
        staticAll = false;
        return;
      }
      const rg = sliceRange(starts[k], ends[k], steps[k], d);
      shape[a] = rg.len;
      st[a] = rg.start;
      sp[a] = steps[k];
    });
    const out: ValueFacts = { dtype: x.dtype, shape };
    if (x.value && staticAll && x.shape.every(isStatic)) {
      out.value = gatherValues(x.shape as number[], x.value, st, shape as number[], sp, x.shape.map((_, i) => i));
    }
    return [out];
  },
  // Pad: pads = [begin per axis..., end per axis...] over `axes` (all axes by default)
  Pad: ({ node, opset, req, constInts }) => {
    const x = req(0);
    const pads = opset >= 11 ? constInts(1) : getInts(node, 'pads');
    if (!x.shape) return [{ dtype: x.dtype, shape: null }];
    if (!pads) return [{ dtype: x.dtype, shape: x.shape.map(() => freshDim()) }];
    const r = x.shape.length;
    const axes = node.inputs[3] ? constInts(3)?.map((a) => normAxis(node, a, r)) : x.shape.map((_, i) => i);
    if (!axes) fail(node, 'axes must be constant');
    const shape = [...x.shape];
    axes.forEach((a, k) => {
      shape[a] = dimAdd(shape[a], pads[k] + pads[k + axes.length]);
    });
    return [{ dtype: x.dtype, shape }];
  },
  // Expand: broadcast of the input with the requested shape
  Expand: ({ node, req }) => {
    const x = req(0);
    const s = req(1).value;
    if (!s) return [{ dtype: x.dtype, shape: null }];
    return [{ dtype: x.dtype, shape: broadcastShapes(node, [x.shape, s]) }];
  },
  Tile: ({ req, constInts }) => {
    const x = req(0);
    const reps = constInts(1);
    if (!x.shape || !reps) return [{ dtype: x.dtype, shape: x.shape ? x.shape.map(() => freshDim()) : null }];
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => dimMul(d, reps[i])) }];
  },
};
