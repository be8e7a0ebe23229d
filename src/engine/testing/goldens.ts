/**
 * Test helper: reference vectors produced by the official EGSDE implementation
 * (ML-GSAI/EGSDE, CPU, PyTorch), stored in test/fixtures/egsde-tiny.
 *
 * Format (see the fixture README): `manifest.json` lists every tensor as
 * `{file, dtype: "float32", shape}` and every case with its settings; each `*.f32` file
 * is raw little-endian float32 in C order.
 *
 * API: `loadGolden(name)` -> a tensor, `goldenCase(name)` -> a case's settings,
 * `relL2(a, b)` -> ||a - b|| / ||b||; `trajectoryCaseNames()` / `trajectoryCase(name)` -> the
 * whole-run cases, discovered by their fields, with every setting read from the manifest and the
 * tensor shapes; `goldenModel(file)` -> an ONNX model with its ports; `goldenStepGraph(case)` -> the
 * case's fused step graph.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Graph } from '../onnx/ir';
import { decodeModel } from '../onnx/model-io';
import type { RealismEnergyKind } from '../sampling/realism-energy';
import type { ScheduleOptions } from '../sampling/schedule';
import { buildStepGraph } from '../sampling/step-graph';
import type { FaithfulnessEnergyKind, ModelPort, SamplerKind, ScoreKind } from '../sampling/step-graph';

/** A golden tensor: float32 data in C order and its shape. */
export interface GoldenTensor {
  readonly data: Float32Array;
  readonly shape: number[];
}

/** A case's settings as written in manifest.json (tensor fields hold tensor names). */
export type GoldenCase = Readonly<Record<string, unknown>>;

interface ManifestTensor {
  file: string;
  dtype: string;
  shape: number[];
}

interface Manifest {
  source: string;
  seed: number;
  tensors: Record<string, ManifestTensor>;
  cases: Record<string, Record<string, unknown>>;
  models?: Record<string, { config?: Record<string, unknown>; architecture?: string }>;
}

const FIXTURE_SUBDIR = path.join('test', 'fixtures', 'egsde-tiny');

let cachedDir: string | undefined;
let cachedManifest: Manifest | undefined;

/**
 * The fixture directory: `test/fixtures/egsde-tiny` under the project root, found by walking up
 * from this file's directory (works from src/ under ts-jest and from a compiled dist/ tree).
 */
export function goldenDir(): string {
  if (cachedDir !== undefined) return cachedDir;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, FIXTURE_SUBDIR);
    if (fs.existsSync(path.join(candidate, 'manifest.json'))) {
      cachedDir = candidate;
      return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`golden fixtures not found: no ${FIXTURE_SUBDIR}/manifest.json above ${__dirname}`);
    }
    dir = parent;
  }
}

function manifest(): Manifest {
  if (cachedManifest === undefined) {
    const text = fs.readFileSync(path.join(goldenDir(), 'manifest.json'), 'utf8');
    cachedManifest = JSON.parse(text) as Manifest;
  }
  return cachedManifest;
}

/** Names of all cases in the manifest, in manifest order. */
export function goldenCaseNames(): string[] {
  return Object.keys(manifest().cases);
}

/** Names of all tensors in the manifest. */
export function goldenTensorNames(): string[] {
  return Object.keys(manifest().tensors);
}

