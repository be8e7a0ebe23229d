/**
 * The floor of one EGSDE step at 256 px: onnxruntime's score forward + DSE forward + DSE
 * forward-and-gradient, each its own session with the engine's session options, against the fused
 * step graph from the cache, at one batch size. Prints one JSON line. Used by paper-size.bench.ts.
 *   ts-node floor-probe.ts PACK_DIR STEP_ONNX BATCH REPEATS
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel, buildGradientGraph, cotangentName, GraphSession, NUM_COEFS, stepCoefficients, createSchedule, Rng } from '../../src/engine/toolkit';
import type { HostTensor } from '../../src/engine/toolkit';

const [packDir, stepOnnx, batchArg, repeatsArg] = process.argv.slice(2);

async function median(fn: () => Promise<unknown>, repeats: number): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)];
}

async function main() {
  const n = Number(batchArg);
  const repeats = Number(repeatsArg);
  const S = 256;
  const rng = new Rng(n);
  const img = (): HostTensor => ({ data: rng.normals(n * 3 * S * S), dims: [n, 3, S, S] });
  const t: HostTensor = { data: Float32Array.from({ length: n }, (_, i) => 300 + i), dims: [n] };
  const coef = new Float32Array(n * NUM_COEFS);
  const schedule = createSchedule();
  for (let i = 0; i < n; i++) stepCoefficients(schedule, 300 + i, { lambdaS: 500, lambdaI: 2 }, coef.subarray(i * NUM_COEFS, (i + 1) * NUM_COEFS));
  const feeds = { y: img(), x0: img(), e: img(), z: img(), coef: { data: coef, dims: [n, NUM_COEFS] } };
  const out: Record<string, number> = {};
  const step = await GraphSession.open(stepOnnx);
  out.step = await median(() => step.run(feeds), repeats);
  await step.release();
  const score = await GraphSession.open(path.join(packDir, 'score.onnx'));
  out.score = await median(() => score.run({ x: feeds.y, t }), repeats);
  await score.release();
  const dse = await GraphSession.open(path.join(packDir, 'dse.onnx'));
  out.dse = await median(() => dse.run({ x: feeds.x0, t }), repeats);
  await dse.release();
  const dseGraph = decodeModel(fs.readFileSync(path.join(packDir, 'dse.onnx')), 'dse.onnx');
  const grad = await GraphSession.create(buildGradientGraph(dseGraph, { wrt: ['x'] }).graph);
  const fdims = [n, 512, 8, 8];
  const cot = { [cotangentName('features')]: { data: rng.normals(fdims.reduce((a, b) => a * b, 1)), dims: fdims } };
  out.dseGrad = await median(() => grad.run({ x: feeds.y, t, ...cot }), repeats);
  await grad.release();
  console.log(JSON.stringify(out));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
