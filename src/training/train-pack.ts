/**
 * `egsde train`: a pack from two folders of images, with the project's own autodiff and Adam on
 * the CPU. The official recipe's three stages in one command: an evaluation classifier on clean
 * images of both domains (realism FID features and target accuracy, independent of the DSE), the
 * time-dependent domain classifier on noised images of both (the DSE is its trunk), and the score
 * model on the target images (DDPM noise prediction, EMA weights). A seeded split of each folder
 * is held out and copied into the pack (heldout/) for `egsde eval`. Every stage checkpoints into
 * the work folder and resumes; the pack folder appears complete or not at all.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { SingleBar } from 'cli-progress';
import { Graph, HostTensor, Rng, createSchedule, RandomWeights, StateDictWeights, writeOnnx, writePackFolder, removeDeadStaging, PACK_NAME_PATTERN } from '../engine/toolkit';
import { CodedError } from '../errors';
import { encodePng } from '../images';
import { dseConfig, dseGraph, dseLossGraph, evalClassifierGraph, scoreConfig, scoreGraph, scoreLossGraph, TRAIN_SIZES, TrainSize } from './pack-models';
import { readImageFolder, ImageFolder } from './image-folder';
import { Trainer, TrainerOptions } from './trainer';
import { DEMO_PACK_DEFAULTS } from './demo-settings';

export const TRAINING_DEFAULTS = {
  seed: 2022,
  scoreIterations: 3000,
  dseIterations: 2000,
  classifierIterations: 800,
  batch: 32,
  /** fraction of each folder held out for evaluation */
  holdout: 0.1,
  flip: true,
};

/** Images held out of each domain at least, and so the fewest a folder may hold. */
export const MIN_HELDOUT = 8;
export const MIN_TRAINING_IMAGES = 24;
export const MIN_IMAGES = MIN_HELDOUT + MIN_TRAINING_IMAGES;

/** Where the held-out split goes in the pack, and its index. */
export const HELDOUT_DIR = 'heldout';
export const HELDOUT_INDEX = 'index.json';

export interface TrainPackOptions {
  /** folder of source-domain images */
  source: string;
  /** folder of target-domain images */
  target: string;
  /** 32 or 64 */
  size: number;
  /** the pack folder to write, e.g. models/NAME */
  out: string;
  /** pack name; default the out folder's name */
  name?: string;
  /** domain names in pack.json; default the folders' names */
  sourceName?: string;
  targetName?: string;
  description?: string;
  /** checkpoints (resumable); default .cache/train/<name> */
  work?: string;
  seed?: number;
  scoreIterations?: number;
  dseIterations?: number;
  classifierIterations?: number;
  batch?: number;
  holdout?: number;
  /** random horizontal flips of the training images (as the official training does). Default true */
  flip?: boolean;
  /** pack.json defaults; default the demo's, with down_N keeping 4x4 of the image */
  defaults?: Record<string, unknown>;
  threads?: number;
  /** replace an existing pack folder. Default false */
  force?: boolean;
  /** files or folders of the pack being replaced that the new pack keeps (the demo's web samples) */
  carry?: string[];
  /** writes more files into the pack folder before it is published (the demo packs' web samples) */
  addFiles?(staging: string): Promise<void>;
  /** discard the work folder's checkpoints instead of resuming. Default false */
  restart?: boolean;
  /** a progress bar with ETA per stage. Default: when stdout is a TTY */
  progress?: boolean;
  log?(msg: string): void;
}

export interface StageReport {
  iterations: number;
  loss: number;
  seconds: number;
}

export interface TrainingReport {
  name: string;
  size: number;
  images: { source: { train: number; heldout: number }; target: { train: number; heldout: number } };
  stages: { evalClassifier: StageReport; dse: StageReport; score: StageReport };
  /** wall time of the last invocation (reading, training what was left, writing) */
  seconds: number;
}

function invalid(message: string, details: Record<string, unknown>): CodedError {
  return new CodedError('train/invalid_option', message, details);
}

function positiveInt(v: number, option: string): number {
  if (!Number.isSafeInteger(v) || v <= 0) throw invalid(`${option} must be a positive integer, got ${v}`, { option, value: v });
  return v;
}

