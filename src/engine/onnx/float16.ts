/**
 * Half precision for part of a graph (the networks), the rest left in float32 (the sampler's
 * update): `convertToFloat16` rewrites the chosen nodes to compute in float16, with their
 * float initializers stored as float16 and a Cast at every edge between the two precisions.
 * `mode: 'emulate'` keeps every type float32 but rounds the chosen nodes' float outputs and
 * initializers to float16 values (a Cast round trip), so the rounding error of half precision can
 * be measured on a provider without float16 kernels (onnxruntime's CPU provider has few).
 */
import { Graph, Node } from './ir';
import { DType, Tensor } from './tensor';
import { inferShapes } from './shape-inference';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE float32 -> float16 bits, round to nearest even (overflow to infinity, NaN kept). */
export function float16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** float16 bits -> the float32 value. */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

function halfTensor(t: Tensor): Tensor {
  const src = t.data as Float32Array;
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float16Bits(src[i]);
  return { dtype: DType.FLOAT16, dims: t.dims, data: out };
}

function roundedTensor(t: Tensor): Tensor {
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float16Value(float16Bits(src[i]));
  return { dtype: DType.FLOAT, dims: t.dims, data: out };
}

/** Inputs that stay float32 whatever the op computes in (ONNX specs). */
function isFixedFloat(node: Node, i: number): boolean {
  return node.opType === 'Resize' && (i === 1 || i === 2);
}

export interface Float16Options {
  /** the nodes that compute in half precision */
  inHalf(node: Node): boolean;
  /** Default 'fp16'. */
  mode?: 'fp16' | 'emulate';
}

export function convertToFloat16(g: Graph, opts: Float16Options): Graph {
  const mode = opts.mode ?? 'fp16';
  const facts = inferShapes(g);
  const isFloat = (v: string) => facts.get(v)?.dtype === DType.FLOAT;
  const half = new Set(g.nodes.filter((n) => opts.inHalf(n)));
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const consumers = new Map<string, { node: Node; i: number }[]>();
  for (const n of g.nodes) n.inputs.forEach((v, i) => v && (consumers.get(v) ?? consumers.set(v, []).get(v)!).push({ node: n, i }));
  // constants read where float32 is required (Resize scales) stay float32
  for (const n of [...half]) {
    if (n.opType !== 'Constant') continue;
    if ((consumers.get(n.outputs[0]) ?? []).some((u) => isFixedFloat(u.node, u.i))) half.delete(n);
  }
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const initializers = new Map(g.initializers);
  const before: Node[] = [];
  const after = new Map<Node, Node[]>();
  let counter = 0;
  const cast = (x: string, to: DType, suffix: string): { node: Node; out: string } => {
    const out = `${x}/${suffix}`;
    return { node: { name: `fp16_cast_${counter++}`, opType: 'Cast', domain: '', inputs: [x], outputs: [out], attrs: { to: { type: 'int', value: to } } }, out };
  };

  // initializers only half nodes read (in T positions) are stored in half precision
  const halfInits = new Set<string>();
  for (const [name, t] of g.initializers) {
    if (t.dtype !== DType.FLOAT) continue;
    const uses = consumers.get(name) ?? [];
    if (uses.length && uses.every((u) => half.has(u.node) && !isFixedFloat(u.node, u.i)) && !graphOutputs.has(name)) {
      halfInits.add(name);
      initializers.set(name, mode === 'fp16' ? halfTensor(t) : roundedTensor(t));
    }
  }

  const nodes = g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], attrs: { ...n.attrs } }));
  const byOld = new Map(g.nodes.map((n, i) => [n, nodes[i]]));
  const toHalf = new Map<string, string>();
  const toSingle = new Map<string, string>();
  for (const [old, n] of byOld) {
    if (!half.has(old)) continue;
    if (mode === 'fp16') {
      if (n.opType === 'Cast' && n.attrs.to?.type === 'int' && n.attrs.to.value === DType.FLOAT) n.attrs.to = { type: 'int', value: DType.FLOAT16 };
      if ((n.opType === 'Constant' || n.opType === 'ConstantOfShape') && n.attrs.value?.type === 'tensor' && n.attrs.value.value.dtype === DType.FLOAT) n.attrs.value = { type: 'tensor', value: halfTensor(n.attrs.value.value) };
      // float inputs from outside the half region: one Cast each
      n.inputs.forEach((v, i) => {
        if (!v || !isFloat(v) || isFixedFloat(n, i) || halfInits.has(v)) return;
        const p = producer.get(v);
        if (p && half.has(p)) return;
        let h = toHalf.get(v);
        if (!h) {
          const c = cast(v, DType.FLOAT16, 'fp16');
          h = c.out;
          toHalf.set(v, h);
          if (p) (after.get(p) ?? after.set(p, []).get(p)!).push(c.node);
          else before.push(c.node);
        }
        n.inputs[i] = h;
      });
    }
    // float outputs read outside the region (or emulated: everywhere) go through a Cast
    for (const o of old.outputs) {
      if (!isFloat(o)) continue;
      const outside = (consumers.get(o) ?? []).filter((u) => mode === 'emulate' || !half.has(u.node));
      if (graphOutputs.has(o)) throw new Error(`convertToFloat16: ${o} is a graph output; the half region must end inside the graph`);
      if (!outside.length) continue;
      let single = toSingle.get(o);
      if (!single) {
        const chain: Node[] = [];
        if (mode === 'emulate') {
          const a = cast(o, DType.FLOAT16, 'fp16');
          const b = cast(a.out, DType.FLOAT, 'fp32');
          chain.push(a.node, b.node);
          single = b.out;
        } else {
          const c = cast(o, DType.FLOAT, 'fp32');
          chain.push(c.node);
          single = c.out;
        }
        toSingle.set(o, single);
        (after.get(old) ?? after.set(old, []).get(old)!).push(...chain);
      }
      for (const u of outside) byOld.get(u.node)!.inputs[u.i] = single;
    }
  }
  const ordered: Node[] = [...before];
  for (const [old, n] of byOld) {
    ordered.push(n);
    ordered.push(...(after.get(old) ?? []));
  }
  return { ...g, nodes: ordered, initializers };
}
