/**
 * Compose graphs: inline a model into a builder under a name prefix, so several models (or two
 * copies of one, sharing weights) run in one session.
 */
import { EngineError } from '../errors';
import { GraphBuilder } from './builder';
import { Graph } from './ir';

/**
 * Copy `sub`'s nodes into `b`, feeding its inputs from `inputs` (sub input name -> value in b).
 * Initializers are added once per `weightsKey` prefix and shared by later copies. Returns sub's
 * output names mapped to their values in b.
 */
export function inlineGraph(b: GraphBuilder, sub: Graph, inputs: Record<string, string>, opts: { prefix: string; weightsPrefix?: string }): Record<string, string> {
  const rename = new Map<string, string>();
  for (const v of sub.inputs) {
    const src = inputs[v.name];
    if (!src) throw new EngineError('engine/invalid_graph', `inlining ${sub.name}: no value for input ${v.name}`);
    rename.set(v.name, src);
  }
  const wp = opts.weightsPrefix ?? opts.prefix;
  for (const [k, t] of sub.initializers) {
    const name = `${wp}/${k}`;
    if (!b.has(name)) b.graph.initializers.set(name, t), b.facts.set(name, { dtype: t.dtype, shape: [...t.dims] });
    rename.set(k, name);
  }
  const map = (n: string) => (n === '' ? '' : rename.get(n) ?? `${opts.prefix}/${n}`);
  const copy = sub.nodes.map((n) => ({
    name: `${opts.prefix}/${n.name}`,
    opType: n.opType,
    domain: n.domain,
    inputs: n.inputs.map(map),
    outputs: n.outputs.map((o) => {
      if (!o) return '';
      const r = `${opts.prefix}/${o}`;
      rename.set(o, r);
      return r;
    }),
    attrs: n.attrs,
  }));
  b.appendNodes(copy);
  const out: Record<string, string> = {};
  for (const o of sub.outputs) out[o.name] = map(o.name);
  return out;
}
