/**
 * Output encoding: the sampler's images (docs/egsde-step.md §8: the output is clamp((y + 1) / 2, 0, 1))
 * and previews to PNG, and back (for tests).
 *
 * PNG output is deterministic for given pixels (fixed compression settings, no metadata), so
 * the same image always has the same content-addressed storage key.
 */
import sharp, { type PngOptions } from 'sharp';

/** PNG settings used for every encoded output (sharp defaults spelled out to keep keys stable). */
const PNG_OPTIONS = { compressionLevel: 6, adaptiveFiltering: false, palette: false } satisfies PngOptions;

function checkDims(width: number, height: number, fn: string): void {
  if (!Number.isSafeInteger(width) || width <= 0 || !Number.isSafeInteger(height) || height <= 0) {
    throw new RangeError(`${fn}: width and height must be positive integers, got ${width}x${height}`);
  }
}

/** v in [0, 1] -> round(v * 255) clamped to 0..255; NaN -> 0. */
function toByte(v: number): number {
  const b = Math.round(v * 255);
  return b > 255 ? 255 : b >= 0 ? b : 0;
}

/**
 * Encodes a [3, size, size] tensor (C order, sRGB, values in [0, 1]) as an 8-bit RGB PNG.
 * Each value becomes round(v * 255) clamped to 0..255 (NaN becomes 0).
 */
export async function encodePng(tensor: Float32Array, size: number): Promise<Buffer> {
  checkDims(size, size, 'encodePng');
  const plane = size * size;
  if (tensor.length !== 3 * plane) {
    throw new RangeError(`encodePng: expected a [3, ${size}, ${size}] tensor (${3 * plane} values), got ${tensor.length} values`);
  }
  const rgb = new Uint8Array(3 * plane);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    rgb[i] = toByte(tensor[p]!);
    rgb[i + 1] = toByte(tensor[plane + p]!);
    rgb[i + 2] = toByte(tensor[2 * plane + p]!);
  }
  return rgbToPng(rgb, size, size);
}

/** Encodes packed 8-bit RGB pixels (HWC: row by row, R G B per pixel) as a PNG. */
export async function rgbToPng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  checkDims(width, height, 'rgbToPng');
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`rgbToPng: expected ${width}x${height}x3 = ${width * height * 3} bytes, got ${rgb.length}`);
  }
  const input = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return sharp(input, { raw: { width, height, channels: 3 } }).png(PNG_OPTIONS).toBuffer();
}

export interface PngTensor {
  /** [3, height, width], C order, sRGB, values in [0, 1] (v / 255). */
  tensor: Float32Array;
  width: number;
  height: number;
}

/**
 * Decodes a PNG into a [3, H, W] tensor in [0, 1]: the inverse of encodePng up to its rounding
 * (|pngToTensor(encodePng(t)) - t| <= 0.5 / 255 for t in [0, 1]). Alpha is flattened onto white
 * and greyscale expanded to RGB. Meant for tests and tools, not for untrusted input (use
 * decodeSourceImage for that).
 */
export async function pngToTensor(png: Buffer): Promise<PngTensor> {
  const { data, info } = await sharp(png, { failOn: 'error' })
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace('srgb')
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  if (channels !== 3) throw new Error(`pngToTensor: decoded ${channels} channels, expected 3`);
  const plane = width * height;
  const tensor = new Float32Array(3 * plane);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    tensor[p] = data[i]! / 255;
    tensor[plane + p] = data[i + 1]! / 255;
    tensor[2 * plane + p] = data[i + 2]! / 255;
  }
  return { tensor, width, height };
}
