/**
 * The gradient of the official realism energy through the official DSE network matches PyTorch
 * autograd (goldens dse_grad_cosine, dse_grad_neg_l2).
 */
import { GraphBuilder } from '../onnx/builder';
import { inlineGraph } from '../onnx/compose';
import { DType } from '../onnx/tensor';
import { GraphSession } from '../runtime/session';
import { RealismEnergyKind, realismEnergy } from '../sampling/realism-energy';
import { goldenCase, goldenCaseNames, goldenModel, loadGolden, relL2 } from '../testing/goldens';
import { buildGradientGraph, cotangentName, gradientName } from './vjp';

const dse = goldenModel('dse.onnx');
const PREFIX = 'dse_grad_';
const FIELDS = ['y', 'xt', 't', 'features_y', 'energy', 'grad'];

/** the gradient cases in the manifest: dse_grad_<energy> with every field */
const CASES = goldenCaseNames()
  .filter((name) => name.startsWith(PREFIX) && FIELDS.every((f) => f in goldenCase(name)))
  .map((name) => [name, name.slice(PREFIX.length) as RealismEnergyKind] as const);

/** energy(dse(y, t), dse(xt, t)) for images of shape [batch, ...image] */
function energyGraph(kind: RealismEnergyKind, image: number[]) {
  const b = new GraphBuilder({ name: `dse_energy_${kind}`, opset: dse.graph.opset });
  const y = b.input('y', DType.FLOAT, ['batch', ...image]);
  const xt = b.input('xt', DType.FLOAT, ['batch', ...image]);
  const t = b.input('t', DType.FLOAT, ['batch']);
  const fy = inlineGraph(b, dse.graph, { [dse.input]: y, [dse.timestep]: t }, { prefix: 'dse_y', weightsPrefix: 'dse' })[dse.output];
  const fx = inlineGraph(b, dse.graph, { [dse.input]: xt, [dse.timestep]: t }, { prefix: 'dse_xt', weightsPrefix: 'dse' })[dse.output];
  b.output(fy, 'features_y');
  b.output(realismEnergy(b, fy, fx, kind), 'energy');
  return b.graph;
}

test('the manifest has the gradient cases, one per realism energy', () => {
  expect(CASES.map(([, kind]) => kind).sort()).toEqual(['cosine', 'neg_l2']);
});

describe.each(CASES)('%s', (caseName, kind) => {
  test('energy and gradient match PyTorch autograd (rel L2 <= 1e-4)', async () => {
    const c = goldenCase(caseName);
    const [y, xt, t] = [loadGolden(c.y as string), loadGolden(c.xt as string), loadGolden(c.t as string)];
    const { graph } = buildGradientGraph(energyGraph(kind, y.shape.slice(1)), { outputs: ['energy'], wrt: ['y'] });
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