function checkOptions(o: TrainPackOptions) {
  if (!TRAIN_SIZES.includes(o.size as TrainSize)) throw invalid(`--size must be ${TRAIN_SIZES.join(' or ')}, got ${o.size}`, { option: '--size', value: o.size });
  const c = { ...TRAINING_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as typeof TRAINING_DEFAULTS & TrainPackOptions;
  positiveInt(c.scoreIterations, '--score-iterations');
  positiveInt(c.dseIterations, '--dse-iterations');
  positiveInt(c.classifierIterations, '--classifier-iterations');
  if (positiveInt(c.batch, '--batch') < 2) throw invalid('--batch must be at least 2', { option: '--batch', value: c.batch });
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) throw invalid(`--seed must be a non-negative integer, got ${c.seed}`, { option: '--seed', value: c.seed });
  if (!(c.holdout > 0 && c.holdout <= 0.5)) throw invalid(`--holdout must be a fraction in (0, 0.5], got ${c.holdout}`, { option: '--holdout', value: c.holdout });
  const name = o.name ?? path.basename(path.resolve(o.out));
  if (!PACK_NAME_PATTERN.test(name)) throw invalid(`the pack name ${JSON.stringify(name)} (from --out) must be lowercase letters, digits, '_' and '-'; pass --name`, { option: '--name', value: name });
  return { ...c, name, size: o.size as TrainSize };
}

/** A seeded split of n images: `heldout` (max(MIN_HELDOUT, fraction * n)) and the rest for training. */
export function splitHeldout(n: number, fraction: number, seed: number): { train: number[]; heldout: number[] } {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const k = Math.max(MIN_HELDOUT, Math.round(fraction * n));
  return { heldout: order.slice(0, k).sort((a, b) => a - b), train: order.slice(k).sort((a, b) => a - b) };
}

/** Images i of a folder into a batch, flipped left-right at random when `flip`. */
function gather(rng: Rng, folder: ImageFolder, pool: number[], n: number, size: number, flip: boolean, out: Float32Array, offset: number): void {
  const img = 3 * size * size;
  for (let k = 0; k < n; k++) {
    const i = pool[Math.floor(rng.uniform() * pool.length)];
    const src = folder.images.subarray(i * img, (i + 1) * img);
    const dst = out.subarray((offset + k) * img, (offset + k + 1) * img);
    if (flip && rng.uniform() < 0.5) {
      for (let row = 0; row < 3 * size; row++) for (let x = 0; x < size; x++) dst[row * size + x] = src[row * size + size - 1 - x];
    } else dst.set(src);
  }
}

function onehot(labels: Int32Array): HostTensor {
  const d = new Float32Array(labels.length * 2);
  labels.forEach((l, i) => (d[i * 2 + l] = 1));
  return { data: d, dims: [labels.length, 2] };
}

function fingerprint(c: ReturnType<typeof checkOptions>, source: ImageFolder, target: ImageFolder): string {
  const files = (f: ImageFolder) => f.files.map((n, i) => [n, f.stats[i].size, Math.round(f.stats[i].mtimeMs)]);
  const key = { format: 1, size: c.size, seed: c.seed, batch: c.batch, holdout: c.holdout, flip: c.flip, score: scoreConfig(c.size), dse: dseConfig(c.size), source: files(source), target: files(target) };
  return crypto.createHash('sha256').update(JSON.stringify(key)).digest('hex');
}

