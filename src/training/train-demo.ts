/**
 * `npm run train:demo`: trains the demo pack from scratch on this machine's CPU with the
 * project's own autodiff, then writes models/demo (pack.json, score.onnx, dse.onnx) and the
 * evaluation classifier. Seeded; stages resume from their checkpoints in the work directory.
 */
import * as fs from 'fs';
import * as path from 'path';
import { SingleBar } from 'cli-progress';
import { Graph } from '../engine/toolkit';
import { encodeModel } from '../engine/toolkit';
import { HostTensor } from '../engine/toolkit';
import { Rng } from '../engine/toolkit';
import { createSchedule } from '../engine/toolkit';
import { buildAdmUNet, buildEncoderTrunk } from '../engine/toolkit';
import { RandomWeights, StateDictWeights } from '../engine/toolkit';
import { parsePackManifest } from '../engine/toolkit';
import { DEMO_DSE, DEMO_SCORE, DEMO_SIZE, dseLossGraph, evalClassifierGraph, scoreLossGraph } from './demo-models';
import { shapeBatch } from './shapes';
import { Trainer, TrainerOptions } from './trainer';
import { DEMO_PACK_DEFAULTS } from './demo-settings';

export interface TrainDemoOptions {
  /** Default models/demo */
  outDir?: string;
  /** checkpoints; Default .cache/train-demo */
  workDir?: string;
  seed?: number;
  scoreIterations?: number;
  dseIterations?: number;
  classifierIterations?: number;
  batch?: number;
  threads?: number;
  /** show a progress bar. Default true when stdout is a TTY */
  progress?: boolean;
  log?(msg: string): void;
}

export const DEMO_TRAINING = {
  seed: 2022,
  scoreIterations: 3000,
  dseIterations: 2000,
  classifierIterations: 800,
  batch: 32,
};

const IMG = 3 * DEMO_SIZE * DEMO_SIZE;
type BatchFn = (rng: Rng) => Record<string, HostTensor>;

function onehot(labels: Int32Array, k: number): HostTensor {
  const d = new Float32Array(labels.length * k);
  labels.forEach((l, i) => (d[i * k + l] = 1));
  return { data: d, dims: [labels.length, k] };
}

