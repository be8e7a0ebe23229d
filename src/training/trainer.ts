/**
 * Training with the project's own autodiff on onnxruntime-node: the loss graph's parameters become
 * graph inputs, one combined forward+backward session gives the loss and every parameter's
 * gradient, Adam updates them on the host. Checkpoints hold parameters, Adam and EMA state and
 * the data generator's position, so a run resumes where it stopped.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Graph } from '../engine/toolkit';
import { buildGradientGraph, cotangentName, gradientName } from '../engine/toolkit';
import { promoteInitializers } from '../engine/toolkit';
import { GraphSession, HostTensor } from '../engine/toolkit';
import { Adam, AdamOptions } from './adam';

export interface TrainerOptions extends AdamOptions {
  /** exponential moving average of the parameters (0 = off). Default 0. */
  emaDecay?: number;
  /** linear warm-up of the learning rate over this many steps. Default 0. */
  warmup?: number;
  /** onnxruntime intra-op threads. Default: all cores. */
  threads?: number;
}

export class Trainer {
  readonly params = new Map<string, Float32Array>();
  readonly shapes = new Map<string, number[]>();
  readonly ema = new Map<string, Float32Array>();
  readonly adam: Adam;
  iteration = 0;
  extra: Record<string, number> = {};

  private constructor(
    private readonly session: GraphSession,
    readonly names: string[],
    private readonly opts: TrainerOptions,
  ) {
    this.adam = new Adam(opts);
  }

  /** `graph` has a scalar output `loss`; `trainable` are initializer names. */
  static async create(graph: Graph, trainable: string[], opts: TrainerOptions): Promise<Trainer> {
    const { graph: g, feeds } = promoteInitializers(graph, trainable);
    const { graph: gg } = buildGradientGraph(g, { outputs: ['loss'], wrt: trainable });
    const session = await GraphSession.create(gg, { intraOpThreads: opts.threads });
    const t = new Trainer(session, trainable, opts);
    for (const n of trainable) {
      t.params.set(n, feeds[n].data as Float32Array);
      t.shapes.set(n, feeds[n].dims);
      if (opts.emaDecay) t.ema.set(n, Float32Array.from(feeds[n].data as Float32Array));
    }
    return t;
  }

  /** One optimisation step on a batch; returns the loss. */
  async step(batch: Record<string, HostTensor>): Promise<number> {
    const feeds: Record<string, HostTensor> = { ...batch, [cotangentName('loss')]: { data: Float32Array.of(1), dims: [] } };
    for (const [n, p] of this.params) feeds[n] = { data: p, dims: this.shapes.get(n)! };
    const out = await this.session.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const n of this.names) grads.set(n, out[gradientName(n)].data as Float32Array);
    const warm = this.opts.warmup ? Math.min(1, (this.iteration + 1) / this.opts.warmup) : 1;
    this.adam.update(this.params, grads, this.opts.lr * warm);
    const d = this.opts.emaDecay;
    if (d) {
      for (const [n, p] of this.params) {
        const e = this.ema.get(n)!;
        for (let i = 0; i < p.length; i++) e[i] = d * e[i] + (1 - d) * p[i];
      }
    }
    this.iteration += 1;
    return (out.loss.data as Float32Array)[0];
  }

  /** The trained parameters (EMA when enabled) as a state dict. */
  stateDict(useEma = true): Map<string, { shape: number[]; data: Float32Array }> {
    const src = useEma && this.ema.size ? this.ema : this.params;
    return new Map([...src].map(([n, d]) => [n, { shape: this.shapes.get(n)!, data: d }]));
  }

  /** Write a checkpoint atomically: a JSON header line, then float32 blocks. */
  save(file: string): void {
    const blocks: { key: string; data: Float32Array }[] = [];
    for (const n of this.names) {
      blocks.push({ key: `p:${n}`, data: this.params.get(n)! });
      const m = this.adam.m.get(n);
      const v = this.adam.v.get(n);
      if (m && v) blocks.push({ key: `m:${n}`, data: m }, { key: `v:${n}`, data: v });
      const e = this.ema.get(n);
      if (e) blocks.push({ key: `e:${n}`, data: e });
    }
    const header = JSON.stringify({ iteration: this.iteration, adamStep: this.adam.step, extra: this.extra, blocks: blocks.map((b) => [b.key, b.data.length]) });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, `${header}\n`);
    for (const b of blocks) fs.writeSync(fd, new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength));
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  }

  /** Restore from a checkpoint written by save(); returns false when there is none. */
  load(file: string): boolean {
    if (!fs.existsSync(file)) return false;
    const buf = fs.readFileSync(file);
    const nl = buf.indexOf(10);
    const header = JSON.parse(buf.subarray(0, nl).toString('utf8')) as { iteration: number; adamStep: number; extra: Record<string, number>; blocks: [string, number][] };
    let off = nl + 1;
    for (const [key, n] of header.blocks) {
      const data = new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * n));
      off += 4 * n;
      const [kind, name] = [key.slice(0, 1), key.slice(2)];
      if (!this.params.has(name)) throw new Error(`${file}: checkpoint has ${name}, which the model does not`);
      if (kind === 'p') this.params.get(name)!.set(data);
      else if (kind === 'm') this.adam.m.set(name, data);
      else if (kind === 'v') this.adam.v.set(name, data);
      else if (kind === 'e') this.ema.set(name, data);
    }
    this.iteration = header.iteration;
    this.adam.step = header.adamStep;
    this.extra = header.extra;
    return true;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
