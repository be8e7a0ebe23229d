/** Graph surgery: initializers become graph inputs (to perturb them, or to train them). */
import { Graph, cloneGraph } from './ir';
import { Tensor } from './tensor';
import { HostTensor } from '../runtime/session';

/** Turn initializers into graph inputs so they can be perturbed; returns their values as feeds. */
export function promoteInitializers(g: Graph, names: string[]): { graph: Graph; feeds: Record<string, HostTensor> } {
  const graph = cloneGraph(g);
  const feeds: Record<string, HostTensor> = {};
  for (const n of names) {
    const t: Tensor | undefined = graph.initializers.get(n);
    if (!t) continue;
    graph.initializers.delete(n);
    graph.inputs.push({ name: n, dtype: t.dtype, shape: [...t.dims] });
    feeds[n] = { data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
  }
  return { graph, feeds };
}

