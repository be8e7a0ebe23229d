/**
 * The networks `egsde train` trains (small versions of the paper's architectures, 32 or 64 px)
 * and their loss graphs: the score model's DDPM noise-prediction loss, the time-dependent domain
 * classifier's cross-entropy on noised images (the DSE is its trunk), and an independent
 * clean-image classifier for evaluation (realism FID features and target accuracy). Class 0 is
 * the source domain, class 1 the target.
 */
import { GraphBuilder } from '../engine/toolkit';
import { Graph } from '../engine/toolkit';
import { DType } from '../engine/toolkit';
import { AdmConfig } from '../engine/toolkit';
import { NetBuilder } from '../engine/toolkit';
import { WeightSource } from '../engine/toolkit';
import { buildAdmUNet, buildEncoderTrunk } from '../engine/toolkit';

/** The image sizes `egsde train` builds networks for. */
export const TRAIN_SIZES = [32, 64] as const;
export type TrainSize = (typeof TRAIN_SIZES)[number];

export const DEMO_SIZE = 32;

/**
 * The score model at each size: 32 px is the demo pack's (three levels, attention at 8x8); 64 px
 * adds a level so that attention again runs at 8x8 and the bottleneck stays 8x8.
 */
export function scoreConfig(size: TrainSize): AdmConfig {
  return {
    imageSize: size,
    inChannels: 3,
    modelChannels: 32,
    outChannels: 3,
    numResBlocks: 1,
    attentionResolutions: [size / 8],
    channelMult: size === 32 ? [1, 2, 2] : [1, 2, 2, 2],
    numHeads: 1,
    numHeadChannels: 32,
    useScaleShiftNorm: true,
    resblockUpdown: true,
  };
}

/** The DSE trunk: the score model's encoder configuration (its own weights). */
export function dseConfig(size: TrainSize): Omit<AdmConfig, 'outChannels'> {
  const { outChannels: _unused, ...encoder } = scoreConfig(size);
  return encoder;
}

/** channels of the DSE features (after the middle block) */
export function dseFeatures(size: TrainSize): number {
  const c = dseConfig(size);
  return c.modelChannels * c.channelMult[c.channelMult.length - 1];
}

export const DEMO_SCORE: AdmConfig = scoreConfig(DEMO_SIZE);
export const DEMO_DSE = dseConfig(DEMO_SIZE);

/** The score model for inference, its weights from `weights`. */
export function scoreGraph(size: TrainSize, weights: WeightSource): Graph {
  return buildAdmUNet(scoreConfig(size), weights);
}

/** The DSE trunk for inference (the classifier's head left out). */
export function dseGraph(size: TrainSize, weights: WeightSource): Graph {
  return buildEncoderTrunk(dseConfig(size), weights);
}

/** loss = mean((score(x_t, t) - eps)^2); inputs x, t, eps. */
export function scoreLossGraph(weights: WeightSource, size: TrainSize = DEMO_SIZE): Graph {
  const g = scoreGraph(size, weights);
  const b = new GraphBuilder(g);
  const eps = b.input('eps', DType.FLOAT, ['batch', 3, size, size]);
  const d = b.sub('out', eps);
  b.output(b.reduceMean(b.mul(d, d), [0, 1, 2, 3], false), 'loss');
  g.outputs = g.outputs.filter((o) => o.name === 'loss');
  return g;
}

/** -mean(sum(onehot * log_softmax(logits))); logits [N, K] in `logits`. */
function crossEntropy(b: GraphBuilder, logits: string, classes: number): string {
  const onehot = b.input('onehot', DType.FLOAT, ['batch', classes]);
  const ll = b.reduceSum(b.mul(onehot, b.op('LogSoftmax', [logits], { axis: 1 })), [1], false);
  return b.neg(b.reduceMean(ll, [0], false));
}

/** Global average pool + linear head `head.*` on [N, C, h, w] features. */
function linearHead(nb: NetBuilder, features: string, channels: number, classes: number): string {
  const pooled = nb.b.op('Flatten', [nb.b.op('GlobalAveragePool', [features])], { axis: 1 });
  return nb.linear(pooled, 'head', channels, classes);
}

/** The time-dependent domain classifier: DSE trunk + head; inputs x, t, onehot; output loss. */
export function dseLossGraph(weights: WeightSource, size: TrainSize = DEMO_SIZE): Graph {
  const g = dseGraph(size, weights);
  const b = new GraphBuilder(g);
  const logits = linearHead(new NetBuilder(b, weights), 'features', dseFeatures(size), 2);
  b.output(logits, 'logits');
  b.output(crossEntropy(b, logits, 2), 'loss');
  g.outputs = g.outputs.filter((o) => o.name !== 'features');
  return g;
}

export const EVAL_FEATURES = 64;

/**
 * The evaluation classifier (independent of the DSE): conv-ReLU stages with 2x2 max pools down to
 * 8x8 (three at 32 px, four at 64 px), global average pool (the FID features, 64-d), linear head.
 * Inputs x; outputs features, logits (and loss with `withLoss`).
 */
export function evalClassifierGraph(weights: WeightSource, withLoss: boolean, size: TrainSize = DEMO_SIZE): Graph {
  const b = new GraphBuilder({ name: 'eval_classifier', opset: 17 });
  const nb = new NetBuilder(b, weights);
  const x = b.input('x', DType.FLOAT, ['batch', 3, size, size]);
  const widths = size === 32 ? [32, 64, EVAL_FEATURES] : [32, 64, 64, EVAL_FEATURES];
  let h = x;
  let inC = 3;
  widths.forEach((w, i) => {
    if (i > 0) h = b.maxPool(h, { kernel: [2, 2], strides: [2, 2] });
    h = b.relu(nb.conv2d(h, `conv${i + 1}`, inC, w, 3, { pad: 1 }));
    inC = w;
  });
  const features = b.op('Flatten', [b.op('GlobalAveragePool', [h])], { axis: 1 });
  const logits = nb.linear(features, 'head', EVAL_FEATURES, 2);
  b.output(features, 'features');
  b.output(logits, 'logits');
  if (withLoss) {
    b.output(crossEntropy(b, logits, 2), 'loss');
    b.graph.outputs = b.graph.outputs.filter((o) => o.name === 'loss');
  }
  weights.finish();
  return b.graph;
}
