/**
 * One sampler step as one fused ONNX graph: score model, both experts and the update in a
 * single session run (docs/egsde-step.md §11). Inputs are batched per sample, so runs at different
 * timesteps and with different weights step together.
 *
 * Inputs:  y, x0, e, z [N,3,S,S]; coef [N, NUM_COEFS] (coefficients.ts)
 * Outputs: y_next [N,3,S,S], x0_pred [N,3,S,S]; for EGSDE also e_realism, e_faithfulness [N]
 */
import { GraphBuilder } from '../onnx/builder';
import { Graph, Node } from '../onnx/ir';
import { convertToFloat16 } from '../onnx/float16';
import { inlineGraph } from '../onnx/compose';
import { pruneGraph } from '../onnx/prune';
import { DType } from '../onnx/tensor';
import { appendGradients } from '../autodiff/vjp';
import { COEF, NUM_COEFS } from './coefficients';
import { lowPassOperator, matrixToFloat32, transpose } from './lowpass';
import { RealismEnergyKind, cosineEnergy, realismEnergy } from './realism-energy';

import type { SamplerKind, FaithfulnessEnergyKind, ScoreKind } from '../vocabulary';
export type { SamplerKind, FaithfulnessEnergyKind, ScoreKind };

export interface ModelPort {
  graph: Graph;
  input: string;
  timestep: string;
  output: string;
}

export interface StepGraphSpec {
  sampler: SamplerKind;
  score: ModelPort & { kind: ScoreKind };
  /** required for EGSDE */
  dse?: ModelPort;
  imageSize: number;
  downN: number;
  s1: RealismEnergyKind;
  s2: FaithfulnessEnergyKind;
  /**
   * The networks' precision (score model, DSE and its gradient; the update stays float32):
   * 'fp32' (default), 'fp16' (for GPU providers), 'fp16-emulated' (float32 types holding
   * float16-rounded values, to measure half precision's error where there are no fp16 kernels).
   */
  precision?: Precision;
}

export type Precision = 'fp32' | 'fp16' | 'fp16-emulated';

/** Nodes of the networks inside the step graph (inlined with these prefixes, and their gradients). */
export function isNetworkNode(node: Node): boolean {
  return /^(grad\/)?(score|dse_y|dse_xt)\//.test(node.name);
}

export const STEP_INPUTS = ['y', 'x0', 'e', 'z', 'coef'] as const;
export const STEP_OUTPUTS = { yNext: 'y_next', x0Pred: 'x0_pred', realism: 'e_realism', faithfulness: 'e_faithfulness' } as const;

/** L(v) = P v P^T over the last two axes (the official Resizer down then up). */
function lowPass(b: GraphBuilder, v: string, p: string, pT: string): string {
  return b.matmul(b.matmul(p, v), pT);
}

