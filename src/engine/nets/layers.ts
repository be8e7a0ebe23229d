/**
 * Layers shared by the networks, as graph ops on the project's builder, with parameters named
 * like the PyTorch modules' state_dict keys (`${prefix}.weight`, `${prefix}.bias`).
 */
import { GraphBuilder } from '../onnx/builder';
import { DType, floatTensor } from '../onnx/tensor';
import { ParamKind, WeightSource } from './weights';

export class NetBuilder {
  constructor(readonly b: GraphBuilder, readonly weights: WeightSource) {}

  param(name: string, shape: number[], kind: ParamKind): string {
    return this.b.initializer(name, { dtype: DType.FLOAT, dims: shape, data: this.weights.get(name, shape, kind) }, true);
  }

  /** nn.Conv2d / nn.Conv1d (1-D when k is [k]). */
  conv(x: string, prefix: string, cin: number, cout: number, k: number[], o: { stride?: number; pad?: number; bias?: boolean } = {}): string {
    const w = this.param(`${prefix}.weight`, [cout, cin, ...k], 'weight');
    const bias = o.bias === false ? undefined : this.param(`${prefix}.bias`, [cout], 'bias');
    const pad = o.pad ?? 0;
    return this.b.conv(x, w, bias, { pads: [...k.map(() => pad), ...k.map(() => pad)], strides: k.map(() => o.stride ?? 1) });
  }

  conv2d(x: string, prefix: string, cin: number, cout: number, k: number, o: { stride?: number; pad?: number } = {}): string {
    return this.conv(x, prefix, cin, cout, [k, k], o);
  }

  /** nn.Linear: x W^T + b */
  linear(x: string, prefix: string, fin: number, fout: number): string {
    const w = this.param(`${prefix}.weight`, [fout, fin], 'weight');
    const bias = this.param(`${prefix}.bias`, [fout], 'bias');
    return this.b.gemm(x, w, bias, { transB: true });
  }

  /**
   * nn.GroupNorm(groups, C, eps) on [N, C, ...], as torch exports it: InstanceNormalization over
   * [N, groups, -1] with unit scale, then the per-channel affine.
   */
  groupNorm(x: string, prefix: string, channels: number, groups: number, eps: number): string {
    const b = this.b;
    const rank = b.rank(x);
    const grouped = b.reshape(x, [0, groups, -1]);
    const normed = b.instanceNorm(grouped, b.floats([groups], new Float32Array(groups).fill(1)), b.floats([groups], new Float32Array(groups)), eps);
    const back = b.reshape(normed, b.shapeOf(x));
    const tail = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    const w = b.unsqueeze(this.param(`${prefix}.weight`, [channels], 'norm_weight'), tail);
    const bias = b.unsqueeze(this.param(`${prefix}.bias`, [channels], 'norm_bias'), tail);
    return b.add(b.mul(back, w), bias);
  }

  silu(x: string): string {
    return this.b.silu(x);
  }
}

/**
 * Sinusoidal timestep embedding [N, dim] of float timesteps [N]:
 * guided-diffusion `timestep_embedding`: freqs exp(-ln(10000) i / half), cat[cos, sin];
 * ddim `get_timestep_embedding`: freqs exp(-ln(10000) i / (half - 1)), cat[sin, cos].
 */
export function timestepEmbedding(b: GraphBuilder, t: string, dim: number, flavour: 'adm' | 'ddpm'): string {
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  const f = Math.fround;
  for (let i = 0; i < half; i++) {
    // as the official float32 torch ops compute them (the Python scalar is cast to float32 first)
    freqs[i] = flavour === 'adm' ? Math.exp(f(f(f(-Math.log(10000)) * i) / half)) : Math.exp(f(i * f(-(Math.log(10000) / (half - 1)))));
  }
  const args = b.mul(b.unsqueeze(t, [1]), b.constant(floatTensor([1, half], freqs)));
  const parts = flavour === 'adm' ? [b.cos(args), b.sin(args)] : [b.sin(args), b.cos(args)];
  let emb = b.concat(parts, 1);
  if (dim % 2) emb = b.pad(emb, [0, 0, 0, 1]);
  return emb;
}