/** Reads the tensor `name` (a key of manifest.json `tensors`). A fresh copy on every call. */
export function loadGolden(name: string): GoldenTensor {
  const entry = manifest().tensors[name];
  if (entry === undefined) throw new Error(`golden tensor '${name}' is not in manifest.json`);
  if (entry.dtype !== 'float32') {
    throw new Error(`golden tensor '${name}' has dtype '${entry.dtype}'; only float32 is supported`);
  }
  const file = path.join(goldenDir(), entry.file);
  const bytes = fs.readFileSync(file);
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * 4) {
    throw new Error(`golden tensor '${name}' (${entry.file}): ${bytes.length} bytes, expected ${count * 4} for shape [${entry.shape.join(',')}]`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
  return { data, shape: [...entry.shape] };
}

/** The settings of case `name` (a key of manifest.json `cases`), e.g. `goldenCase('resizer').down_N`. */
export function goldenCase(name: string): GoldenCase {
  const entry = manifest().cases[name];
  if (entry === undefined) throw new Error(`golden case '${name}' is not in manifest.json`);
  return entry;
}

/**
 * Relative L2 error ||a - b|| / ||b||, accumulated in float64. `b` is the reference.
 * When ||b|| = 0 it returns the absolute error ||a - b||.
 */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relL2: length mismatch (${a.length} vs ${b.length})`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    diff += d * d;
    ref += b[i] * b[i];
  }
  return ref === 0 ? Math.sqrt(diff) : Math.sqrt(diff / ref);
}

/** Settings of a model in manifest.json `models` (e.g. `goldenModelConfig('dse.onnx').image_size`). */
export function goldenModelConfig(file: string): Readonly<Record<string, unknown>> {
  const entry = manifest().models?.[file]?.config;
  if (entry === undefined) throw new Error(`golden model '${file}' has no config in manifest.json`);
  return entry;
}

/**
 * An ONNX model of the fixtures with its ports: the image input is the rank-4 input, the
 * timestep the rank-1 one (the README's `x` and `t` when the graph does not say), the output the
 * first. `channels` is the output's channel count when the graph states it.
 */
export function goldenModel(file: string): ModelPort & { outChannels: number | null } {
  const graph: Graph = decodeModel(fs.readFileSync(path.join(goldenDir(), file)), file);
  const byRank = (rank: number, fallback: string) => graph.inputs.find((v) => v.shape?.length === rank)?.name ?? fallback;
  const c = graph.outputs[0].shape?.[1];
  return { graph, input: byRank(4, 'x'), timestep: byRank(1, 't'), output: graph.outputs[0].name, outChannels: typeof c === 'number' ? c : null };
}

/** A whole run of the official sampler with its recorded noise (egsde_adm, strong_adm_cos_cos, ...). */
export interface TrajectoryCase {
  name: string;
  /** the score model's ONNX file */
  model: string;
  /** the DSE's ONNX file: the case's `dse`, else 'dse.onnx' */
  dse: string;
  /** from the model's config in the manifest (out channels = 2 x in: learned sigma), else its graph */
  scoreKind: ScoreKind;
  /** SDEdit when both weights are 0 (the official code then runs SDEdit), else EGSDE */
  sampler: 'egsde' | 'sdedit';
  schedule: ScheduleOptions;
  M: number;
  lambdaS: number;
  lambdaI: number;
  s1: RealismEnergyKind;
  s2: FaithfulnessEnergyKind;
  downN: number;
  /** x0's shape: [batch, channels, imageSize, imageSize] */
  batch: number;
  channels: number;
  imageSize: number;
  /** tensor names */
  x0: string;
  e: string;
  yStart: string;
  stepNoise: string;
  trajectory: string;
  /** the manifest entry as written (audit, notes) */
  raw: GoldenCase;
}

const TRAJECTORY_FIELDS = ['model', 'schedule', 'M', 'ls', 'li', 's1', 's2', 'down_N', 'x0', 'e', 'y_start', 'step_noise', 'trajectory'] as const;

/** Cases of the trajectory format (every field of egsde_adm's), in manifest order. */
export function trajectoryCaseNames(): string[] {
  return goldenCaseNames().filter((name) => TRAJECTORY_FIELDS.every((f) => f in goldenCase(name)));
}

function scoreKindOf(model: string, channels: number): ScoreKind {
  const entry = manifest().models?.[model];
  const cfg = entry?.config ?? {};
  const out = (cfg.out_channels ?? cfg.out_ch ?? goldenModel(model).outChannels) as number | null;
  const inC = (cfg.in_channels as number | undefined) ?? channels;
  if (out === 2 * inC) return 'adm-learned-sigma';
  if (out === inC) return 'eps';
  throw new Error(`golden model '${model}': cannot tell its score kind (${out} output channels for ${inC} input channels)`);
}

/** A trajectory case's settings, checked against its tensors' shapes. */
export function trajectoryCase(name: string): TrajectoryCase {
  const c = goldenCase(name);
  const missing = TRAJECTORY_FIELDS.filter((f) => !(f in c));
  if (missing.length) throw new Error(`golden case '${name}' is not a trajectory case (no ${missing.join(', ')})`);
  const tensors = manifest().tensors;
  const shapeOf = (field: string) => {
    const t = tensors[c[field] as string];
    if (!t) throw new Error(`golden case '${name}': tensor '${String(c[field])}' (${field}) is not in manifest.json`);
    return t.shape;
  };
  const x0 = shapeOf('x0');
  const M = c.M as number;
  if (x0.length !== 4 || x0[2] !== x0[3]) throw new Error(`golden case '${name}': x0 has shape [${x0}], expected [batch, channels, S, S]`);
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  for (const f of ['e', 'y_start']) if (!same(shapeOf(f), x0)) throw new Error(`golden case '${name}': ${f} has shape [${shapeOf(f)}], expected [${x0}]`);
  for (const f of ['step_noise', 'trajectory']) if (!same(shapeOf(f), [M, ...x0])) throw new Error(`golden case '${name}': ${f} has shape [${shapeOf(f)}], expected [${[M, ...x0]}]`);
  const sch = c.schedule as { beta_schedule: ScheduleOptions['betaSchedule']; beta_start: number; beta_end: number; num_diffusion_timesteps: number; var_type: ScheduleOptions['varType'] };
  const model = c.model as string;
  return {
    name,
    model,
    dse: typeof c.dse === 'string' ? c.dse : 'dse.onnx',
    scoreKind: scoreKindOf(model, x0[1]),
    sampler: c.ls === 0 && c.li === 0 ? 'sdedit' : 'egsde',
    schedule: { betaSchedule: sch.beta_schedule, betaStart: sch.beta_start, betaEnd: sch.beta_end, numDiffusionTimesteps: sch.num_diffusion_timesteps, varType: sch.var_type },
    M,
    lambdaS: c.ls as number,
    lambdaI: c.li as number,
    s1: c.s1 as RealismEnergyKind,
    s2: c.s2 as FaithfulnessEnergyKind,
    downN: c.down_N as number,
    batch: x0[0],
    channels: x0[1],
    imageSize: x0[2],
    x0: c.x0 as string,
    e: c.e as string,
    yStart: c.y_start as string,
    stepNoise: c.step_noise as string,
    trajectory: c.trajectory as string,
    raw: c,
  };
}

/** The fused step graph of a trajectory case's models and settings (its own sampler unless given). */
export function goldenStepGraph(c: TrajectoryCase, sampler: SamplerKind = c.sampler): Graph {
  return buildStepGraph({
    sampler,
    score: { ...goldenModel(c.model), kind: c.scoreKind },
    dse: sampler === 'egsde' ? goldenModel(c.dse) : undefined,
    imageSize: c.imageSize,
    downN: c.downN,
    s1: c.s1,
    s2: c.s2,
  });
}

/** One sample of a trajectory case, sliced out of the batch. */
export interface TrajectorySample {
  x0: Float32Array;
  yStart: Float32Array;
  /** recorded noise as RecordedNoise and TranslateRequest.recordedNoise take it: e per repeat, z per step */
  e: Float32Array[];
  z: Float32Array[];
  /** y after each step */
  trajectory: Float32Array[];
}

export function trajectorySamples(c: TrajectoryCase): TrajectorySample[] {
  const size = c.channels * c.imageSize * c.imageSize;
  const [x0, e, yStart, noise, traj] = [c.x0, c.e, c.yStart, c.stepNoise, c.trajectory].map((n) => loadGolden(n).data);
  const at = (a: Float32Array, k: number, i: number) => a.slice((k * c.batch + i) * size, (k * c.batch + i + 1) * size);
  const steps = Array.from({ length: c.M }, (_, k) => k);
  return Array.from({ length: c.batch }, (_, i) => ({
    x0: at(x0, 0, i),
    yStart: at(yStart, 0, i),
    e: [at(e, 0, i)],
    z: steps.map((k) => at(noise, k, i)),
    trajectory: steps.map((k) => at(traj, k, i)),
  }));
}
