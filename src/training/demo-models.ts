/**
 * The demo pack's networks (small versions of the paper's architectures, 32 px) and their loss
 * graphs: the score model's DDPM noise-prediction loss, the time-dependent domain classifier's
 * cross-entropy on noised images (the DSE is its trunk), and an independent clean-image
 * classifier for evaluation (realism FID features and target accuracy).
 */
import { GraphBuilder } from '../engine/toolkit';
import { Graph } from '../engine/toolkit';
import { DType } from '../engine/toolkit';
import { AdmConfig, buildAdmUNet, buildEncoderTrunk } from '../engine/toolkit';
import { NetBuilder } from '../engine/toolkit';
import { WeightSource } from '../engine/toolkit';

export const DEMO_SIZE = 32;

export const DEMO_SCORE: AdmConfig = {
  imageSize: DEMO_SIZE,
  inChannels: 3,
  modelChannels: 32,
  outChannels: 3,
  numResBlocks: 1,
  attentionResolutions: [4],
  channelMult: [1, 2, 2],
  numHeads: 1,
  numHeadChannels: 32,
  useScaleShiftNorm: true,
  resblockUpdown: true,
};

/** The DSE trunk: the score model's encoder configuration (its own weights). */
export const DEMO_DSE: Omit<AdmConfig, 'outChannels'> = (({ outChannels: _unused, ...encoder }) => encoder)(DEMO_SCORE);

/** channels of the DSE features (after the middle block) */
export const DEMO_DSE_FEATURES = DEMO_DSE.modelChannels * DEMO_DSE.channelMult[DEMO_DSE.channelMult.length - 1];

/** loss = mean((score(x_t, t) - eps)^2); inputs x, t, eps. */
export function scoreLossGraph(weights: WeightSource): Graph {
  const g = buildAdmUNet(DEMO_SCORE, weights);
  const b = new GraphBuilder(g);
  const eps = b.input('eps', DType.FLOAT, ['batch', 3, DEMO_SIZE, DEMO_SIZE]);
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
export function dseLossGraph(weights: WeightSource): Graph {
  const g = buildEncoderTrunk(DEMO_DSE, weights);
  const b = new GraphBuilder(g);
  const logits = linearHead(new NetBuilder(b, weights), 'features', DEMO_DSE_FEATURES, 2);
  b.output(logits, 'logits');
  b.output(crossEntropy(b, logits, 2), 'loss');
  g.outputs = g.outputs.filter((o) => o.name !== 'features');
  return g;
}

export const EVAL_FEATURES = 64;

/**
 * The evaluation classifier (independent of the DSE): three conv-ReLU stages with 2x2 max pools,
 * global average pool (the FID features, 64-d), linear head. Inputs x; outputs features, logits
 * (and loss with `withLoss`).
 */
export function evalClassifierGraph(weights: WeightSource, withLoss: boolean): Graph {
  const b = new GraphBuilder({ name: 'eval_classifier', opset: 17 });
  const nb = new NetBuilder(b, weights);
  const x = b.input('x', DType.FLOAT, ['batch', 3, DEMO_SIZE, DEMO_SIZE]);
  let h = b.relu(nb.conv2d(x, 'conv1', 3, 32, 3, { pad: 1 }));
  h = b.maxPool(h, { kernel: [2, 2], strides: [2, 2] });
  h = b.relu(nb.conv2d(h, 'conv2', 32, 64, 3, { pad: 1 }));
  h = b.maxPool(h, { kernel: [2, 2], strides: [2, 2] });
  h = b.relu(nb.conv2d(h, 'conv3', 64, EVAL_FEATURES, 3, { pad: 1 }));
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
