/**
 * Normalization ops (ONNX BatchNormalization, InstanceNormalization, GroupNormalization,
 * LayerNormalization specs). Output 0 is shaped like X. LayerNormalization's optional Mean and
 * InvStdDev outputs keep the leading axes before `axis` and are 1 over the normalised ones.
 */
import { getInt } from '../ir';
import { DType } from '../tensor';
import { likeInput, normAxis, sameRule } from './common';
import { ShapeRuleFamily } from './rule';

export const normalizationRules: ShapeRuleFamily = {
  // every output (BatchNormalization's optional running stats too) takes X's shape and dtype
  ...sameRule(['InstanceNormalization', 'GroupNormalization', 'BatchNormalization'], likeInput()),
  LayerNormalization: ({ node, req, rank }) => {
    const x = req(0);
    const axis = normAxis(node, getInt(node, 'axis', -1), rank(0));
    const stat = x.shape ? x.shape.map((d, i) => (i < axis ? d : 1)) : null;
    return [{ dtype: x.dtype, shape: x.shape }, { dtype: DType.FLOAT, shape: stat }, { dtype: DType.FLOAT, shape: stat }].slice(0, node.outputs.length);
  },
};
