/**
 * One engine in a process of its own (for a clean peak RSS), as a worker runs it: EngineCore on a
 * models folder and a step-graph cache, `runs` runs of `steps` steps each, all submitted at once
 * or one after another. Prints one JSON line. Used by paper-size.bench.ts.
 *   ts-node engine-probe.ts MODELS CACHE RUNS STEPS concurrent|sequential measured|max [THREADS]
 */
import * as fs from 'fs';
import { EngineCore } from '../../src/engine/toolkit';

const [models, cache, runsArg, stepsArg, mode, batching, threads] = process.argv.slice(2);
const kb = (k: string) => Number(fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${k}:\\s+(\\d+)`))![1]) * 1024;

async function main() {
  const t0 = performance.now();
  let graphReadyMs = 0;
  let cached = false;
  const core = await EngineCore.create({ modelsDir: models, stepGraphCacheDir: cache, maxBatch: 8, batching: batching as 'measured' | 'max', intraOpThreads: threads ? Number(threads) : undefined }, (_level, msg, fields) => {
    if (msg.startsWith('step graph ready')) {
      graphReadyMs = performance.now() - t0;
      cached = Boolean(fields?.cached);
    }
  });
  const pack = core.packs()[0];
  const S = pack.imageSize;
  const n = Number(runsArg);
  const steps = Number(stepsArg);
  const image = new Float32Array(3 * S * S).map((_, i) => Math.sin(i / 97));
  let firstStepAt = 0;
  const stepTimes: number[] = [];
  let last = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      core.start({ pack: pack.name, image: image.slice(), params: { sampler: 'egsde', steps, M: 500, seed: i, previewEvery: 0 } }, (e) => {
        if (e.type === 'step') {
          const now = performance.now();
          if (!firstStepAt) firstStepAt = now;
          // the first step of all starts once the step graph is ready (it is built or loaded on demand)
          if (i === 0 || mode === 'sequential') stepTimes.push(now - (stepTimes.length === 0 ? t0 + graphReadyMs : last));
          last = now;
        } else if (e.type === 'result') resolve();
        else reject(new Error(`${e.type}: ${'message' in e ? e.message : ''}`));
      });
    });
  const tRuns = performance.now();
  last = tRuns;
  if (mode === 'sequential') for (let i = 0; i < n; i++) await one(i);
  else await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  const wallMs = performance.now() - tRuns;
  const status = core.status();
  await core.close();
  console.log(JSON.stringify({ graphReadyMs, cached, firstStepMs: firstStepAt - t0, wallMs, stepTimes, peakRss: kb('VmHWM'), batchSizes: status.lastBatchSizes }));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
