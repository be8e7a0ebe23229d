/**
 * Reductions: ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSumExp and ArgMax/ArgMin (ONNX
 * specs; ReduceSum-13 and the others from opset 18 take axes as an input, earlier forms as an
 * attribute). No axes reduces all, unless noop_with_empty_axes; keepdims (default 1) keeps
 * reduced axes as 1. Arg* reduce one `axis` and return INT64.
 */
import { getInt, getInts } from '../ir';
import { DType } from '../tensor';
import { Dim, freshDim } from '../dims';
import { normAxis, sameRule } from './common';
import { ShapeRule, ShapeRuleFamily } from './rule';

const REDUCE = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL2', 'ReduceL1', 'ReduceLogSumExp'];

const reduce: ShapeRule = ({ node, req, constInts }) => {
  const op = node.opType;
  const isArg = op === 'ArgMax' || op === 'ArgMin';
  const x = req(0);
  if (!x.shape) return [{ dtype: x.dtype, shape: null }];
  const r = x.shape.length;
  const keep = getInt(node, 'keepdims', 1);
  let axes: number[] | undefined;
  if (isArg) axes = [getInt(node, 'axis', 0)];
  else if (node.inputs[1]) {
    axes = constInts(1);
    if (!axes) return [{ dtype: x.dtype, shape: keep ? x.shape.map(() => freshDim()) : null }];
  } else axes = getInts(node, 'axes');
  if (!axes || axes.length === 0) {
    axes = getInt(node, 'noop_with_empty_axes', 0) && !isArg ? [] : x.shape.map((_, i) => i);
  }
  const ax = axes.map((a) => normAxis(node, a, r));
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!ax.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: isArg ? DType.INT64 : x.dtype, shape }];
};

export const reduceRules: ShapeRuleFamily = sameRule([...REDUCE, 'ArgMax', 'ArgMin'], reduce);
