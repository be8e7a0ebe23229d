/**
 * The paper's size, measured in one run on this machine: the 256 px ADM score model of
 * afhq_dog_4m (93.6 M parameters) and the cat2dog DSE (53.6 M), random weights.
 *   npm run bench:paper [-- --threads 2 --steps 6 --runs 4]
 * With EGSDE_OFFICIAL=<a checkout of ML-GSAI/EGSDE> and python3-torch, the weights are the
 * official code's own random initialisation (bench/official/random_checkpoints.py, imported with
 * `egsde import`) and the official step is timed beside ours (bench/official/egsde_step.py);
 * without it the pack is built from seeded random weights and the official columns are absent.
 *
 * Every measurement runs in a fresh child process, so each peak RSS is that process's own:
 *  1. start-up: engine created until its first step lands, with an empty step-graph cache (cold)
 *     and again with the cache the cold start left (warm);
 *  2. step time and peak RSS at batch 1 and batch 4 (batching 'max', so the batch really is 4),
 *     against the official step at the same batch;
 *  3. the floor: onnxruntime's score forward + DSE forward + DSE forward-and-gradient, each its
 *     own session, against the fused step graph, same process, same options;
 *  4. batching: `--runs` runs of `--steps` steps submitted at once (batch size measured) against
 *     the same runs one after another.
 * Goals (issue 13): peak <= 0.8x the official code's; step/floor <= 1.05; step >= 1.3x faster than
 * the official; warm start-up < 2 s; concurrent runs never slower than one after another.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { buildAdmUNet, buildEncoderTrunk, importPack, RandomWeights, TASK_PRESETS, writePack } from '../src/engine/toolkit';
import { table } from './table';
import { arg } from './args';

const THREADS = arg('threads', os.cpus().length);
const STEPS = arg('steps', 6);
const RUNS = arg('runs', 4);
const OFFICIAL = process.env.EGSDE_OFFICIAL;
const PYTHON = process.env.PYTHON ?? (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const ROOT = path.join(__dirname, '..', '.cache', 'bench-paper-size');
const MODELS = path.join(ROOT, 'models');
const PACK = path.join(MODELS, 'cat2dog');
const TS_NODE = ['--require', require.resolve('ts-node/register/transpile-only')];
const GB = (b: number) => (b / 2 ** 30).toFixed(2);

interface EngineProbe {
  graphReadyMs: number;
  cached: boolean;
  firstStepMs: number;
  wallMs: number;
  stepTimes: number[];
  peakRss: number;
  batchSizes: number[];
}

interface OfficialProbe {
  stepS: number;
  peakRssBytes: number;
}

function probe<T>(script: string, args: (string | number)[]): T {
  const out = execFileSync(process.execPath, [...TS_NODE, path.join(__dirname, 'paper-size', script), ...args.map(String)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

function official(batch: number, steps: number): OfficialProbe | null {
  if (!OFFICIAL) return null;
  const out = execFileSync(PYTHON, [path.join(__dirname, 'official', 'egsde_step.py'), '--official', OFFICIAL, '--batch', String(batch), '--steps', String(steps), '--threads', String(THREADS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').pop()!) as OfficialProbe;
}

async function makePack(): Promise<string> {
  if (fs.existsSync(path.join(PACK, 'pack.json'))) return fs.readFileSync(path.join(ROOT, 'weights.txt'), 'utf8');
  fs.mkdirSync(ROOT, { recursive: true });
  let weights: string;
  if (OFFICIAL) {
    const ckpt = path.join(ROOT, 'checkpoints');
    execFileSync(PYTHON, [path.join(__dirname, 'official', 'random_checkpoints.py'), '--official', OFFICIAL, '--out', ckpt], { stdio: 'inherit' });
    await importPack({ task: 'cat2dog', scoreCheckpoint: path.join(ckpt, 'afhq_dog_4m.pt'), dseCheckpoint: path.join(ckpt, 'cat2dog_dse.pt'), outDir: PACK, force: true });
    fs.rmSync(ckpt, { recursive: true, force: true });
    weights = "the official code's random initialisation, imported with egsde import";
  } else {
    // the pack egsde import writes, from seeded random weights
    const preset = TASK_PRESETS.cat2dog;
    if (preset.score.kind !== 'adm') throw new Error('cat2dog has an ADM score model');
    const adm = preset.score.config;
    await writePack(preset, PACK, { force: true, description: 'random weights, paper-size benchmark', score: () => buildAdmUNet(adm, new RandomWeights(1)), dse: () => buildEncoderTrunk(preset.dse, new RandomWeights(2)) });
    weights = 'seeded random weights (RandomWeights), written as egsde import writes a pack';
  }
  fs.writeFileSync(path.join(ROOT, 'weights.txt'), weights);
  return weights;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** step times after the first (the first includes start-up and onnxruntime's first-run allocations) */
const steady = (p: EngineProbe) => median(p.stepTimes.slice(1));

