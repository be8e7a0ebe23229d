/**
 * Forward vs forward+gradient (with respect to the input) for the golden torch exports, measured
 * in one run: median wall time of onnxruntime-node CPU session runs.
 * Goal: forward+gradient <= 3x forward.
 *   npm run bench:autodiff
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../src/engine/toolkit';
import { buildGradientGraph, cotangentName } from '../src/engine/toolkit';
import { GraphSession, HostTensor } from '../src/engine/toolkit';
import { Rng } from '../src/engine/toolkit';

const FIXTURES = path.join(__dirname, '..', 'test', 'fixtures', 'egsde-tiny');
const REPEATS = Number(process.env.BENCH_REPEATS ?? 15);

async function median(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function main() {
  const rows: string[][] = [];
  for (const model of ['dse.onnx', 'score_adm.onnx']) {
    const g = decodeModel(fs.readFileSync(path.join(FIXTURES, model)), model);
    const out = g.outputs[0].name;
    const fwd = await GraphSession.create(g);
    const { graph } = buildGradientGraph(g, { wrt: ['x'] });
    const both = await GraphSession.create(graph);
    for (const batch of [1, 2, 8]) {
      const rng = new Rng(batch);
      const feeds: Record<string, HostTensor> = {
        x: { data: rng.normals(batch * 3 * 64 * 64), dims: [batch, 3, 64, 64] },
        t: { data: Float32Array.from({ length: batch }, (_, i) => (i * 97) % 1000), dims: [batch] },
      };
      const y = await fwd.run(feeds);
      const cot = { [cotangentName(out)]: { data: rng.normals(y[out].data.length), dims: y[out].dims } };
      const tf = await median(() => fwd.run(feeds));
      const tb = await median(() => both.run({ ...feeds, ...cot }));
      rows.push([model, String(batch), tf.toFixed(1), tb.toFixed(1), (tb / tf).toFixed(2)]);
    }
    await fwd.release();
    await both.release();
  }
  const header = ['model', 'batch', 'forward ms', 'forward+grad ms', 'ratio (goal <= 3)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
