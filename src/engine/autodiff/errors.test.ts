/**
 * Clear errors: an op without a rule, a malformed model, tensors the output does not depend on.
 */
import { GraphBuilder } from '../onnx/builder';
import { decodeModel } from '../onnx/model-io';
import { DType } from '../onnx/tensor';
import { EngineError } from '../errors';
import { GraphSession } from '../runtime/session';
import { buildGradientGraph, cotangentName, gradientName } from './vjp';
import { supportedOps } from './registry';

function capture(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError');
}

test('an op without a rule raises engine/unsupported_op naming the op and the node', () => {
  const b = new GraphBuilder({ name: 'g' });
  const x = b.input('x', DType.FLOAT, ['batch', 4]);
  b.output(b.op('Hardmax', [b.op('HardSigmoid', [x])]), 'y');
  const e = capture(() => buildGradientGraph(b.graph, { wrt: ['x'] }));
  expect(e.code).toBe('engine/unsupported_op');
  expect(e.message).toMatch(/Hardmax/);
  expect(e.details).toMatchObject({ op: 'Hardmax' });
  expect(e.message).toContain(String(e.details.node));
});

test('a malformed model file raises engine/invalid_model', () => {
  expect(capture(() => decodeModel(Buffer.from('definitely not protobuf \xff\xff\xff'), 'bad.onnx')).code).toBe('engine/invalid_model');
  expect(capture(() => decodeModel(new Uint8Array(0), 'empty.onnx')).message).toMatch(/empty\.onnx/);
});

test('a tensor the output does not depend on gets a zero gradient; an unknown name is an error', async () => {
  const b = new GraphBuilder({ name: 'g' });
  const x = b.input('x', DType.FLOAT, ['batch', 3]);
  const unused = b.input('unused', DType.FLOAT, ['batch', 2]);
  b.output(b.mul(x, x), 'y');
  b.output(b.shapeOf(unused), 'shape_only');
  const { graph } = buildGradientGraph(b.graph, { outputs: ['y'], wrt: ['x', 'unused'] });
  const s = await GraphSession.create(graph);
  const out = await s.run({
    x: { data: Float32Array.of(1, 2, 3), dims: [1, 3] },
    unused: { data: Float32Array.of(5, 6), dims: [1, 2] },
    [cotangentName('y')]: { data: Float32Array.of(1, 1, 1), dims: [1, 3] },
  });
  await s.release();
  expect(Array.from(out[gradientName('x')].data as Float32Array)).toEqual([2, 4, 6]);
  expect(Array.from(out[gradientName('unused')].data as Float32Array)).toEqual([0, 0]);
  expect(capture(() => buildGradientGraph(b.graph, { outputs: ['y'], wrt: ['nope'] })).code).toBe('engine/invalid_graph');
});

test('integer tensors cannot be differentiated', () => {
  const b = new GraphBuilder({ name: 'g' });
  const i = b.input('i', DType.INT64, [3]);
  b.output(b.cast(i, DType.FLOAT), 'y');
  expect(capture(() => buildGradientGraph(b.graph, { wrt: ['i'] })).code).toBe('engine/not_differentiable');
});

test('the registry covers every op on the differentiable paths of the golden models and training ops', () => {
  const ops = supportedOps();
  for (const op of ['Conv', 'Add', 'Mul', 'Div', 'Sigmoid', 'InstanceNormalization', 'Reshape', 'Einsum', 'Softmax', 'AveragePool', 'Pad', 'Split', 'Slice', 'Concat', 'Gemm', 'MatMul', 'Transpose', 'Resize', 'Unsqueeze', 'Cast', 'Sub', 'Neg', 'Exp', 'Log', 'Sqrt', 'Pow', 'ReduceMean', 'ReduceSum', 'Relu', 'GroupNormalization', 'LayerNormalization', 'MaxPool']) {
    expect(ops).toContain(op);
  }
});