async function main() {
  const weights = await makePack();
  console.log(`pack: ${PACK} (${weights}); ${THREADS} threads; ${os.cpus()[0].model}, ${os.cpus().length} cores`);
  const cache = path.join(ROOT, 'step-graphs');

  // 1. start-up
  fs.rmSync(cache, { recursive: true, force: true });
  const cold = probe<EngineProbe>('engine-probe.ts', [MODELS, cache, 1, 3, 'sequential', 'max', THREADS]);
  const warm = probe<EngineProbe>('engine-probe.ts', [MODELS, cache, 1, 3, 'sequential', 'max', THREADS]);
  console.log('\nStart-up: from creating the engine until the step graph session is ready, then the first step (onnxruntime allocates on its first run)');
  table(['start', 'step graph', 'start-up s', 'first step s', 'later steps s', 'goal'], [
    ['cold', cold.cached ? 'from the cache?!' : 'built', (cold.graphReadyMs / 1000).toFixed(2), (cold.stepTimes[0] / 1000).toFixed(2), (steady(cold) / 1000).toFixed(2), ''],
    ['warm', warm.cached ? 'from the cache' : 'built?!', (warm.graphReadyMs / 1000).toFixed(2), (warm.stepTimes[0] / 1000).toFixed(2), (steady(warm) / 1000).toFixed(2), `start-up < 2 s; cold / warm ${(cold.graphReadyMs / warm.graphReadyMs).toFixed(1)}x`],
  ]);

  // 2. step time and memory at batch 1 and 4
  const b4 = probe<EngineProbe>('engine-probe.ts', [MODELS, cache, 4, 3, 'concurrent', 'max', THREADS]);
  const o1 = official(1, 3);
  const o4 = official(4, 2);
  const rows: string[][] = [];
  for (const [batch, ours, off] of [[1, warm, o1], [4, b4, o4]] as const) {
    const step = steady(ours) / 1000;
    rows.push([
      String(batch),
      step.toFixed(2),
      off ? off.stepS.toFixed(2) : '-',
      off ? (off.stepS / step).toFixed(2) : '-',
      GB(ours.peakRss),
      off ? GB(off.peakRssBytes) : '-',
      off ? (ours.peakRss / off.peakRssBytes).toFixed(2) : '-',
    ]);
  }
  console.log('\nOne EGSDE step (score, DSE on xt, DSE forward and gradient on y, update) and the peak RSS of the process');
  table(['batch', 'ours s/step', 'official s/step', 'speed-up (goal >= 1.3)', 'ours peak GB', 'official peak GB', 'peak ratio (goal <= 0.8)'], rows);

  // 3. the floor
  const entry = fs.readdirSync(cache).find((n) => !n.startsWith('.') && n.includes('-fp32-'))!;
  const floor = probe<{ step: number; score: number; dse: number; dseGrad: number }>('floor-probe.ts', [PACK, path.join(cache, entry, 'step.onnx'), 1, 5]);
  const f = floor.score + floor.dse + floor.dseGrad;
  console.log('\nThe fused step graph against its floor (separate sessions, same options, batch 1, medians of 5 interleaved rounds)');
  table(['step ms', 'score fwd', 'DSE fwd', 'DSE fwd+grad', 'floor ms', 'step/floor (goal <= 1.05)'], [[floor.step.toFixed(0), floor.score.toFixed(0), floor.dse.toFixed(0), floor.dseGrad.toFixed(0), f.toFixed(0), (floor.step / f).toFixed(3)]]);

  // 4. batching
  const seq = probe<EngineProbe>('engine-probe.ts', [MODELS, cache, RUNS, STEPS, 'sequential', 'measured', THREADS]);
  const con = probe<EngineProbe>('engine-probe.ts', [MODELS, cache, RUNS, STEPS, 'concurrent', 'measured', THREADS]);
  const forced = probe<EngineProbe>('engine-probe.ts', [MODELS, cache, RUNS, STEPS, 'concurrent', 'max', THREADS]);
  console.log(`\n${RUNS} runs of ${STEPS} EGSDE steps (each engine warm from the cache; the wall time covers the runs only)`);
  table(['mode', 'wall s', 'sample-steps/s', 'vs one after another (goal >= 1.0)', 'last batch sizes'], [
    ['one after another', (seq.wallMs / 1000).toFixed(1), ((RUNS * STEPS) / (seq.wallMs / 1000)).toFixed(3), '1.00', seq.batchSizes.join(',')],
    ['at once, batch size measured', (con.wallMs / 1000).toFixed(1), ((RUNS * STEPS) / (con.wallMs / 1000)).toFixed(3), (seq.wallMs / con.wallMs).toFixed(2), con.batchSizes.join(',')],
    ['at once, always batch ' + Math.min(RUNS, 8), (forced.wallMs / 1000).toFixed(1), ((RUNS * STEPS) / (forced.wallMs / 1000)).toFixed(3), (seq.wallMs / forced.wallMs).toFixed(2), forced.batchSizes.join(',')],
  ]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
