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
  /** onnxruntime graph optimisation level. Default 'all' (EGSDE_ORT_OPT overrides). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime's memory pattern (one planned block for all activations, per input shape). Default true. */
  memoryPattern?: boolean;
}

function ortOptions(opts: SessionOptions): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: opts.providers ?? ['cpu'],
    graphOptimizationLevel: opts.optimization ?? (process.env.EGSDE_ORT_OPT as SessionOptions['optimization']) ?? 'all',
    enableMemPattern: opts.memoryPattern ?? true,
  };
  if (opts.intraOpThreads !== undefined) options.intraOpNumThreads = opts.intraOpThreads;
  return options;
}

export interface HostTensor {
  data: Float32Array | BigInt64Array;
  dims: number[];
}

export class GraphSession {
  private constructor(readonly session: ort.InferenceSession) {}

  /** A session over an in-memory graph (tests, training, small models). */
  static async create(graph: Graph, opts: SessionOptions = {}): Promise<GraphSession> {
    return new GraphSession(await ort.InferenceSession.create(encodeModel(graph), ortOptions(opts)));
  }

  /**
   * A session over an ONNX file; external data beside it is read by onnxruntime itself
   * (page-aligned tensors are mapped, not copied), so no JavaScript copy of the weights exists.
   */
  static async open(modelPath: string, opts: SessionOptions = {}): Promise<GraphSession> {
    return new GraphSession(await ort.InferenceSession.create(modelPath, ortOptions(opts)));
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
