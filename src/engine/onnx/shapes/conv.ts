/**
 * Conv and pooling: Conv, ConvTranspose, AveragePool, MaxPool, LpPool, GlobalAveragePool,
 * GlobalMaxPool (ONNX specs). Output sizes use the spec formulas with explicit pads only
 * (auto_pad is rejected); ceil_mode applies to pools. Non-static spatial inputs give fresh dims.
 */
import { Node, getInt, getInts, getString } from '../ir';
import { DType } from '../tensor';
import { Dim, dimMul, freshDim, isStatic } from '../dims';
import { fail, sameRule } from './common';
import { ShapeRule, ShapeRuleFamily, ValueFacts } from './rule';

/** floor-or-ceil((in + pads - dilation * (k - 1) - 1) / stride) + 1 */
function convOutDim(node: Node, inDim: Dim, k: number, stride: number, padBegin: number, padEnd: number, dilation: number, ceil = false): Dim {
  if (!isStatic(inDim)) return freshDim();
  const num = inDim + padBegin + padEnd - dilation * (k - 1) - 1;
  const out = (ceil ? Math.ceil(num / stride) : Math.floor(num / stride)) + 1;
  if (out <= 0) fail(node, `output size ${out} <= 0`);
  return out;
}

/** Shared by Conv, ConvTranspose and the windowed pools; MaxPool's optional Indices output is INT64. */
const windowed: ShapeRule = ({ node, req, shape: shapeOf }) => {
  const op = node.opType;
  const x = req(0);
  if (!x.shape) return node.outputs.map(() => ({ dtype: x.dtype, shape: null }));
  const sp = x.shape.length - 2;
  const autoPad = getString(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET') fail(node, `auto_pad=${autoPad} is not supported; export with explicit pads`);
  let kernel: number[];
  let outC: Dim;
  if (op === 'Conv' || op === 'ConvTranspose') {
    const w = shapeOf(1);
    if (!w) fail(node, 'weight rank must be known');
    kernel = getInts(node, 'kernel_shape') ?? (w.slice(2) as number[]);
    if (!kernel.every(isStatic)) fail(node, 'kernel size must be static');
    // ConvTranspose weights are [C_in, C_out / group, k...]
    outC = op === 'Conv' ? w[0] : dimMul(w[1], getInt(node, 'group', 1));
  } else {
    kernel = getInts(node, 'kernel_shape')!;
    if (!kernel) fail(node, 'kernel_shape is required');
    outC = x.shape[1];
  }
  const strides = getInts(node, 'strides') ?? kernel.map(() => 1);
  const dil = getInts(node, 'dilations') ?? kernel.map(() => 1);
  const pads = getInts(node, 'pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  const ceil = getInt(node, 'ceil_mode', 0) === 1;
  const spatial: Dim[] = [];
  for (let i = 0; i < sp; i++) {
    if (op === 'ConvTranspose') {
      // ConvTranspose spec: stride * (in - 1) + output_padding + ((k - 1) * dilation + 1) - pads, unless output_shape is given
      const outPad = getInts(node, 'output_padding')?.[i] ?? 0;
      const explicit = getInts(node, 'output_shape');
      const d = x.shape[2 + i];
      spatial.push(explicit ? explicit[i] : isStatic(d) ? strides[i] * (d - 1) + outPad + ((kernel[i] - 1) * dil[i] + 1) - pads[i] - pads[i + sp] : freshDim());
    } else spatial.push(convOutDim(node, x.shape[2 + i], kernel[i], strides[i], pads[i], pads[i + sp], dil[i], ceil));
  }
  const shape = [x.shape[0], outC, ...spatial];
  const outs: ValueFacts[] = [{ dtype: x.dtype, shape }];
  if (node.outputs.length > 1) outs.push({ dtype: DType.INT64, shape });
  return outs;
};

/** Global pools keep N and C and make every spatial dim 1. */
const globalPool: ShapeRule = ({ req }) => {
  const x = req(0);
  return [{ dtype: x.dtype, shape: x.shape ? x.shape.map((d, i) => (i < 2 ? d : 1)) : null }];
};

export const convRules: ShapeRuleFamily = {
  ...sameRule(['Conv', 'ConvTranspose', 'AveragePool', 'MaxPool', 'LpPool'], windowed),
  ...sameRule(['GlobalAveragePool', 'GlobalMaxPool'], globalPool),
};
