/**
 * Value sources: Constant, ConstantOfShape, Shape, Size, Range, NonZero. These start the shape
 * arithmetic that torch exports carry (Shape's start/end per the ONNX Shape-15 spec), so they
 * record element values where they are known; symbolic dims flow through as values.
 */
import { getInt } from '../ir';
import { DType } from '../tensor';
import { dimProduct, freshDim, isStatic } from '../dims';
import { SMALL, factsOfTensor, fail } from './common';
import { ShapeRuleFamily, ValueFacts } from './rule';

export const constantRules: ShapeRuleFamily = {
  Constant: ({ node }) => {
    const a = node.attrs;
    if (a.value && a.value.type === 'tensor') return [factsOfTensor(a.value.value)];
    if (a.value_float) return [{ dtype: DType.FLOAT, shape: [] }];
    if (a.value_floats && a.value_floats.type === 'floats') return [{ dtype: DType.FLOAT, shape: [a.value_floats.value.length] }];
    if (a.value_int && a.value_int.type === 'int') return [{ dtype: DType.INT64, shape: [], value: [a.value_int.value] }];
    if (a.value_ints && a.value_ints.type === 'ints') return [{ dtype: DType.INT64, shape: [a.value_ints.value.length], value: [...a.value_ints.value] }];
    fail(node, 'unsupported Constant form');
  },
  Shape: ({ node, shape }) => {
    const s = shape(0);
    if (!s) return [{ dtype: DType.INT64, shape: [freshDim()] }];
    const r = s.length;
    let start = getInt(node, 'start', 0);
    let end = getInt(node, 'end', r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = Math.max(0, Math.min(r, start));
    end = Math.max(start, Math.min(r, end));
    const v = s.slice(start, end);
    return [{ dtype: DType.INT64, shape: [v.length], value: v }];
  },
  Size: ({ shape }) => {
    const s = shape(0);
    return [{ dtype: DType.INT64, shape: [], value: s ? [dimProduct(s)] : undefined }];
  },
  // ConstantOfShape: dtype and fill value from the `value` tensor attribute (default float 0)
  ConstantOfShape: ({ node, req }) => {
    const v = req(0).value;
    const a = node.attrs.value;
    const dtype = a && a.type === 'tensor' ? a.value.dtype : DType.FLOAT;
    const out: ValueFacts = { dtype, shape: v ? [...v] : null };
    if (v && v.every(isStatic) && (dtype === DType.INT64 || dtype === DType.INT32)) {
      const n = (v as number[]).reduce((p, d) => p * d, 1);
      const fill = a && a.type === 'tensor' ? Number(a.value.data[0]) : 0;
      if (n <= SMALL) out.value = new Array(n).fill(fill);
    }
    return [out];
  },
  // Range: max(ceil((limit - start) / delta), 0) elements
  Range: ({ req, constInts }) => {
    const s = constInts(0);
    const l = constInts(1);
    const d = constInts(2);
    const n = s && l && d ? Math.max(Math.ceil((l[0] - s[0]) / d[0]), 0) : freshDim();
    return [{ dtype: req(0).dtype, shape: [n] }];
  },
  // NonZero: [rank, number of non-zeros]
  NonZero: ({ rank }) => [{ dtype: DType.INT64, shape: [rank(0), freshDim()] }],
};
