/**
 * Execution providers: CPU by default; CUDA (onnxruntime-node installed with
 * ONNXRUNTIME_NODE_INSTALL=cuda12) and WebGPU (bundled) by configuration. The first requested
 * provider that starts a probe session wins; the log line says what was chosen and why.
 */
import * as ort from 'onnxruntime-node';
import { EngineError } from '../errors';
import { GraphBuilder } from '../onnx/builder';
import { encodeModel } from '../onnx/model-io';
import { DType } from '../onnx/tensor';
import { ExecutionProvider } from './session';

export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'webgpu'];

export type EngineLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

let probeBytes: Uint8Array | null = null;
function probeModel(): Uint8Array {
  if (!probeBytes) {
    const b = new GraphBuilder({ name: 'probe' });
    b.output(b.sigmoid(b.input('x', DType.FLOAT, [1])), 'y');
    probeBytes = encodeModel(b.graph);
  }
  return probeBytes;
}

export async function chooseProvider(preferred: readonly ExecutionProvider[], log: EngineLog): Promise<ExecutionProvider> {
  const failures: string[] = [];
  for (const p of preferred) {
    try {
      const s = await ort.InferenceSession.create(probeModel(), { executionProviders: [p] });
      await s.run({ x: new ort.Tensor('float32', Float32Array.of(0), [1]) });
      await s.release();
      log('info', `execution provider: ${p}${failures.length ? ` (unavailable: ${failures.join('; ')})` : ''}`, { provider: p, requested: preferred });
      return p;
    } catch (e) {
      failures.push(`${p}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new EngineError('engine/provider_unavailable', `none of the requested execution providers started: ${failures.join('; ')}`);
}
