/**
 * The floor of one EGSDE step at 256 px: onnxruntime's score forward + DSE forward + DSE
 * forward-and-gradient, each its own session with the engine's session options, against the fused
 * step graph from the cache, at one batch size, in interleaved rounds. Prints one JSON line. Used by paper-size.bench.ts.
 *   ts-node floor-probe.ts PACK_DIR STEP_ONNX BATCH REPEATS
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel, buildGradientGraph, cotangentName, GraphSession, NUM_COEFS, stepCoefficients, createSchedule, Rng } from '../../src/engine/toolkit';
import type { HostTensor } from '../../src/engine/toolkit';

const [packDir, stepOnnx, batchArg, repeatsArg] = process.argv.slice(2);
/** the engine's session options for models this big (engine-core.ts) */
const OPTIONS = { optimization: 'extended', memoryPattern: false } as const;

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
  const step = await GraphSession.open(stepOnnx, OPTIONS);
  const score = await GraphSession.open(path.join(packDir, 'score.onnx'), OPTIONS);
  const dse = await GraphSession.open(path.join(packDir, 'dse.onnx'), OPTIONS);
  const dseGraph = decodeModel(fs.readFileSync(path.join(packDir, 'dse.onnx')), 'dse.onnx');
  const grad = await GraphSession.create(buildGradientGraph(dseGraph, { wrt: ['x'] }).graph, OPTIONS);
  const fdims = [n, 512, 8, 8];
  const cot = { [cotangentName('features')]: { data: rng.normals(fdims.reduce((a, b) => a * b, 1)), dims: fdims } };
  const parts: Record<string, () => Promise<unknown>> = {
    step: () => step.run(feeds),
    score: () => score.run({ x: feeds.y, t }),
    dse: () => dse.run({ x: feeds.x0, t }),
    dseGrad: () => grad.run({ x: feeds.y, t, ...cot }),
  };
  // interleaved rounds (one of each per round, after a warm-up round), so that a change in the
  // machine's load hits the step and its floor alike; medians per part
  const times: Record<string, number[]> = { step: [], score: [], dse: [], dseGrad: [] };
  for (let r = 0; r <= repeats; r++) {
    for (const [k, fn] of Object.entries(parts)) {
      const t0 = performance.now();
      await fn();
      if (r > 0) times[k].push(performance.now() - t0);
    }
  }
  const out: Record<string, number> = {};
  for (const [k, ts] of Object.entries(times)) out[k] = ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
  for (const sess of [step, score, dse, grad]) await sess.release();
  console.log(JSON.stringify(out));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
