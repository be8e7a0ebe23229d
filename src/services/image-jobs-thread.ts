/** The image thread (see image-jobs.ts): encodes PNGs and computes result metrics, one job per message. */
import { parentPort } from 'worker_threads';
import { encodePng, rgbToPng } from '../images';
import type { RunMetrics } from '../runs';
import { resultMetrics } from './image-jobs';

export type ImageJob =
  | { type: 'preview'; id: number; rgb: Uint8Array; width: number; height: number }
  | { type: 'result'; id: number; output: Float32Array; size: number; source: Float32Array };

export type ImageJobReply =
  | { type: 'png'; id: number; png: Uint8Array }
  | { type: 'result'; id: number; png: Uint8Array; metrics: RunMetrics }
  | { type: 'failed'; id: number; name: string; message: string };

const port = parentPort;
if (port) {
  // PNGs are copied back (small; sharp's buffers need not be transferable)
  const reply = (m: ImageJobReply) => port.postMessage(m);
  port.on('message', (job: ImageJob) => {
    void (async () => {
      try {
        if (job.type === 'preview') {
          const png = await rgbToPng(job.rgb, job.width, job.height);
          reply({ type: 'png', id: job.id, png });
        } else {
          const png = await encodePng(job.output, job.size);
          reply({ type: 'result', id: job.id, png, metrics: resultMetrics(job.source, job.output, job.size) });
        }
      } catch (e) {
        reply({ type: 'failed', id: job.id, name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) });
      }
    })();
  });
}