async function stage(
  name: string,
  graph: Graph,
  iterations: number,
  seed: number,
  batchFn: BatchFn,
  topts: TrainerOptions,
  o: Required<Pick<TrainDemoOptions, 'workDir' | 'progress' | 'log'>>,
): Promise<Trainer> {
  const trainable = [...graph.initializers.keys()];
  const trainer = await Trainer.create(graph, trainable, topts);
  const ckpt = path.join(o.workDir, `${name}.ckpt`);
  const rng = new Rng(seed);
  if (trainer.load(ckpt)) {
    rng.state = trainer.extra.rng;
    o.log(`${name}: resuming at iteration ${trainer.iteration}/${iterations}`);
  }
  const bar = o.progress ? new SingleBar({ format: `${name.padEnd(16)} [{bar}] {value}/{total} loss {loss} | {duration_formatted} eta {eta_formatted}` }) : null;
  bar?.start(iterations, trainer.iteration, { loss: '-' });
  let smooth = NaN;
  const t0 = Date.now();
  while (trainer.iteration < iterations) {
    const loss = await trainer.step(batchFn(rng));
    smooth = Number.isNaN(smooth) ? loss : 0.98 * smooth + 0.02 * loss;
    bar?.update(trainer.iteration, { loss: smooth.toFixed(4) });
    if (trainer.iteration % 100 === 0 || trainer.iteration === iterations) {
      trainer.extra = { rng: rng.state, loss: smooth };
      trainer.save(ckpt);
      if (!bar && trainer.iteration % 500 === 0) o.log(`${name}: ${trainer.iteration}/${iterations} loss ${smooth.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  bar?.stop();
  o.log(`${name}: done, loss ${(trainer.extra.loss ?? smooth).toFixed(4)}`);
  return trainer;
}

export async function trainDemo(opts: TrainDemoOptions = {}): Promise<{ dir: string }> {
  const cfg = { ...DEMO_TRAINING, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEMO_TRAINING & TrainDemoOptions;
  const o = {
    workDir: opts.workDir ?? '.cache/train-demo',
    progress: opts.progress ?? Boolean(process.stdout.isTTY),
    log: opts.log ?? ((m: string) => console.log(m)),
  };
  const outDir = opts.outDir ?? 'models/demo';
  const schedule = createSchedule();
  const T = schedule.betas.length;
  const B = cfg.batch;
  const noised = (rng: Rng, images: Float32Array, n: number) => {
    const t = new Float32Array(n);
    const eps = rng.normals(n * IMG);
    const x = new Float32Array(n * IMG);
    for (let i = 0; i < n; i++) {
      const ti = Math.floor(rng.uniform() * T);
      t[i] = ti;
      const a = Math.sqrt(schedule.alphasCumprod[ti]);
      const s = Math.sqrt(1 - schedule.alphasCumprod[ti]);
      for (let j = i * IMG; j < (i + 1) * IMG; j++) x[j] = a * images[j] + s * eps[j];
    }
    return { x, t, eps };
  };
  const dims = (n: number) => [n, 3, DEMO_SIZE, DEMO_SIZE];

  const clf = await stage('eval-classifier', evalClassifierGraph(new RandomWeights(cfg.seed + 1), true), cfg.classifierIterations, cfg.seed + 11, (rng) => {
    const { images, labels } = shapeBatch(rng, 2 * B, DEMO_SIZE, 'mixed');
    return { x: { data: images, dims: dims(2 * B) }, onehot: onehot(labels, 2) };
  }, { lr: 1e-3, threads: opts.threads }, o);

  const dse = await stage('dse-classifier', dseLossGraph(new RandomWeights(cfg.seed + 2)), cfg.dseIterations, cfg.seed + 12, (rng) => {
    const { images, labels } = shapeBatch(rng, B, DEMO_SIZE, 'mixed');
    const { x, t } = noised(rng, images, B);
    return { x: { data: x, dims: dims(B) }, t: { data: t, dims: [B] }, onehot: onehot(labels, 2) };
  }, { lr: 5e-4, warmup: 100, threads: opts.threads }, o);

  const score = await stage('score', scoreLossGraph(new RandomWeights(cfg.seed + 3)), cfg.scoreIterations, cfg.seed + 13, (rng) => {
    const { images } = shapeBatch(rng, B, DEMO_SIZE, 'square');
    const { x, t, eps } = noised(rng, images, B);
    return { x: { data: x, dims: dims(B) }, t: { data: t, dims: [B] }, eps: { data: eps, dims: dims(B) } };
  }, { lr: 5e-4, warmup: 100, emaDecay: 0.995, threads: opts.threads }, o);

  // export: the trained weights loaded by key into clean inference graphs
  const staging = `${outDir}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const write = (f: string, g: Graph) => fs.writeFileSync(path.join(staging, f), encodeModel(g));
  write('score.onnx', buildAdmUNet(DEMO_SCORE, new StateDictWeights(score.stateDict(true), 'score')));
  write('dse.onnx', buildEncoderTrunk(DEMO_DSE, new StateDictWeights(dse.stateDict(false), 'dse', (k) => k.startsWith('head.'))));
  write('eval-classifier.onnx', evalClassifierGraph(new StateDictWeights(clf.stateDict(false), 'eval-classifier'), false));
  const manifest = {
    name: 'demo',
    description: 'Demo pack trained by npm run train:demo: discs (source) to squares (target), 32 px procedural images',
    sourceDomain: 'disc',
    targetDomain: 'square',
    imageSize: DEMO_SIZE,
    schedule: { betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02, numTimesteps: T, varType: 'fixedsmall' },
    score: { file: 'score.onnx', kind: 'eps', output: 'out' },
    dse: { file: 'dse.onnx', featureOutput: 'features' },
    defaults: DEMO_PACK_DEFAULTS,
  };
  parsePackManifest(manifest, path.join(staging, 'pack.json'));
  fs.writeFileSync(path.join(staging, 'pack.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(path.join(staging, 'training.json'), `${JSON.stringify({ ...DEMO_TRAINING, ...cfg, log: undefined, losses: { score: score.extra.loss, dse: dse.extra.loss, classifier: clf.extra.loss } }, null, 2)}\n`);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(staging, outDir);
  for (const t of [clf, dse, score]) await t.release();
  o.log(`demo pack written to ${outDir}`);
  return { dir: outDir };
}
