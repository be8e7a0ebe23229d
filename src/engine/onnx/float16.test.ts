/**
 * Half precision: the float16 conversion rounds like IEEE; a step graph with fp16 networks runs
 * (onnxruntime's CPU provider has the kernels, slowly) and its whole trajectory stays near
 * float32's, and so does the emulated form; the update and the outputs stay float32.
 */
import { float16Bits, float16Value } from './float16';
import { DType } from './tensor';
import { GraphSession } from '../runtime/session';
import { StepExecutor } from '../runtime/step-executor';
import { buildStepGraph, isNetworkNode, Precision } from '../sampling/step-graph';
import { goldenModel, relL2, trajectoryCase, trajectorySamples } from '../testing/goldens';
import { RecordedNoise } from '../sampling/noise';
import { createRun, sample } from '../sampling/sample';
import { createSchedule } from '../sampling/schedule';

test('float16 bits: exact values, rounding to nearest even, overflow, subnormals, NaN', () => {
  expect(float16Bits(1)).toBe(0x3c00);
  expect(float16Bits(-2)).toBe(0xc000);
  expect(float16Bits(65504)).toBe(0x7bff);
  expect(float16Bits(65520)).toBe(0x7c00); // rounds up to infinity
  expect(float16Bits(2 ** -24)).toBe(0x0001);
  expect(float16Bits(2 ** -26)).toBe(0x0000);
  expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway: to even
  expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  expect(Number.isNaN(float16Value(float16Bits(NaN)))).toBe(true);
  for (let i = 0; i < 2000; i++) {
    const v = (Math.sin(i * 12.9898) * 43758.5453) % 100;
    const r = float16Value(float16Bits(v));
    expect(Math.abs(r - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
  }
});

const c = trajectoryCase('egsde_adm');
const graph = (precision: Precision) =>
  buildStepGraph({ sampler: 'egsde', score: { ...goldenModel(c.model), kind: c.scoreKind }, dse: goldenModel(c.dse), imageSize: c.imageSize, downN: c.downN, s1: c.s1, s2: c.s2, precision });

async function trajectory(precision: Precision): Promise<Float32Array> {
  const executor = new StepExecutor(await GraphSession.create(graph(precision)), true);
  const s = trajectorySamples(c)[0];
  const run = createRun({ source: s.x0, shape: [c.channels, c.imageSize, c.imageSize], schedule: createSchedule(c.schedule), plan: { M: c.M, steps: c.M, repeats: 1 }, weights: { lambdaS: c.lambdaS, lambdaI: c.lambdaI }, noise: new RecordedNoise(s.e, s.z) });
  try {
    await sample(executor, [run]);
  } finally {
    await executor.release();
  }
  return run.output();
}

test('fp16 networks: weights stored as float16, the update and the outputs in float32', () => {
  const g = graph('fp16');
  const halfInits = [...g.initializers.values()].filter((t) => t.dtype === DType.FLOAT16);
  expect(halfInits.length).toBeGreaterThan(50);
  // the low-pass operator belongs to the update and stays float32
  expect(g.initializers.get('lowpass/P')!.dtype).toBe(DType.FLOAT);
  for (const o of g.outputs) expect(o.dtype).toBe(DType.FLOAT);
  // every network node is still there, and only casts were added
  const fp32 = graph('fp32');
  expect(g.nodes.filter(isNetworkNode).length).toBe(fp32.nodes.filter(isNetworkNode).length);
  expect(g.nodes.filter((n) => n.opType !== 'Cast').length).toBe(fp32.nodes.filter((n) => n.opType !== 'Cast').length);
});

// three whole trajectories, each through its own engine: the suite took 38 s on the loaded CI
// host, over the unit project's 30 s, so this test gets the slow project's budget
test('a whole fp16 trajectory stays within 1e-2 of float32 (and differs from it)', async () => {
  const ref = await trajectory('fp32');
  const half = await trajectory('fp16');
  const emulated = await trajectory('fp16-emulated');
  const eHalf = relL2(half, ref);
  const eEmulated = relL2(emulated, ref);
  console.log(`fp16 trajectory rel L2 vs fp32 after ${c.M} steps: ${eHalf.toExponential(2)} (fp16 kernels), ${eEmulated.toExponential(2)} (emulated)`);
  for (const e of [eHalf, eEmulated]) {
    expect(e).toBeGreaterThan(1e-9);
    expect(e).toBeLessThan(1e-2);
  }
}, 300_000);
