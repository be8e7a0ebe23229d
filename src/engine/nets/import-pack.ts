/**
 * Turn official PyTorch checkpoints into a model pack the engine serves: read the state_dicts,
 * build the architectures with the weights loaded by key, write score.onnx, dse.onnx and
 * pack.json. The pack folder appears complete or not at all.
 */
import * as fs from 'fs';
import * as path from 'path';
import { EngineError } from '../errors';
import { Graph } from '../onnx/ir';
import { encodeModel } from '../onnx/model-io';
import { writePackFolder } from '../packs';
import { readTorchCheckpoint } from './checkpoint';
import { AdmConfig, buildAdmUNet, buildEncoderTrunk, isEncoderHeadKey } from './adm';
import { buildDdpmUNet } from './ddpm';
import { ScoreArchitecture, TASK_PRESETS, TaskPreset } from './presets';
import { StateDictWeights } from './weights';

export interface ImportPackOptions {
  /** a preset name (cat2dog, wild2dog, male2female, multi-afhq) or a full preset */
  task: string | TaskPreset;
  scoreCheckpoint: string;
  dseCheckpoint: string;
  outDir: string;
  /** replace an existing pack folder. Default false. */
  force?: boolean;
  onProgress?(stage: string, done: number, total: number): void;
  log?(msg: string): void;
}

export function resolvePreset(task: string | TaskPreset): TaskPreset {
  if (typeof task !== 'string') return task;
  const p = TASK_PRESETS[task];
  if (!p) throw new EngineError('engine/invalid_input', `unknown task ${task}; presets: ${Object.keys(TASK_PRESETS).join(', ')}`, { field: 'task' });
  return p;
}

export function buildScoreGraph(arch: ScoreArchitecture, weights: StateDictWeights | import('./weights').WeightSource): Graph {
  switch (arch.kind) {
    case 'adm':
      return buildAdmUNet(arch.config, weights);
    case 'ddpm':
      return buildDdpmUNet(arch.config, weights);
  }
}

export async function importPack(opts: ImportPackOptions): Promise<{ dir: string; files: string[] }> {
  const preset = resolvePreset(opts.task);
  const log = opts.log ?? (() => {});
  const progress = (stage: string) => (done: number, total: number) => opts.onProgress?.(stage, done, total);
  return writePack(preset, opts.outDir, {
    force: opts.force,
    log,
    score: async () => {
      log(`reading ${opts.scoreCheckpoint}`);
      const sd = await readTorchCheckpoint(opts.scoreCheckpoint, { onProgress: progress(`read ${path.basename(opts.scoreCheckpoint)}`) });
      return buildScoreGraph(preset.score, new StateDictWeights(sd, opts.scoreCheckpoint));
    },
    dse: async () => {
      log(`reading ${opts.dseCheckpoint}`);
      const sd = await readTorchCheckpoint(opts.dseCheckpoint, { onProgress: progress(`read ${path.basename(opts.dseCheckpoint)}`) });
      return buildEncoderTrunk(preset.dse, new StateDictWeights(sd, opts.dseCheckpoint, isEncoderHeadKey));
    },
  });
}

export interface WritePackOptions {
  /** the networks, built one after the other (so only one is held at a time) */
  score(): Promise<Graph> | Graph;
  dse(): Promise<Graph> | Graph;
  /** replace an existing pack folder. Default false. */
  force?: boolean;
  /** pack.json description; default the preset's */
  description?: string;
  log?(msg: string): void;
}

/** Write a preset's pack (score.onnx, dse.onnx, pack.json) into outDir: complete or not at all. */
export async function writePack(preset: TaskPreset, outDir: string, opts: WritePackOptions): Promise<{ dir: string; files: string[] }> {
  const log = opts.log ?? (() => {});
  const imageSize = preset.score.config.imageSize;
  const manifest = {
    name: preset.task,
    description: opts.description ?? preset.description,
    ...(preset.sourceDomains.length === 1 ? { sourceDomain: preset.sourceDomains[0] } : { sourceDomains: preset.sourceDomains }),
    targetDomain: preset.targetDomain,
    imageSize,
    schedule: { betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02, numTimesteps: 1000, varType: 'fixedsmall' },
    score: { file: 'score.onnx', kind: preset.score.kind === 'adm' && (preset.score.config as AdmConfig).outChannels === 6 ? 'adm-learned-sigma' : 'eps', output: preset.score.kind === 'adm' ? 'out' : 'eps' },
    dse: { file: 'dse.onnx', featureOutput: 'features' },
    defaults: preset.defaults,
  };
  const { dir } = await writePackFolder(outDir, {
    manifest,
    force: opts.force,
    write: async (staging) => {
      writeOnnx(path.join(staging, 'score.onnx'), await opts.score(), log);
      writeOnnx(path.join(staging, 'dse.onnx'), await opts.dse(), log);
    },
  });
  log(`pack ${preset.task} written to ${dir}`);
  return { dir, files: ['pack.json', 'score.onnx', 'dse.onnx'].map((f) => path.join(dir, f)) };
}

/** Encode a graph into an .onnx file. */
export function writeOnnx(file: string, g: Graph, log: (m: string) => void = () => {}): void {
  const bytes = encodeModel(g);
  fs.writeFileSync(file, bytes);
  log(`wrote ${file} (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB, ${g.nodes.length} nodes)`);
}
