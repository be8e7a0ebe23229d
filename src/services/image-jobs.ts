/**
 * The dispatcher's image work off the API's event loop: preview PNGs at every previewed step, and
 * for a finished run its output PNG and faithfulness metrics (L2, PSNR, SSIM in plain JS: tens of
 * milliseconds for a 256 px image). {@link startImageJobsThread} runs them in a worker thread of
 * their own (started on the first job, restarted after a crash); {@link inlineImageJobs} on the
 * calling thread. Both give the same bytes and numbers (the same functions run).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { RunMetrics } from '../runs';
import { encodePng, rgbToPng } from '../images';
import { l2Distance, psnr, ssim } from '../metrics/image-metrics';
import type { ImageJob, ImageJobReply } from './image-jobs-thread';

export interface ResultImage {
  png: Buffer;
  metrics: RunMetrics;
}

export interface ImageJobs {
  /** Packed 8-bit RGB (HWC) as a PNG (rgbToPng). */
  previewPng(rgb: Uint8Array, width: number, height: number): Promise<Buffer>;
  /**
   * A run's output [3, size, size] in [0, 1] as a PNG (encodePng), and its metrics against the
   * source in [0, 1]. The inputs are copied, not taken over.
   */
  result(output: Float32Array, size: number, source: Float32Array): Promise<ResultImage>;
  close(): Promise<void>;
}

/** The metrics of an output against its source (images [3, size, size] in [0, 1]). */
export function resultMetrics(source: Float32Array, output: Float32Array, size: number): RunMetrics {
  return { l2: l2Distance(source, output), psnr: psnr(source, output), ssim: ssim(source, output, size) };
}

/** The jobs on the calling thread. */
export const inlineImageJobs: ImageJobs = {
  previewPng: (rgb, width, height) => rgbToPng(rgb, width, height),
  async result(output, size, source) {
    return { png: await encodePng(output, size), metrics: resultMetrics(source, output, size) };
  },
  async close() {},
};

function threadEntry(): { file: string; execArgv: string[] } {
  const fromSource = __filename.endsWith('.ts');
  const file = path.join(__dirname, fromSource ? 'image-jobs-thread.ts' : 'image-jobs-thread.js');
  return { file, execArgv: fromSource ? ['--require', require.resolve('ts-node/register/transpile-only')] : [] };
}

const MAX_DEATHS = 3;

/**
 * The jobs in a worker thread (it keeps the process alive only while jobs are in flight). Should
 * the thread die, the jobs it had run on the calling thread instead and the next job starts a new
 * one; after {@link MAX_DEATHS} deaths in a row, or once closed, every job runs on the calling
 * thread. `stats` counts the jobs done each way.
 */
export function startImageJobsThread(): ImageJobs & { readonly stats: { thread: number; inline: number } } {
  const stats = { thread: 0, inline: 0 };
  let worker: Worker | null = null;
  let nextId = 1;
  let closed = false;
  /** thread deaths since the last job it answered: past a few, the jobs stay on the calling thread */
  let deaths = 0;
  const pending = new Map<number, { resolve: (r: ImageJobReply) => void; reject: (e: Error) => void }>();

  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const spawn = (): Worker => {
    const { file, execArgv } = threadEntry();
    const w = new Worker(file, { execArgv });
    w.unref();
    w.on('message', (m: ImageJobReply) => {
      deaths = 0;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (pending.size === 0) w.unref();
      p.resolve(m);
    });
    // a crashed thread fails the jobs in flight; the next job starts a new one
    const died = (e: Error) => {
      if (worker !== w) return;
      worker = null;
      deaths++;
      failAll(e);
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`the image thread exited (code ${code})`)));
    return w;
  };
  const run = (job: ImageJob): Promise<ImageJobReply> => {
    if (closed) return Promise.reject(new Error('the image thread is closed'));
    if (deaths >= MAX_DEATHS) return Promise.reject(new Error('the image thread keeps dying'));
    worker ??= spawn();
    const w = worker;
    return new Promise<ImageJobReply>((resolve, reject) => {
      pending.set(job.id, { resolve, reject });
      // held while jobs are in flight, so that they finish
      w.ref();
      w.postMessage(job);
    });
  };
  /** a job the thread ran and that failed there (bad input): its error, as the inline job would throw it */
  const failure = (r: ImageJobReply): Error | null => (r.type === 'failed' ? Object.assign(new Error(r.message), { name: r.name }) : null);
  /**
   * One job on the thread, or inline when no thread can be had (crashed, closed): that costs the
   * job its thread, not its result. A job that failed there throws as the inline job would.
   */
  const viaThread = async <K extends ImageJobReply['type'], T>(job: ImageJob, expected: K, inline: () => Promise<T>, read: (r: Extract<ImageJobReply, { type: K }>) => T): Promise<T> => {
    const r = await run(job).catch(() => null);
    if (r === null) {
      stats.inline++;
      return inline();
    }
    stats.thread++;
    const err = failure(r);
    if (err) throw err;
    if (r.type !== expected) throw new Error('the image thread answered out of turn');
    return read(r as Extract<ImageJobReply, { type: K }>);
  };
  const bytes = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return {
    stats,
    previewPng(rgb, width, height) {
      return viaThread({ type: 'preview', id: nextId++, rgb, width, height }, 'png', () => inlineImageJobs.previewPng(rgb, width, height), (r) => bytes(r.png));
    },
    result(output, size, source) {
      return viaThread({ type: 'result', id: nextId++, output, size, source }, 'result', () => inlineImageJobs.result(output, size, source), (r) => ({ png: bytes(r.png), metrics: r.metrics }));
    },
    async close() {
      closed = true;
      const w = worker;
      worker = null;
      failAll(new Error('the image thread is closed'));
      if (w) await w.terminate();
    },
  };
}
