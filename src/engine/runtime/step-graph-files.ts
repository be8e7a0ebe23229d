/**
 * Build a pack's fused step graph and write it as ONNX files (the model plus its weights as
 * page-aligned external data), so that onnxruntime loads it from disk and no JavaScript copy of
 * the weights outlives the build (big models build in a child process, step-graph-build-child.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { EngineError, isEngineError } from '../errors';
import { decodeModel, saveModelWithExternalData } from '../onnx/model-io';
import { buildStepGraph, Precision } from '../sampling/step-graph';
import type { FaithfulnessEnergyKind, RealismEnergyKind, SamplerKind, ScoreKind } from '../vocabulary';

export interface ModelFile {
  file: string;
  input: string;
  timestep: string;
  /** default: the model's first output */
  output?: string;
}

/** Everything a step graph is built from (also what its cache key covers). */
export interface StepGraphJob {
  pack: string;
  sampler: SamplerKind;
  s1: RealismEnergyKind;
  s2: FaithfulnessEnergyKind;
  imageSize: number;
  downN: number;
  score: ModelFile & { kind: ScoreKind };
  /** EGSDE only */
  dse?: ModelFile;
  /** the networks' precision (step-graph.ts); default fp32 */
  precision?: Precision;
}

export const STEP_MODEL_FILE = 'step.onnx';
export const STEP_WEIGHTS_FILE = 'step.weights';

export interface WrittenStepGraph {
  nodes: number;
  weightBytes: number;
  buildMs: number;
}

/** Write `dir`/step.onnx and `dir`/step.weights for `job` (dir must exist). */
export function writeStepGraph(job: StepGraphJob, dir: string): WrittenStepGraph {
  const t0 = Date.now();
  const load = (f: string) => decodeModel(fs.readFileSync(f), f);
  const score = load(job.score.file);
  const dse = job.sampler === 'egsde' && job.dse ? load(job.dse.file) : undefined;
  let graph;
  try {
    graph = buildStepGraph({
      sampler: job.sampler,
      score: { graph: score, input: job.score.input, timestep: job.score.timestep, output: job.score.output ?? score.outputs[0].name, kind: job.score.kind },
      dse: dse && job.dse && { graph: dse, input: job.dse.input, timestep: job.dse.timestep, output: job.dse.output ?? dse.outputs[0].name },
      imageSize: job.imageSize,
      downN: job.downN,
      s1: job.s1,
      s2: job.s2,
      precision: job.precision,
    });
  } catch (e) {
    if (isEngineError(e)) throw e;
    throw new EngineError('engine/invalid_model', `pack ${job.pack}: cannot build the ${job.sampler} step graph: ${(e as Error).message}`);
  }
  const { weightBytes } = saveModelWithExternalData(graph, path.join(dir, STEP_MODEL_FILE), STEP_WEIGHTS_FILE);
  return { nodes: graph.nodes.length, weightBytes, buildMs: Date.now() - t0 };
}
