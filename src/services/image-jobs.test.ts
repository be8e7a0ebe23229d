import { Rng } from '../engine/toolkit';
import { inlineImageJobs, startImageJobsThread } from './image-jobs';

const size = 24;
const rng = new Rng(7);
const source = rng.uniforms(3 * size * size, 0, 1);
const output = source.map((v, i) => Math.min(1, Math.max(0, v + (i % 5) * 0.02 - 0.04)));
const rgb = Uint8Array.from({ length: 8 * 6 * 3 }, (_, i) => (i * 37) % 256);

test('the image thread gives the same PNG bytes and metrics as the calling thread, and reports bad input as it would', async () => {
  const jobs = startImageJobsThread();
  try {
    const [preview, result] = await Promise.all([jobs.previewPng(rgb, 8, 6), jobs.result(output, size, source)]);
    expect(jobs.stats).toEqual({ thread: 2, inline: 0 });
    expect(preview.equals(await inlineImageJobs.previewPng(rgb, 8, 6))).toBe(true);
    const inline = await inlineImageJobs.result(output, size, source);
    expect(result.png.equals(inline.png)).toBe(true);
    expect(result.metrics).toEqual(inline.metrics);
    expect(result.metrics.ssim).toBeLessThan(1);
    // the inputs are the caller's still (copied, not transferred)
    expect(output.length).toBe(3 * size * size);
    expect(rgb.length).toBe(8 * 6 * 3);
    // identical images: PSNR is infinite, and survives the trip
    expect((await jobs.result(source, size, source)).metrics.psnr).toBe(Infinity);

    await expect(jobs.previewPng(rgb, 7, 6)).rejects.toThrow(/rgbToPng: expected 7x6x3/);
    await expect(jobs.result(output, size + 1, source)).rejects.toThrow(/encodePng/);
    expect(jobs.stats.inline).toBe(0);
  } finally {
    await jobs.close();
  }
  // closed: jobs still get done, on the calling thread
  expect((await jobs.previewPng(rgb, 8, 6)).length).toBeGreaterThan(0);
  expect(jobs.stats.inline).toBe(1);
});