export function buildStepGraph(spec: StepGraphSpec): Graph {
  const S = spec.imageSize;
  const b = new GraphBuilder({ name: `step_${spec.sampler}_${spec.s1}_${spec.s2}`, opset: Math.max(spec.score.graph.opset, spec.dse?.graph.opset ?? 0, 17) });
  const img = ['batch', 3, S, S];
  const y = b.input('y', DType.FLOAT, img);
  const x0 = b.input('x0', DType.FLOAT, img);
  const e = b.input('e', DType.FLOAT, img);
  const z = b.input('z', DType.FLOAT, img);
  const coef = b.input('coef', DType.FLOAT, ['batch', NUM_COEFS]);
  const cols = b.split(coef, new Array(NUM_COEFS).fill(1), 1); // each [N, 1]
  const c = (k: number) => b.unsqueeze(cols[k], [2, 3]); // [N, 1, 1, 1]
  const t = b.squeeze(cols[COEF.t], [1]); // [N]

  // 1. xt = sqrt(abar_i) x0 + sqrt(1 - abar_i) e (the same e every step)
  const xt = b.add(b.mul(c(COEF.sqrtAbar), x0), b.mul(c(COEF.sqrtOneMinusAbar), e));
  // 2. eps = score(y, i); learned sigma: the first 3 of 6 channels
  const out = inlineGraph(b, spec.score.graph, { [spec.score.input]: y, [spec.score.timestep]: t }, { prefix: 'score' })[spec.score.output];
  const eps = spec.score.kind === 'adm-learned-sigma' ? b.slice(out, [0], [3], [1]) : out;
  // 3. mean = (y - beta_i / sqrt(1 - abar_i) eps) / sqrt(alpha_i)
  let mean = b.mul(b.sub(y, b.mul(c(COEF.epsCoef), eps)), c(COEF.meanCoef));
  const P = lowPassOperator(S, spec.downN);
  const p = b.initializer('lowpass/P', { dtype: DType.FLOAT, dims: [S, S], data: matrixToFloat32(P) });
  const pT = b.initializer('lowpass/PT', { dtype: DType.FLOAT, dims: [S, S], data: matrixToFloat32(transpose(P)) });

  switch (spec.sampler) {
    case 'egsde': {
      if (!spec.dse) throw new Error('EGSDE needs a DSE model');
      const seeds = new Map<string, string>();
      // 4. realism expert: E_s between DSE features of y and of xt; its gradient through the DSE
      const dse = spec.dse;
      const fx = inlineGraph(b, dse.graph, { [dse.input]: xt, [dse.timestep]: t }, { prefix: 'dse_xt', weightsPrefix: 'dse' })[dse.output];
      const fy = inlineGraph(b, dse.graph, { [dse.input]: y, [dse.timestep]: t }, { prefix: 'dse_y', weightsPrefix: 'dse' })[dse.output];
      const es = realismEnergy(b, fy, fx, spec.s1);
      seeds.set(es, b.squeeze(cols[COEF.realismWeight], [1]));
      // 5. faithfulness expert on L = up(down(.))
      const lx = lowPass(b, xt, p, pT);
      const ly = lowPass(b, y, p, pT);
      let ei: string;
      let faithGrad: string | null = null;
      switch (spec.s2) {
        case 'neg_l2': {
          // E_i = sum (L(xt) - L(y))^2; grad_y E_i = -2 L^T (L(xt) - L(y)), closed form
          const d = b.sub(lx, ly);
          ei = b.reduceSum(b.mul(d, d), [1, 2, 3], false);
          faithGrad = b.mul(b.scale(lowPass(b, d, pT, p), -2), c(COEF.faithfulnessWeight));
          break;
        }
        case 'cosine':
          // E_i = -cos(L(xt), L(y)): through the autodiff (MatMul is differentiable)
          ei = b.neg(cosineEnergy(b, lx, ly));
          seeds.set(ei, b.squeeze(cols[COEF.faithfulnessWeight], [1]));
          break;
      }
      // weighted gradients in one backward pass: seeds are lambda * w per sample
      const g = appendGradients(b, seeds, [y]).get(y)!;
      mean = b.sub(mean, g);
      if (faithGrad) mean = b.sub(mean, faithGrad);
      b.output(es, STEP_OUTPUTS.realism);
      b.output(ei, STEP_OUTPUTS.faithfulness);
      break;
    }
    case 'sdedit':
      break;
    case 'ilvr':
      break;
  }
  // 6. y = mean + sigma_i z (sigma = 0 at the last step)
  let yNext = b.add(mean, b.mul(c(COEF.sigma), z));
  if (spec.sampler === 'ilvr') {
    // ILVR: y <- y - L(y) + L(x_ref), x_ref the source noised to the new time (same e)
    const xref = b.add(b.mul(c(COEF.sqrtAbarPrev), x0), b.mul(c(COEF.sqrtOneMinusAbarPrev), e));
    yNext = b.add(b.sub(yNext, lowPass(b, yNext, p, pT)), lowPass(b, xref, p, pT));
  }
  b.output(yNext, STEP_OUTPUTS.yNext);
  // predicted clean image, for previews: (y - sqrt(1 - abar) eps) / sqrt(abar)
  b.output(b.div(b.sub(y, b.mul(c(COEF.sqrtOneMinusAbar), eps)), c(COEF.sqrtAbar)), STEP_OUTPUTS.x0Pred);
  const graph = pruneGraph(b.graph);
  const precision = spec.precision ?? 'fp32';
  if (precision === 'fp32') return graph;
  return convertToFloat16(graph, { inHalf: isNetworkNode, mode: precision === 'fp16' ? 'fp16' : 'emulate' });
}
