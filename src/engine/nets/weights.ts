/**
 * Where a network builder gets its parameters: a state_dict (weights load by the official key
 * names; missing, extra and mis-shaped keys are one clear error listing them) or seeded random
 * initialisation (for training from scratch and for smoke tests of big presets).
 */
import { EngineError } from '../errors';
import { Rng } from '../sampling/random';

export type ParamKind = 'weight' | 'bias' | 'norm_weight' | 'norm_bias';

export interface WeightSource {
  get(name: string, shape: number[], kind: ParamKind): Float32Array;
  /** Throw if the source had keys the architecture did not ask for, or asked-for keys failed. */
  finish(): void;
}

export interface NamedTensor {
  shape: number[];
  data: Float32Array | BigInt64Array;
}

const numel = (s: number[]) => s.reduce((p, d) => p * d, 1);

export class StateDictWeights implements WeightSource {
  private readonly used = new Set<string>();
  private readonly missing: string[] = [];
  private readonly misShaped: string[] = [];

  constructor(
    private readonly dict: ReadonlyMap<string, NamedTensor>,
    private readonly label: string,
    /** keys the architecture never reads (e.g. a classifier's pooling head) */
    private readonly ignore: (key: string) => boolean = () => false,
  ) {}

  get(name: string, shape: number[]): Float32Array {
    this.used.add(name);
    const t = this.dict.get(name);
    if (!t) {
      this.missing.push(`${name} [${shape}]`);
      return new Float32Array(numel(shape));
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      this.misShaped.push(`${name}: checkpoint [${t.shape}], architecture [${shape}]`);
      return new Float32Array(numel(shape));
    }
    if (!(t.data instanceof Float32Array)) {
      this.misShaped.push(`${name}: not a float tensor`);
      return new Float32Array(numel(shape));
    }
    return t.data;
  }

  finish(): void {
    const extra = [...this.dict.keys()].filter((k) => !this.used.has(k) && !this.ignore(k));
    if (!this.missing.length && !this.misShaped.length && !extra.length) return;
    const list = (title: string, items: string[]) => (items.length ? `\n  ${title} (${items.length}): ${items.slice(0, 20).join(', ')}${items.length > 20 ? ', ...' : ''}` : '');
    throw new EngineError(
      'nets/weights_mismatch',
      `${this.label}: the state_dict does not fit the architecture${list('missing', this.missing)}${list('mis-shaped', this.misShaped)}${list('unexpected', extra)}`,
      { missing: this.missing, misShaped: this.misShaped, unexpected: extra },
    );
  }
}

/** Seeded initialisation: N(0, 1/fan_in) weights, zero biases, unit norm scales. */
export class RandomWeights implements WeightSource {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  get(_name: string, shape: number[], kind: ParamKind): Float32Array {
    const n = numel(shape);
    switch (kind) {
      case 'bias':
      case 'norm_bias':
        return new Float32Array(n);
      case 'norm_weight':
        return new Float32Array(n).fill(1);
      case 'weight':
        return this.rng.normals(n, 1 / Math.sqrt(Math.max(1, n / shape[0])));
    }
  }
  finish(): void {}
}
