/**
 * Source-image decoding: untrusted PNG/JPEG/WebP bytes to the model's input tensor.
 *
 * The tensor is the EGSDE x0 (docs/egsde-step.md §4: x0 is the source image scaled to [-1, 1]),
 * as the official code prepares it (ML-GSAI/EGSDE datasets: torchvision `Resize(size)` of the
 * shorter side, `CenterCrop(size)`, `ToTensor()` then `(x - 0.5) / 0.5`, which is x / 127.5 - 1
 * for 8-bit x).
 */
import sharp, { type Metadata, type OutputInfo, type SharpOptions } from 'sharp';
import { CodedError } from '../errors';
import { sniffImageFormat, type AcceptedImageFormat } from './formats';

export interface DecodeLimits {
  /** Largest accepted encoded size, in bytes. */
  maxBytes: number;
  /**
   * Largest accepted width * height, read from the image header before any pixel is decoded
   * (also passed to sharp as `limitInputPixels`).
   */
  maxPixels: number;
}

export interface DecodedSourceImage {
  /** [3, size, size], C order (channel, row, column), sRGB, values in [-1, 1]. */
  tensor: Float32Array;
  /** The source image's width as displayed, i.e. after its EXIF orientation is applied. */
  width: number;
  /** The source image's height as displayed, i.e. after its EXIF orientation is applied. */
  height: number;
  /** The format the bytes actually hold (from their signature, confirmed by the decoder). */
  format: AcceptedImageFormat;
}

/**
 * libvips failure policy for pixel data: 'error' refuses truncated and corrupt images but lets
 * mere decoder warnings (common in camera JPEGs) through.
 */
const FAIL_ON = 'error' as const;

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}

function isPixelLimitError(e: unknown): boolean {
  return e instanceof Error && /pixel limit/i.test(e.message);
}

function tooLarge(width: number, height: number, maxPixels: number): CodedError {
  return new CodedError(
    'input/image_too_large',
    `image is ${width}x${height} (${width * height} pixels), more than the ${maxPixels}-pixel limit`,
    { width, height, pixels: width * height, maxPixels },
  );
}

function checkLimits(limits: DecodeLimits): void {
  for (const k of ['maxBytes', 'maxPixels'] as const) {
    const v = limits[k];
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`decodeSourceImage: limits.${k} must be a positive integer, got ${v}`);
  }
}

/**
 * Decodes a PNG, JPEG or WebP image into the [3, size, size] tensor in [-1, 1] the engine takes.
 *
 * Steps, in order: refuse by byte size; identify the format by signature (anything but PNG,
 * JPEG, WebP is refused before a decoder sees it); read the header and refuse by pixel count;
 * then decode with sharp: apply the EXIF orientation, flatten alpha onto white, convert to sRGB
 * with 3 channels (greyscale, CMYK and 16-bit inputs included), resize so the shorter side is
 * `size` and centre-crop to size x size (`fit: 'cover', position: 'centre'`), and map each 8-bit
 * value v to v / 127.5 - 1. Animated WebP: the first frame.
 *
 * Errors (CodedError): 'input/image_missing' (no bytes), 'input/image_too_large' (over
 * `maxBytes` or `maxPixels`), 'input/image_unsupported_format' (a recognised non-accepted
 * format: GIF, TIFF, SVG, HEIF, BMP...), 'input/image_undecodable' (unrecognised, corrupt or
 * truncated data).
 */
export async function decodeSourceImage(bytes: Buffer, size: number, limits: DecodeLimits): Promise<DecodedSourceImage> {
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`decodeSourceImage: size must be a positive integer, got ${size}`);
  checkLimits(limits);
  if (bytes.length === 0) throw new CodedError('input/image_missing', 'the image is empty (0 bytes)');
  if (bytes.length > limits.maxBytes) {
    throw new CodedError('input/image_too_large', `image is ${bytes.length} bytes, more than the ${limits.maxBytes}-byte limit`, {
      bytes: bytes.length,
      maxBytes: limits.maxBytes,
    });
  }

  const sniffed = sniffImageFormat(bytes);
  switch (sniffed.kind) {
    case 'accepted':
      break;
    case 'unsupported':
      throw new CodedError(
        'input/image_unsupported_format',
        `unsupported image format "${sniffed.format}"; accepted: PNG, JPEG, WebP`,
        { format: sniffed.format },
      );
    case 'unknown':
      throw new CodedError('input/image_undecodable', 'the data is not a PNG, JPEG or WebP image (unrecognised signature)');
    default: {
      const never: never = sniffed;
      throw new Error(`unreachable: ${JSON.stringify(never)}`);
    }
  }
  const format = sniffed.format;
  const options = { limitInputPixels: limits.maxPixels, failOn: FAIL_ON } satisfies SharpOptions;

  // Header only: dimensions are known before any pixel is decoded.
  let meta: Metadata;
  try {
    meta = await sharp(bytes, options).metadata();
  } catch (e) {
    if (isPixelLimitError(e)) {
      // sharp refused from the header; report the dimensions when the header gives them cheaply.
      const dims = await sharp(bytes, { ...options, limitInputPixels: false })
        .metadata()
        .then((m) => ({ width: m.width, height: m.height }))
        .catch(() => null);
      throw dims
        ? tooLarge(dims.width, dims.height, limits.maxPixels)
        : new CodedError('input/image_too_large', `image has more than the ${limits.maxPixels}-pixel limit`, { maxPixels: limits.maxPixels });
    }
    throw new CodedError('input/image_undecodable', `the ${format.toUpperCase()} image could not be read: ${firstLine(e)}`, { format });
  }
  if (meta.format !== format) {
    throw new CodedError('input/image_undecodable', `the image's signature says ${format} but its decoder says ${meta.format}`, {
      format,
    });
  }
  if (!(meta.width > 0 && meta.height > 0)) {
    throw new CodedError('input/image_undecodable', 'the image has no dimensions', { format });
  }
  if (meta.width * meta.height > limits.maxPixels) throw tooLarge(meta.width, meta.height, limits.maxPixels);
  const shown = meta.autoOrient ?? { width: meta.width, height: meta.height };

  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(bytes, options)
      .autoOrient()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (e) {
    if (isPixelLimitError(e)) throw tooLarge(meta.width, meta.height, limits.maxPixels);
    throw new CodedError('input/image_undecodable', `the ${format.toUpperCase()} image could not be decoded: ${firstLine(e)}`, { format });
  }
  if (info.width !== size || info.height !== size || info.channels !== 3 || data.length !== size * size * 3) {
    throw new CodedError('input/image_undecodable', `decoding produced ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`, {
      format,
    });
  }

  // HWC uint8 -> CHW float in [-1, 1].
  const plane = size * size;
  const tensor = new Float32Array(3 * plane);
  for (let p = 0, i = 0; p < plane; p++, i += 3) {
    tensor[p] = data[i]! / 127.5 - 1;
    tensor[plane + p] = data[i + 1]! / 127.5 - 1;
    tensor[2 * plane + p] = data[i + 2]! / 127.5 - 1;
  }
  return { tensor, width: shown.width, height: shown.height, format };
}
