/**
 * Elementwise ops. Gradients are returned at the broadcast (output) shape; vjp.ts reduces them.
 */
import { getFloat } from '../../onnx/ir';
import { DType } from '../../onnx/tensor';
import { GradContext, RuleFamily } from '../rule';

const same = (ctx: GradContext) => [ctx.gradOutput(0)];

/**
 * If this Mul is x * Sigmoid(x) and the sigmoid feeds nothing else, the index of x; else null.
 */
function siluOperand(ctx: GradContext): number | null {
  for (const k of [0, 1]) {
    const s = ctx.input(1 - k);
    const p = ctx.producer(s);
    if (p?.opType === 'Sigmoid' && p.inputs[0] === ctx.input(k) && ctx.readers(s) === 1) return k;
  }
  return null;
}

export const elementwiseRules: RuleFamily = {
  Identity: same,
  Dropout: same, // inference mode: identity
  Add: (ctx) => [ctx.gradOutput(0), ctx.gradOutput(0)],
  Sum: (ctx) => ctx.node.inputs.map(() => ctx.gradOutput(0)),
  Sub: ({ b, gradOutput, needsGrad }) => [gradOutput(0), needsGrad(1) ? b.neg(gradOutput(0)!) : null],
  Mul: (ctx) => {
    const { b, input, gradOutput, needsGrad } = ctx;
    const dy = gradOutput(0)!;
    const silu = siluOperand(ctx);
    if (silu !== null) {
      // y = x sigmoid(x) (SiLU): dx = dy * s * (1 + x (1 - s)), with s recomputed here so the
      // forward sigmoid stays private to the Mul and onnxruntime can fuse the pair.
      const x = input(silu);
      const s = b.sigmoid(x);
      const dx = b.mul(dy, b.mul(s, b.add(b.scalar(1), b.mul(x, b.sub(b.scalar(1), s)))));
      return silu === 0 ? [dx, null] : [null, dx];
    }
    return [needsGrad(0) ? b.mul(dy, input(1)) : null, needsGrad(1) ? b.mul(dy, input(0)) : null];
  },
  // y = a / b: da = dy / b, db = -dy * y / b
  Div: ({ b, input, output, gradOutput, needsGrad }) => {
    const dy = gradOutput(0)!;
    const da = needsGrad(0) || needsGrad(1) ? b.div(dy, input(1)) : null;
    return [da, needsGrad(1) ? b.neg(b.mul(da!, output(0))) : null];
  },
  Neg: ({ b, gradOutput }) => [b.neg(gradOutput(0)!)],
  Exp: ({ b, output, gradOutput }) => [b.mul(gradOutput(0)!, output(0))],
  Log: ({ b, input, gradOutput }) => [b.div(gradOutput(0)!, input(0))],
  // d sqrt(x) = dy * 0.5 / y
  Sqrt: ({ b, output, gradOutput }) => [b.div(b.scale(gradOutput(0)!, 0.5), output(0))],
  // y = 1/x: dx = -dy * y^2
  Reciprocal: ({ b, output, gradOutput }) => [b.neg(b.mul(gradOutput(0)!, b.mul(output(0), output(0))))],
  // y = a^e: da = dy * e * a^(e-1); de = dy * y * ln(a)
  Pow: ({ b, input, output, gradOutput, needsGrad }) => {
    const dy = gradOutput(0)!;
    const [a, e] = [input(0), input(1)];
    const ea = needsGrad(0) ? b.mul(b.mul(dy, e), b.pow(a, b.sub(e, b.cast(b.scalar(1), b.dtype(e))))) : null;
    const ee = needsGrad(1) ? b.mul(b.mul(dy, output(0)), b.log(a)) : null;
    return [ea, ee];
  },
  Abs: ({ b, input, gradOutput }) => [b.mul(gradOutput(0)!, b.op('Sign', [input(0)]))],
  // sigmoid' = y (1 - y)
  Sigmoid: ({ b, output, gradOutput }) => {
    const y = output(0);
    return [b.mul(gradOutput(0)!, b.mul(y, b.sub(b.scalar(1), y)))];
  },
  // tanh' = 1 - y^2
  Tanh: ({ b, output, gradOutput }) => {
    const y = output(0);
    return [b.mul(gradOutput(0)!, b.sub(b.scalar(1), b.mul(y, y)))];
  },
  Relu: ({ b, input, gradOutput }) => {
    const dy = gradOutput(0)!;
    return [b.where(b.op('Greater', [input(0), b.scalar(0)]), dy, b.scalar(0))];
  },
  LeakyRelu: ({ b, node, input, gradOutput }) => {
    const alpha = getFloat(node, 'alpha', 0.01);
    const dy = gradOutput(0)!;
    return [b.where(b.op('Greater', [input(0), b.scalar(0)]), dy, b.scale(dy, alpha))];
  },
  // softplus' = sigmoid
  Softplus: ({ b, input, gradOutput }) => [b.mul(gradOutput(0)!, b.sigmoid(input(0)))],
  Sin: ({ b, input, gradOutput }) => [b.mul(gradOutput(0)!, b.cos(input(0)))],
  Cos: ({ b, input, gradOutput }) => [b.neg(b.mul(gradOutput(0)!, b.sin(input(0))))],
  // erf'(x) = 2/sqrt(pi) exp(-x^2)
  Erf: ({ b, input, gradOutput }) => {
    const x = input(0);
    return [b.mul(gradOutput(0)!, b.scale(b.exp(b.neg(b.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  Cast: ({ b, input, gradOutput }) => {
    const dy = gradOutput(0)!;
    return [b.dtype(dy) === b.dtype(input(0)) ? dy : b.cast(dy, b.dtype(input(0)))];
  },
  // Where(c, a, b): gradient goes to the chosen branch
  Where: ({ b, input, gradOutput, needsGrad }) => {
    const dy = gradOutput(0)!;
    const zero = b.cast(b.scalar(0), b.dtype(dy) === DType.FLOAT ? DType.FLOAT : b.dtype(dy));
    return [null, needsGrad(1) ? b.where(input(0), dy, zero) : null, needsGrad(2) ? b.where(input(0), zero, dy) : null];
  },
  // Clip(x, min, max): passes where min <= x <= max (min/max are constants in practice)
  Clip: ({ b, input, output, gradOutput }) => {
    const pass = b.op('Equal', [input(0), output(0)]);
    return [b.where(pass, gradOutput(0)!, b.scalar(0))];
  },
  // Max/Min of two: the gradient goes to the selected input (ties to the first)
  Max: ({ b, input, output, gradOutput, needsGrad }) => {
    const dy = gradOutput(0)!;
    const first = b.op('Equal', [input(0), output(0)]);
    return [needsGrad(0) ? b.where(first, dy, b.scalar(0)) : null, needsGrad(1) ? b.where(first, b.scalar(0), dy) : null];
  },
  Min: ({ b, input, output, gradOutput, needsGrad }) => {
    const dy = gradOutput(0)!;
    const first = b.op('Equal', [input(0), output(0)]);
    return [needsGrad(0) ? b.where(first, dy, b.scalar(0)) : null, needsGrad(1) ? b.where(first, b.scalar(0), dy) : null];
  },
};
