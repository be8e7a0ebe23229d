/**
 * guided-diffusion's UNetModel (ADM) and EncoderUNetModel trunk (openai/guided-diffusion
 * guided_diffusion/unet.py) as graph builders. Parameter names are the official state_dict keys.
 * EGSDE uses the encoder up to its middle block as the domain-specific extractor (DSE_inference).
 */
import { GraphBuilder } from '../onnx/builder';
import { Graph } from '../onnx/ir';
import { DType } from '../onnx/tensor';
import { NetBuilder, timestepEmbedding } from './layers';
import { WeightSource } from './weights';

export interface AdmConfig {
  imageSize: number;
  inChannels: number;
  modelChannels: number;
  /** UNet only: 6 with learned sigma */
  outChannels: number;
  numResBlocks: number;
  /** downsample rates (ds) at which attention runs, e.g. imageSize / 16 */
  attentionResolutions: number[];
  channelMult: number[];
  /** heads = channels / numHeadChannels when set (> 0), else numHeads */
  numHeads: number;
  numHeadChannels: number;
  numHeadsUpsample?: number;
  useScaleShiftNorm: boolean;
  resblockUpdown: boolean;
  /** Downsample/Upsample with a conv (when not resblockUpdown). Default true. */
  convResample?: boolean;
}

const GN_GROUPS = 32;
const GN_EPS = 1e-5;

class Adm {
  readonly b: GraphBuilder;
  constructor(readonly nb: NetBuilder, readonly cfg: AdmConfig) {
    this.b = nb.b;
  }

  norm(x: string, prefix: string, ch: number): string {
    return this.nb.groupNorm(x, prefix, ch, GN_GROUPS, GN_EPS);
  }

  /** Upsample(use_conv=false): nearest x2; Downsample(use_conv=false): 2x2 average pool. */
  resample(x: string, dir: 'up' | 'down'): string {
    return dir === 'up' ? this.b.resize(x, [1, 1, 2, 2], 'nearest', 'asymmetric') : this.b.averagePool(x, { kernel: [2, 2], strides: [2, 2] });
  }

  resBlock(x: string, emb: string, p: string, ch: number, outCh: number, updown?: 'up' | 'down'): string {
    const { nb, b, cfg } = this;
    let h = nb.silu(this.norm(x, `${p}.in_layers.0`, ch));
    let skipIn = x;
    if (updown) {
      h = this.resample(h, updown);
      skipIn = this.resample(x, updown);
    }
    h = nb.conv2d(h, `${p}.in_layers.2`, ch, outCh, 3, { pad: 1 });
    const embOut = b.unsqueeze(nb.linear(nb.silu(emb), `${p}.emb_layers.1`, cfg.modelChannels * 4, cfg.useScaleShiftNorm ? 2 * outCh : outCh), [2, 3]);
    if (cfg.useScaleShiftNorm) {
      const [scale, shift] = b.split(embOut, [outCh, outCh], 1);
      h = b.add(b.mul(this.norm(h, `${p}.out_layers.0`, outCh), b.add(b.scalar(1), scale)), shift);
      h = nb.silu(h);
    } else {
      h = nb.silu(this.norm(b.add(h, embOut), `${p}.out_layers.0`, outCh));
    }
    h = nb.conv2d(h, `${p}.out_layers.3`, outCh, outCh, 3, { pad: 1 });
    const skip = outCh === ch ? skipIn : nb.conv2d(skipIn, `${p}.skip_connection`, ch, outCh, 1);
    return b.add(skip, h);
  }

  /** AttentionBlock with QKVAttentionLegacy (use_new_attention_order=False). */
  attention(x: string, p: string, ch: number, heads: number): string {
    const { nb, b } = this;
    const [, , H, W] = b.shape(x) as number[];
    const L = H * W;
    const flat = b.reshape(x, [0, ch, L]);
    const qkv = nb.conv(this.norm(flat, `${p}.norm`, ch), `${p}.qkv`, ch, 3 * ch, [1]);
    const c = ch / heads;
    const [q, k, v] = b.split(b.reshape(qkv, [-1, 3 * c, L]), [c, c, c], 1);
    const scale = 1 / Math.sqrt(Math.sqrt(c));
    const weight = b.softmax(b.einsum('bct,bcs->bts', b.scale(q, scale), b.scale(k, scale)), -1);
    const a = b.reshape(b.einsum('bts,bcs->bct', weight, v), [-1, ch, L]);
    const h = nb.conv(a, `${p}.proj_out`, ch, ch, [1]);
    return b.reshape(b.add(flat, h), [0, ch, H, W]);
  }

  heads(ch: number, upsample = false): number {
    const { cfg } = this;
    if (cfg.numHeadChannels > 0) return ch / cfg.numHeadChannels;
    return upsample ? cfg.numHeadsUpsample ?? cfg.numHeads : cfg.numHeads;
  }

