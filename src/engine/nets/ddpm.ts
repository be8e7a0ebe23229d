/**
 * The DDPM UNet of the ddim codebase (ermongroup/ddim models/diffusion.py `Model`) as a graph
 * builder; parameter names are its state_dict keys. Output eps, [N, outCh, S, S].
 */
import { Graph } from '../onnx/ir';
import { GraphBuilder } from '../onnx/builder';
import { DType } from '../onnx/tensor';
import { NetBuilder, timestepEmbedding } from './layers';
import { WeightSource } from './weights';

export interface DdpmConfig {
  imageSize: number;
  inChannels: number;
  ch: number;
  outCh: number;
  chMult: number[];
  numResBlocks: number;
  /** resolutions (pixels) with attention, e.g. [16] */
  attnResolutions: number[];
  resampWithConv: boolean;
}

const GN_EPS = 1e-6;

class Ddpm {
  readonly b: GraphBuilder;
  constructor(readonly nb: NetBuilder, readonly cfg: DdpmConfig) {
    this.b = nb.b;
  }

  norm(x: string, p: string, ch: number): string {
    return this.nb.groupNorm(x, p, ch, 32, GN_EPS);
  }

  resnet(x: string, temb: string, p: string, cin: number, cout: number): string {
    const { nb, b, cfg } = this;
    let h = nb.conv2d(nb.silu(this.norm(x, `${p}.norm1`, cin)), `${p}.conv1`, cin, cout, 3, { pad: 1 });
    h = b.add(h, b.unsqueeze(nb.linear(nb.silu(temb), `${p}.temb_proj`, cfg.ch * 4, cout), [2, 3]));
    h = nb.conv2d(nb.silu(this.norm(h, `${p}.norm2`, cout)), `${p}.conv2`, cout, cout, 3, { pad: 1 });
    const skip = cin === cout ? x : nb.conv2d(x, `${p}.nin_shortcut`, cin, cout, 1);
    return b.add(skip, h);
  }

  attn(x: string, p: string, c: number): string {
    const { nb, b } = this;
    const [, , H, W] = b.shape(x) as number[];
    const hn = this.norm(x, `${p}.norm`, c);
    const q = b.transpose(b.reshape(nb.conv2d(hn, `${p}.q`, c, c, 1), [0, c, H * W]), [0, 2, 1]);
    const k = b.reshape(nb.conv2d(hn, `${p}.k`, c, c, 1), [0, c, H * W]);
    const v = b.reshape(nb.conv2d(hn, `${p}.v`, c, c, 1), [0, c, H * W]);
    const w = b.softmax(b.scale(b.matmul(q, k), c ** -0.5), 2);
    const h = b.reshape(b.matmul(v, b.transpose(w, [0, 2, 1])), [0, c, H, W]);
    return b.add(x, nb.conv2d(h, `${p}.proj_out`, c, c, 1));
  }

  forward(x: string, t: string): string {
    const { nb, b, cfg } = this;
    const { ch, chMult } = cfg;
    let temb = timestepEmbedding(b, t, ch, 'ddpm');
    temb = nb.linear(nb.silu(nb.linear(temb, 'temb.dense.0', ch, ch * 4)), 'temb.dense.1', ch * 4, ch * 4);
    const hs = [nb.conv2d(x, 'conv_in', cfg.inChannels, ch, 3, { pad: 1 })];
    const chans = [ch];
    let res = cfg.imageSize;
    let blockIn = ch;
    chMult.forEach((mult, level) => {
      const blockOut = ch * mult;
      for (let i = 0; i < cfg.numResBlocks; i++) {
        let h = this.resnet(hs[hs.length - 1], temb, `down.${level}.block.${i}`, blockIn, blockOut);
        blockIn = blockOut;
        if (cfg.attnResolutions.includes(res)) h = this.attn(h, `down.${level}.attn.${i}`, blockIn);
        hs.push(h);
        chans.push(blockIn);
      }
      if (level !== chMult.length - 1) {
        const last = hs[hs.length - 1];
        // Downsample: pad (0, 1, 0, 1) then a stride-2 conv, or a 2x2 average pool
        hs.push(cfg.resampWithConv ? nb.conv2d(b.pad(last, [0, 0, 0, 0, 0, 0, 1, 1]), `down.${level}.downsample.conv`, blockIn, blockIn, 3, { stride: 2 }) : b.averagePool(last, { kernel: [2, 2], strides: [2, 2] }));
        chans.push(blockIn);
        res /= 2;
      }
    });
    let h = hs[hs.length - 1];
    h = this.resnet(h, temb, 'mid.block_1', blockIn, blockIn);
    h = this.attn(h, 'mid.attn_1', blockIn);
    h = this.resnet(h, temb, 'mid.block_2', blockIn, blockIn);
    for (let level = chMult.length - 1; level >= 0; level--) {
      const blockOut = ch * chMult[level];
      for (let i = 0; i <= cfg.numResBlocks; i++) {
        const skipCh = chans.pop()!;
        h = this.resnet(b.concat([h, hs.pop()!], 1), temb, `up.${level}.block.${i}`, blockIn + skipCh, blockOut);
        blockIn = blockOut;
        if (cfg.attnResolutions.includes(res)) h = this.attn(h, `up.${level}.attn.${i}`, blockIn);
      }
      if (level !== 0) {
        h = b.resize(h, [1, 1, 2, 2], 'nearest', 'asymmetric');
        if (cfg.resampWithConv) h = nb.conv2d(h, `up.${level}.upsample.conv`, blockIn, blockIn, 3, { pad: 1 });
        res *= 2;
      }
    }
    h = nb.silu(this.norm(h, 'norm_out', blockIn));
    return nb.conv2d(h, 'conv_out', blockIn, cfg.outCh, 3, { pad: 1 });
  }
}

/** DDPM UNet: inputs x [N,C,S,S], t [N]; output `eps`. */
export function buildDdpmUNet(cfg: DdpmConfig, weights: WeightSource): Graph {
  const b = new GraphBuilder({ name: 'ddpm_unet', opset: 17 });
  const x = b.input('x', DType.FLOAT, ['batch', cfg.inChannels, cfg.imageSize, cfg.imageSize]);
  const t = b.input('t', DType.FLOAT, ['batch']);
  b.output(new Ddpm(new NetBuilder(b, weights), cfg).forward(x, t), 'eps');
  weights.finish();
  return b.graph;
}
