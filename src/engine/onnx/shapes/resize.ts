/**
 * Resize and Upsample (ONNX Resize-13+ spec): `sizes` (input 3) wins when known; otherwise each
 * axis is floor(dim * scale) from constant `scales` (input 2). Without either, N and C are kept
 * and the spatial dims become fresh symbols. Upsample (opset 7-9) shares the rule: its scales
 * are input 1, which is not read, so its spatial dims come out fresh.
 */
import { freshDim, isStatic } from '../dims';
import { sameRule } from './common';
import { ShapeRule, ShapeRuleFamily } from './rule';

const resize: ShapeRule = ({ node, req, constFloats }) => {
  const x = req(0);
  if (!x.shape) return [{ dtype: x.dtype, shape: null }];
  const sizes = node.inputs[3] ? req(3).value : undefined;
  if (sizes && sizes.length) return [{ dtype: x.dtype, shape: [...sizes] }];
  const scales = constFloats(2);
  if (!scales) return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i < 2 ? d : freshDim())) }];
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (scales[i] === 1 ? d : isStatic(d) ? Math.floor(d * scales[i]) : freshDim())) }];
};

export const resizeRules: ShapeRuleFamily = sameRule(['Resize', 'Upsample'], resize);
