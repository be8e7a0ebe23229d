/**
 * The engine thread: hosts an EngineCore so onnxruntime's blocking session.run never runs on the
 * API's event loop.
 */
import { parentPort, workerData } from 'worker_threads';
import { isEngineError } from '../errors';
import { EngineCore } from './engine-core';
import type { FromWorker, ToWorker, WorkerData } from './worker-protocol';

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function main(): Promise<void> {
  const { options } = workerData as WorkerData;
  let core: EngineCore;
  try {
    core = await EngineCore.create(options, (level, msg, fields) => post({ type: 'log', level, msg, fields }));
  } catch (e) {
    post({ type: 'failed', code: isEngineError(e) ? e.code : 'engine/invalid_model', message: (e as Error).message });
    return;
  }
  post({ type: 'ready', packs: core.packs(), status: core.status() });
  // The status after whatever this turn changed (a batched step's events, a start, a cancel), once
  // per turn: session.run blocks this thread for a whole step, so the host answers status() from
  // these rather than asking and waiting for the step to end.
  let statusQueued = false;
  const pushStatus = () => {
    if (statusQueued) return;
    statusQueued = true;
    setImmediate(() => {
      statusQueued = false;
      post({ type: 'statusUpdate', status: core.status() });
    });
  };
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'start':
        pushStatus();
        try {
          const { runId, params } = core.start(m.request, (event) => {
            const transfer = event.type === 'result' ? [event.image.buffer as ArrayBuffer] : event.type === 'step' && event.preview ? [event.preview.rgb.buffer as ArrayBuffer] : [];
            post({ type: 'event', event }, transfer);
            pushStatus();
          });
          post({ type: 'started', reqId: m.reqId, runId, params });
        } catch (e) {
          if (isEngineError(e)) post({ type: 'rejected', reqId: m.reqId, code: e.code, message: e.message, details: e.details });
          else post({ type: 'rejected', reqId: m.reqId, code: 'engine/invalid_input', message: (e as Error).message, details: {} });
        }
        break;
      case 'cancel':
        core.cancel(m.runId);
        pushStatus();
        break;
      case 'status':
        post({ type: 'status', reqId: m.reqId, status: core.status() });
        break;
      case 'close':
        void core.close().then(() => {
          post({ type: 'closed' });
          port.close();
        });
        break;
    }
  });
}

void main();
