/**
 * Elementwise and shape-preserving ops: unary maps, activations, Softmax family, CumSum, Scatter*,
 * Trilu, Dropout (output 0 like the input), binary arithmetic and comparisons with
 * multidirectional broadcasting (https://github.com/onnx/onnx/blob/main/docs/Broadcasting.md),
 * Where, Cast, CastLike. Add/Sub/Mul/Div propagate known values (shape arithmetic).
 */
import { getInt } from '../ir';
import { DType } from '../tensor';
import { broadcastShapes, elementwiseValue, likeInput, sameRule } from './common';
import { ShapeContext, ShapeRule, ShapeRuleFamily, ValueFacts } from './rule';

const UNARY = [
  'Sigmoid', 'Relu', 'Neg', 'Exp', 'Log', 'Sqrt', 'Abs', 'Tanh', 'Sin', 'Cos', 'Erf', 'Reciprocal', 'Identity',
  'Softmax', 'LogSoftmax', 'LeakyRelu', 'Elu', 'Clip', 'Floor', 'Ceil', 'Round', 'Sign', 'Softplus', 'HardSigmoid',
  'Gelu', 'Not', 'IsNaN', 'CumSum', 'ScatterElements', 'ScatterND', 'Trilu', 'Hardmax',
];
const BINARY = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'PRelu'];
const COMPARE = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor'];

/** Variadic broadcast; with two known value vectors, Add/Sub/Mul/Div also compute the values. */
const binary: ShapeRule = ({ node, req }) => {
  const fs = node.inputs.map((_, i) => req(i));
  const out: ValueFacts = { dtype: fs[0].dtype, shape: broadcastShapes(node, fs.map((f) => f.shape)) };
  if (fs.length === 2 && fs[0].value && fs[1].value) out.value = elementwiseValue(node.opType, fs[0].value, fs[1].value);
  return [out];
};

const compare: ShapeRule = ({ node, req }) => {
  const fs = node.inputs.map((_, i) => req(i));
  return [{ dtype: DType.BOOL, shape: broadcastShapes(node, fs.map((f) => f.shape)) }];
};

/** Cast keeps integer values (shape arithmetic often passes through Cast to int64). */
function castTo(target: (ctx: ShapeContext) => DType): ShapeRule {
  return (ctx) => {
    const x = ctx.req(0);
    const to = target(ctx);
    const out: ValueFacts = { dtype: to, shape: x.shape };
    if (x.value && (to === DType.INT64 || to === DType.INT32)) out.value = x.value;
    return [out];
  };
}

export const elementwiseRules: ShapeRuleFamily = {
  ...sameRule(UNARY, likeInput()),
  // Dropout's optional second output is the boolean mask
  Dropout: likeInput(DType.BOOL),
  ...sameRule(BINARY, binary),
  ...sameRule(COMPARE, compare),
  // Where(cond, x, y): dtype of x, shape the broadcast of all three
  Where: ({ node, req }) => {
    const fs = [req(0), req(1), req(2)];
    return [{ dtype: fs[1].dtype, shape: broadcastShapes(node, fs.map((f) => f.shape)) }];
  },
  Cast: castTo(({ node }) => getInt(node, 'to', 0) as DType),
  CastLike: castTo(({ req }) => req(1).dtype),
};