  timeEmbedding(t: string): string {
    const { nb, cfg } = this;
    const d = cfg.modelChannels * 4;
    const e = timestepEmbedding(this.b, t, cfg.modelChannels, 'adm');
    return nb.linear(nb.silu(nb.linear(e, 'time_embed.0', cfg.modelChannels, d)), 'time_embed.2', d, d);
  }

  /** input_blocks and middle_block; returns the skip activations too. */
  encoder(x: string, emb: string): { h: string; hs: string[]; chans: number[]; ch: number; ds: number } {
    const { nb, cfg } = this;
    let ch = cfg.channelMult[0] * cfg.modelChannels;
    let h = nb.conv2d(x, 'input_blocks.0.0', cfg.inChannels, ch, 3, { pad: 1 });
    const hs = [h];
    const chans = [ch];
    let ds = 1;
    let block = 1;
    cfg.channelMult.forEach((mult, level) => {
      for (let r = 0; r < cfg.numResBlocks; r++) {
        const out = mult * cfg.modelChannels;
        h = this.resBlock(h, emb, `input_blocks.${block}.0`, ch, out);
        ch = out;
        if (cfg.attentionResolutions.includes(ds)) h = this.attention(h, `input_blocks.${block}.1`, ch, this.heads(ch));
        hs.push(h);
        chans.push(ch);
        block++;
      }
      if (level !== cfg.channelMult.length - 1) {
        const p = `input_blocks.${block}.0`;
        if (cfg.resblockUpdown) h = this.resBlock(h, emb, p, ch, ch, 'down');
        else h = cfg.convResample === false ? this.resample(h, 'down') : nb.conv2d(h, `${p}.op`, ch, ch, 3, { stride: 2, pad: 1 });
        hs.push(h);
        chans.push(ch);
        ds *= 2;
        block++;
      }
    });
    h = this.resBlock(h, emb, 'middle_block.0', ch, ch);
    h = this.attention(h, 'middle_block.1', ch, this.heads(ch));
    h = this.resBlock(h, emb, 'middle_block.2', ch, ch);
    return { h, hs, chans, ch, ds };
  }

  unet(x: string, t: string): string {
    const { nb, b, cfg } = this;
    const emb = this.timeEmbedding(t);
    let { h, hs, chans, ch, ds } = this.encoder(x, emb);
    let block = 0;
    [...cfg.channelMult.entries()].reverse().forEach(([level, mult]) => {
      for (let i = 0; i <= cfg.numResBlocks; i++) {
        const ich = chans.pop()!;
        const out = cfg.modelChannels * mult;
        const p = `output_blocks.${block}`;
        h = this.resBlock(b.concat([h, hs.pop()!], 1), emb, `${p}.0`, ch + ich, out);
        ch = out;
        let layer = 1;
        if (cfg.attentionResolutions.includes(ds)) h = this.attention(h, `${p}.${layer++}`, ch, this.heads(ch, true));
        if (level && i === cfg.numResBlocks) {
          if (cfg.resblockUpdown) h = this.resBlock(h, emb, `${p}.${layer}`, ch, ch, 'up');
          else {
            h = this.resample(h, 'up');
            if (cfg.convResample !== false) h = nb.conv2d(h, `${p}.${layer}.conv`, ch, ch, 3, { pad: 1 });
          }
          ds /= 2;
        }
        block++;
      }
    });
    h = nb.silu(this.norm(h, 'out.0', ch));
    return nb.conv2d(h, 'out.2', cfg.modelChannels * cfg.channelMult[0], cfg.outChannels, 3, { pad: 1 });
  }
}

function graphShell(name: string, cfg: { imageSize: number; inChannels: number }): { b: GraphBuilder; x: string; t: string } {
  const b = new GraphBuilder({ name, opset: 17 });
  const x = b.input('x', DType.FLOAT, ['batch', cfg.inChannels, cfg.imageSize, cfg.imageSize]);
  const t = b.input('t', DType.FLOAT, ['batch']);
  return { b, x, t };
}

/** ADM UNetModel: inputs x [N,C,S,S], t [N]; output `out` [N, outChannels, S, S]. */
export function buildAdmUNet(cfg: AdmConfig, weights: WeightSource): Graph {
  const { b, x, t } = graphShell('adm_unet', cfg);
  b.output(new Adm(new NetBuilder(b, weights), cfg).unet(x, t), 'out');
  weights.finish();
  return b.graph;
}

/** EncoderUNetModel up to the middle block: inputs x, t; output `features` [N, C, S/2^k, S/2^k]. */
export function buildEncoderTrunk(cfg: Omit<AdmConfig, 'outChannels'>, weights: WeightSource): Graph {
  const { b, x, t } = graphShell('dse', cfg);
  const adm = new Adm(new NetBuilder(b, weights), { ...cfg, outChannels: 0 });
  b.output(adm.encoder(x, adm.timeEmbedding(t)).h, 'features');
  weights.finish();
  return b.graph;
}

/** The classifier head's keys (guided-diffusion out.*, EGSDE's I2Iout.*): present in official DSE checkpoints, unused by the trunk. */
export const isEncoderHeadKey = (k: string): boolean => k.startsWith('out.') || k.startsWith('I2Iout.');
