/**
 * The gradient of the official realism energy through the official DSE network matches PyTorch
 * autograd (goldens dse_grad_cosine, dse_grad_neg_l2).
 */
import * as fs from 'fs';
import * as path from 'path';
import { GraphBuilder } from '../onnx/builder';
import { decodeModel } from '../onnx/model-io';
import { inlineGraph } from '../onnx/compose';
import { DType } from '../onnx/tensor';
import { GraphSession } from '../runtime/session';
import { RealismEnergyKind, realismEnergy } from '../sampling/realism-energy';
import { goldenCase, goldenDir, loadGolden, relL2 } from '../testing/goldens';
import { buildGradientGraph, cotangentName, gradientName } from './vjp';

const dse = decodeModel(fs.readFileSync(path.join(goldenDir(), 'dse.onnx')), 'dse.onnx');

function energyGraph(kind: RealismEnergyKind) {
  const b = new GraphBuilder({ name: `dse_energy_${kind}`, opset: dse.opset });
  const y = b.input('y', DType.FLOAT, ['batch', 3, 64, 64]);
  const xt = b.input('xt', DType.FLOAT, ['batch', 3, 64, 64]);
  const t = b.input('t', DType.FLOAT, ['batch']);
  const fy = inlineGraph(b, dse, { x: y, t }, { prefix: 'dse_y', weightsPrefix: 'dse' }).features;
  const fx = inlineGraph(b, dse, { x: xt, t }, { prefix: 'dse_xt', weightsPrefix: 'dse' }).features;
  b.output(fy, 'features_y');
  b.output(realismEnergy(b, fy, fx, kind), 'energy');
  return b.graph;
}

describe.each([
  ['dse_grad_cosine', 'cosine'],
  ['dse_grad_neg_l2', 'neg_l2'],
] as const)('%s', (caseName, kind) => {
  test('energy and gradient match PyTorch autograd (rel L2 <= 1e-4)', async () => {
    const c = goldenCase(caseName);
    const [y, xt, t] = [loadGolden(c.y as string), loadGolden(c.xt as string), loadGolden(c.t as string)];
    const { graph } = buildGradientGraph(energyGraph(kind), { outputs: ['energy'], wrt: ['y'] });
    const s = await GraphSession.create(graph);
    const n = y.shape[0];
    const out = await s.run({
      y: { data: y.data, dims: y.shape },
      xt: { data: xt.data, dims: xt.shape },
      t: { data: t.data, dims: t.shape },
      [cotangentName('energy')]: { data: new Float32Array(n).fill(1), dims: [n] },
    });
    await s.release();
    const errs = {
      features: relL2(out.features_y.data as Float32Array, loadGolden(c.features_y as string).data),
      energy: relL2(out.energy.data as Float32Array, loadGolden(c.energy as string).data),
      grad: relL2(out[gradientName('y')].data as Float32Array, loadGolden(c.grad as string).data),
    };
    console.log(`${caseName}: ${JSON.stringify(Object.fromEntries(Object.entries(errs).map(([k, v]) => [k, v.toExponential(2)])))}`);
    expect(errs.features).toBeLessThanOrEqual(1e-4);
    expect(errs.energy).toBeLessThanOrEqual(1e-4);
    expect(errs.grad).toBeLessThanOrEqual(1e-4);
  });
});
