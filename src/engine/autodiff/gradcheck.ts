/**
 * Numerical gradient checker: compares the directional derivative from the gradient graph with
 * central differences of the forward graph along random directions u, for random cotangents v:
 * the fourth-order stencil (8 (F(h) - F(-h)) - (F(2h) - F(-2h))) / 12h with F(s) = <v, f(x + s u)>,
 * which lets h be large enough to keep float32 rounding noise small (every rule passes it; see
 * rules.test.ts).
 */
import { Graph } from '../onnx/ir';
import { DType } from '../onnx/tensor';
import { promoteInitializers } from '../onnx/promote';
import { GraphSession, HostTensor } from '../runtime/session';
import { Rng } from '../sampling/random';
import { buildGradientGraph, cotangentName, gradientName } from './vjp';

export interface GradCheckOptions {
  /** Inputs and/or initializers to check. */
  wrt: string[];
  /** Values for the graph inputs. */
  feeds: Record<string, HostTensor>;
  /** Step of the central difference along unit-variance random directions (default 1e-2). */
  eps?: number;
  /** Random directions per checked tensor (default 2). */
  directions?: number;
  seed?: number;
  /** Also check one direction spanning all wrt tensors together (default true). */
  joint?: boolean;
}

export interface GradCheckResult {
  wrt: string;
  analytic: number;
  numeric: number;
  relError: number;
  absError: number;
}

/** A check passes when |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|). */
export function gradCheckPasses(r: GradCheckResult, rtol: number, atol = 1e-4): boolean {
  return r.absError <= atol + rtol * Math.max(Math.abs(r.analytic), Math.abs(r.numeric));
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export async function gradCheck(forward: Graph, opts: GradCheckOptions): Promise<GradCheckResult[]> {
  const eps = opts.eps ?? 1e-2;
  const rng = new Rng(opts.seed ?? 7);
  const { graph, feeds: weightFeeds } = promoteInitializers(forward, opts.wrt);
  const feeds: Record<string, HostTensor> = { ...opts.feeds, ...weightFeeds };
  const fwd = await GraphSession.create(graph);
  const { graph: gg } = buildGradientGraph(graph, { wrt: opts.wrt, keepForwardOutputs: false });
  const grad = await GraphSession.create(gg);
  try {
    const base = await fwd.run(feeds);
    const outs = graph.outputs.map((o) => o.name).filter((o) => graph.outputs.find((x) => x.name === o)!.dtype === DType.FLOAT);
    const cot: Record<string, HostTensor> = {};
    for (const o of outs) cot[cotangentName(o)] = { data: rng.normals(base[o].data.length), dims: base[o].dims };
    const grads = await grad.run({ ...feeds, ...cot });
    const objective = async (f: Record<string, HostTensor>) => {
      const r = await fwd.run(f);
      return outs.reduce((s, o) => s + dot(r[o].data as Float32Array, cot[cotangentName(o)].data as Float32Array), 0);
    };
    const check = async (label: string, names: string[]): Promise<GradCheckResult> => {
      const dirs: Record<string, Float32Array> = {};
      let analytic = 0;
      for (const n of names) {
        const x = feeds[n].data as Float32Array;
        dirs[n] = rng.normals(x.length);
        analytic += dot(grads[gradientName(n)].data as Float32Array, dirs[n]);
      }
      const shifted = (sign: number) => {
        const f = { ...feeds };
        for (const n of names) {
          const x = feeds[n].data as Float32Array;
          const y = new Float32Array(x.length);
          for (let i = 0; i < x.length; i++) y[i] = x[i] + sign * eps * dirs[n][i];
          f[n] = { data: y, dims: feeds[n].dims };
        }
        return f;
      };
      const d1 = (await objective(shifted(1))) - (await objective(shifted(-1)));
      const d2 = (await objective(shifted(2))) - (await objective(shifted(-2)));
      const numeric = (8 * d1 - d2) / (12 * eps);
      const absError = Math.abs(analytic - numeric);
      const relError = absError / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-12);
      return { wrt: label, analytic, numeric, relError, absError };
    };
    const results: GradCheckResult[] = [];
    for (const w of opts.wrt) for (let d = 0; d < (opts.directions ?? 2); d++) results.push(await check(w, [w]));
    if ((opts.joint ?? true) && opts.wrt.length > 1) results.push(await check('(all)', opts.wrt));
    return results;
  } finally {
    await fwd.release();
    await grad.release();
  }
}
