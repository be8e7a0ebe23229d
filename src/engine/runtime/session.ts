/**
 * onnxruntime-node sessions over IR graphs. `run` blocks the calling thread for the whole
 * inference: the service calls it only from the engine's worker thread.
 */
import * as ort from 'onnxruntime-node';
import { Graph } from '../onnx/ir';
import { encodeModel } from '../onnx/model-io';

import type { ExecutionProvider } from '../vocabulary';
export type { ExecutionProvider };

export interface SessionOptions {
  /** Execution providers in order of preference. Default ['cpu']. */
  providers?: ExecutionProvider[];
  /** Intra-op threads; default: onnxruntime's own choice (all cores). */
  intraOpThreads?: number;
  /** onnxruntime graph optimisation level. Default 'all'. */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface HostTensor {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

export class GraphSession {
  private constructor(readonly session: ort.InferenceSession, readonly graph: Graph) {}

  static async create(graph: Graph, opts: SessionOptions = {}): Promise<GraphSession> {
    const bytes = encodeModel(graph);
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: opts.providers ?? ['cpu'],
      graphOptimizationLevel: opts.optimization ?? (process.env.EGSDE_ORT_OPT as SessionOptions['optimization']) ?? 'all',
    };
    if (opts.intraOpThreads !== undefined) options.intraOpNumThreads = opts.intraOpThreads;
    const session = await ort.InferenceSession.create(bytes, options);
    return new GraphSession(session, graph);
  }

  async run(feeds: Record<string, HostTensor>, outputs?: string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) {
      ortFeeds[k] = new ort.Tensor(v.data instanceof BigInt64Array ? 'int64' : 'float32', v.data, v.dims);
    }
    const res = await this.session.run(ortFeeds, outputs ?? this.session.outputNames);
    const out: Record<string, HostTensor> = {};
    for (const [k, t] of Object.entries(res)) out[k] = { data: t.data as Float32Array, dims: [...t.dims] };
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