/** The work folder for these images and settings: resumed, started, or (with restart) emptied. */
function prepareWork(work: string, print: string, restart: boolean, log: (m: string) => void): void {
  const file = path.join(work, 'fingerprint.json');
  if (restart) fs.rmSync(work, { recursive: true, force: true });
  if (fs.existsSync(file)) {
    const was = (JSON.parse(fs.readFileSync(file, 'utf8')) as { fingerprint?: string }).fingerprint;
    if (was !== print) {
      throw new CodedError('train/resume_mismatch', `the work folder ${work} holds checkpoints of another training (other images, size, seed, batch, hold-out or flips); pass --restart to discard them or --work to use another folder`, { work });
    }
    return;
  }
  if (fs.existsSync(work) && fs.readdirSync(work).some((f) => f.endsWith('.ckpt'))) {
    throw new CodedError('train/resume_mismatch', `the work folder ${work} holds checkpoints without a fingerprint; pass --restart to discard them or --work to use another folder`, { work });
  }
  fs.mkdirSync(work, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ fingerprint: print }, null, 2)}\n`);
  log(`checkpoints in ${work}`);
}

type BatchFn = (rng: Rng) => Record<string, HostTensor>;

interface StageContext {
  work: string;
  progress: boolean;
  log(m: string): void;
}

/** One training stage, from its checkpoint if there is one; a progress bar (or log lines) with ETA. */
async function stage(name: string, graph: Graph, iterations: number, seed: number, batchFn: BatchFn, topts: TrainerOptions, o: StageContext): Promise<{ weights: (ema: boolean) => ReturnType<Trainer['stateDict']>; report: StageReport }> {
  const trainer = await Trainer.create(graph, [...graph.initializers.keys()], topts);
  const ckpt = path.join(o.work, `${name}.ckpt`);
  const rng = new Rng(seed);
  if (trainer.load(ckpt)) {
    rng.state = trainer.extra.rng;
    o.log(`${name}: resuming at iteration ${trainer.iteration}/${iterations}`);
  }
  const secondsBefore = trainer.extra.seconds ?? 0;
  const startIteration = trainer.iteration;
  const bar = o.progress ? new SingleBar({ format: `${name.padEnd(16)} [{bar}] {value}/{total} loss {loss} | {duration_formatted} eta {eta_formatted}`, etaBuffer: 50 }) : null;
  bar?.start(iterations, trainer.iteration, { loss: '-' });
  let smooth = trainer.extra.loss ?? NaN;
  const t0 = Date.now();
  const every = Math.max(1, Math.round(iterations / 10));
  const save = () => {
    trainer.extra = { rng: rng.state, loss: smooth, seconds: secondsBefore + (Date.now() - t0) / 1000 };
    trainer.save(ckpt);
  };
  while (trainer.iteration < iterations) {
    const loss = await trainer.step(batchFn(rng));
    smooth = Number.isNaN(smooth) ? loss : 0.98 * smooth + 0.02 * loss;
    bar?.update(trainer.iteration, { loss: smooth.toFixed(4) });
    if (trainer.iteration % 100 === 0 || trainer.iteration === iterations) save();
    if (!bar && (trainer.iteration % every === 0 || trainer.iteration === iterations)) {
      const elapsed = (Date.now() - t0) / 1000;
      const eta = (elapsed / (trainer.iteration - startIteration)) * (iterations - trainer.iteration);
      o.log(`${name}: ${trainer.iteration}/${iterations} loss ${smooth.toFixed(4)}, ${elapsed.toFixed(0)} s, eta ${eta.toFixed(0)} s`);
    }
  }
  if (trainer.iteration === startIteration && !fs.existsSync(ckpt)) save();
  bar?.stop();
  const report = { iterations, loss: trainer.extra.loss ?? smooth, seconds: trainer.extra.seconds ?? (Date.now() - t0) / 1000 };
  o.log(`${name}: done, loss ${report.loss.toFixed(4)} (${report.seconds.toFixed(0)} s of training)`);
  await trainer.release();
  return { weights: (ema) => trainer.stateDict(ema), report };
}

/** Reads both folders, trains (or resumes), and writes the pack; returns what it measured. */
export async function trainPack(opts: TrainPackOptions): Promise<{ dir: string; report: TrainingReport }> {
  const c = checkOptions(opts);
  const log = opts.log ?? ((m: string) => console.log(m));
  const out = path.resolve(opts.out);
  if (fs.existsSync(out) && !opts.force) throw new CodedError('train/out_exists', `${out} exists; pass --force to replace it`, { out });
  const t0 = Date.now();
  const size = c.size;
  const source = await readImageFolder(opts.source, size, 'source', MIN_IMAGES);
  const target = await readImageFolder(opts.target, size, 'target', MIN_IMAGES);
  const sourceSplit = splitHeldout(source.files.length, c.holdout, c.seed + 101);
  const targetSplit = splitHeldout(target.files.length, c.holdout, c.seed + 102);
  log(`source ${source.dir}: ${source.files.length} images (${source.width}x${source.height}), ${sourceSplit.train.length} to train, ${sourceSplit.heldout.length} held out`);
  log(`target ${target.dir}: ${target.files.length} images (${target.width}x${target.height}), ${targetSplit.train.length} to train, ${targetSplit.heldout.length} held out`);
  const work = path.resolve(opts.work ?? path.join('.cache', 'train', c.name));
  prepareWork(work, fingerprint(c, source, target), opts.restart ?? false, log);
  for (const dead of removeDeadStaging(out)) log(`removed ${dead} (left by a killed writer)`);

  const schedule = createSchedule();
  const T = schedule.betas.length;
  const B = c.batch;
  const IMG = 3 * size * size;
  const dims = (n: number) => [n, 3, size, size];
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
  /** n images, each of either domain with probability 1/2; labels 0 source, 1 target */
  const mixed = (rng: Rng, n: number) => {
    const images = new Float32Array(n * IMG);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rng.uniform() < 0.5 ? 0 : 1;
      gather(rng, labels[i] ? target : source, labels[i] ? targetSplit.train : sourceSplit.train, 1, size, c.flip, images, i);
    }
    return { images, labels };
  };
  const ctx: StageContext = { work, progress: opts.progress ?? Boolean(process.stdout.isTTY), log };
  const threads = opts.threads;

  const clf = await stage('eval-classifier', evalClassifierGraph(new RandomWeights(c.seed + 1), true, size), c.classifierIterations, c.seed + 11, (rng) => {
    const { images, labels } = mixed(rng, 2 * B);
    return { x: { data: images, dims: dims(2 * B) }, onehot: onehot(labels) };
  }, { lr: 1e-3, threads }, ctx);
  const dse = await stage('dse-classifier', dseLossGraph(new RandomWeights(c.seed + 2), size), c.dseIterations, c.seed + 12, (rng) => {
    const { images, labels } = mixed(rng, B);
    const { x, t } = noised(rng, images, B);
    return { x: { data: x, dims: dims(B) }, t: { data: t, dims: [B] }, onehot: onehot(labels) };
  }, { lr: 5e-4, warmup: 100, threads }, ctx);
  const score = await stage('score', scoreLossGraph(new RandomWeights(c.seed + 3), size), c.scoreIterations, c.seed + 13, (rng) => {
    const images = new Float32Array(B * IMG);
    gather(rng, target, targetSplit.train, B, size, c.flip, images, 0);
    const { x, t, eps } = noised(rng, images, B);
    return { x: { data: x, dims: dims(B) }, t: { data: t, dims: [B] }, eps: { data: eps, dims: dims(B) } };
  }, { lr: 5e-4, warmup: 100, emaDecay: 0.995, threads }, ctx);

  const sourceName = opts.sourceName ?? path.basename(path.resolve(opts.source));
  const targetName = opts.targetName ?? path.basename(path.resolve(opts.target));
  const report: TrainingReport = {
    name: c.name,
    size,
    images: {
      source: { train: sourceSplit.train.length, heldout: sourceSplit.heldout.length },
      target: { train: targetSplit.train.length, heldout: targetSplit.heldout.length },
    },
    stages: { evalClassifier: clf.report, dse: dse.report, score: score.report },
    seconds: 0,
  };
  const manifest = {
    name: c.name,
    description: opts.description ?? `Trained by egsde train: ${sourceName} (source) to ${targetName} (target), ${size} px`,
    sourceDomain: sourceName,
    targetDomain: targetName,
    imageSize: size,
    schedule: { betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02, numTimesteps: T, varType: 'fixedsmall' },
    score: { file: 'score.onnx', kind: 'eps', output: 'out' },
    dse: { file: 'dse.onnx', featureOutput: 'features' },
    defaults: opts.defaults ?? { ...DEMO_PACK_DEFAULTS, downN: size / 4 },
  };
  const { dir } = await writePackFolder(out, {
    manifest,
    force: opts.force,
    write: async (staging) => {
      for (const keep of opts.carry ?? []) if (fs.existsSync(path.join(out, keep))) fs.cpSync(path.join(out, keep), path.join(staging, keep), { recursive: true });
      await opts.addFiles?.(staging);
      writeOnnx(path.join(staging, 'score.onnx'), scoreGraph(size, new StateDictWeights(score.weights(true), 'score')));
      writeOnnx(path.join(staging, 'dse.onnx'), dseGraph(size, new StateDictWeights(dse.weights(false), 'dse', (k) => k.startsWith('head.'))));
      writeOnnx(path.join(staging, 'eval-classifier.onnx'), evalClassifierGraph(new StateDictWeights(clf.weights(false), 'eval-classifier'), false, size));
      const index: Record<string, string[]> = {};
      for (const [role, folder, split] of [['source', source, sourceSplit], ['target', target, targetSplit]] as const) {
        const d = path.join(staging, HELDOUT_DIR, role);
        fs.mkdirSync(d, { recursive: true });
        index[role] = [];
        for (const i of split.heldout) {
          const file = /\.png$/i.test(folder.files[i]) ? folder.files[i] : `${folder.files[i]}.png`;
          fs.writeFileSync(path.join(d, file), await encodePng(folder.images.subarray(i * IMG, (i + 1) * IMG).map((v) => (v + 1) / 2), size));
          index[role].push(file);
        }
      }
      fs.writeFileSync(path.join(staging, HELDOUT_DIR, HELDOUT_INDEX), `${JSON.stringify({ source: { from: source.dir, files: index.source }, target: { from: target.dir, files: index.target } }, null, 2)}\n`);
      report.seconds = (Date.now() - t0) / 1000;
      const settings = { seed: c.seed, batch: c.batch, holdout: c.holdout, flip: c.flip, scoreIterations: c.scoreIterations, dseIterations: c.dseIterations, classifierIterations: c.classifierIterations };
      fs.writeFileSync(path.join(staging, 'training.json'), `${JSON.stringify({ ...settings, report }, null, 2)}\n`);
    },
  });
  log(`pack ${c.name} written to ${dir}`);
  return { dir, report };
}
