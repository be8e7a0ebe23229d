/**
 * Dead-node elimination: drop nodes (and initializers) that no graph output depends on.
 */
import { Graph } from './ir';

export function pruneGraph(g: Graph): Graph {
  const needed = new Set(g.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k];
    if (!n.outputs.some((o) => o && needed.has(o))) continue;
    keep[k] = true;
    for (const i of n.inputs) if (i) needed.add(i);
  }
  g.nodes = g.nodes.filter((_, k) => keep[k]);
  for (const name of [...g.initializers.keys()]) if (!needed.has(name)) g.initializers.delete(name);
  return g;
}
