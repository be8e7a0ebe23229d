/**
 * Previews: the predicted clean image, mapped to [0, 255] and box-downscaled to at most
 * `maxSize` pixels a side.
 */
import type { RgbImage } from '../types';

export function previewImage(x0Pred: Float32Array, size: number, maxSize: number): RgbImage {
  const f = Math.max(1, Math.ceil(size / maxSize));
  const out = Math.floor(size / f);
  const plane = size * size;
  const rgb = new Uint8Array(out * out * 3);
  for (let c = 0; c < 3; c++) {
    for (let py = 0; py < out; py++) {
      for (let px = 0; px < out; px++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) {
          const row = c * plane + (py * f + dy) * size + px * f;
          for (let dx = 0; dx < f; dx++) s += x0Pred[row + dx];
        }
        const v = (s / (f * f) + 1) / 2;
        rgb[(py * out + px) * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return { width: out, height: out, rgb };
}
