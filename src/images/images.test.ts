import zlib from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { isCodedError, type ErrorCode } from '../errors';
import { decodeSourceImage, encodePng, parseDataUrl, pngToTensor, rgbToPng, sniffImageFormat } from './index';

const LIMITS = { maxBytes: 10 * 1024 * 1024, maxPixels: 40_000_000 };
const RED = { r: 255, g: 0, b: 0 };
const BLUE = { r: 0, g: 0, b: 255 };

/** Packed RGB of a width x height image whose left half is `left` and right half `right`. */
function halves(width: number, height: number, left = RED, right = BLUE): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = x < width / 2 ? left : right;
      const i = (y * width + x) * 3;
      rgb[i] = c.r;
      rgb[i + 1] = c.g;
      rgb[i + 2] = c.b;
    }
  }
  return rgb;
}

function rawImage(rgb: Buffer, width: number, height: number, channels: 3 | 4 = 3) {
  return sharp(rgb, { raw: { width, height, channels } });
}

/** Pixel (x, y) of a [3, S, S] tensor. */
function px(t: Float32Array, size: number, x: number, y: number): [number, number, number] {
  const p = y * size + x;
  const plane = size * size;
  return [t[p]!, t[plane + p]!, t[2 * plane + p]!];
}

function expectPixel(actual: [number, number, number], expected: [number, number, number], tol: number, where: string): void {
  for (let c = 0; c < 3; c++) {
    if (Math.abs(actual[c]! - expected[c]!) > tol) {
      throw new Error(`${where}: channel ${c} is ${actual[c]}, expected ${expected[c]} +- ${tol} (pixel ${actual.join(', ')})`);
    }
  }
}

/** RGB 0..255 -> the decoded [-1, 1] value. */
const norm = (c: { r: number; g: number; b: number }): [number, number, number] => [c.r / 127.5 - 1, c.g / 127.5 - 1, c.b / 127.5 - 1];

async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<Error> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  if (!isCodedError(err, code)) throw new Error(`expected CodedError ${code}, got ${err instanceof Error ? `${err.name}: ${(err as { code?: string }).code ?? ''} ${err.message}` : String(err)}`);
  return err;
}

/** Checks a 64x64 decode of the 200x100 red|blue image: red left of column 32, blue right. */
function expectRedLeftBlueRight(t: Float32Array, size: number, tol: number): void {
  for (const y of [0, size / 2, size - 1]) {
    for (let x = 0; x < size; x++) {
      if (x >= size / 2 - 4 && x < size / 2 + 4) continue; // resampling kernel support at the edge
      expectPixel(px(t, size, x, y), x < size / 2 ? norm(RED) : norm(BLUE), tol, `(${x}, ${y})`);
    }
  }
}

/** A PNG whose header claims width x height but whose pixel data is garbage. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf: Buffer): number => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(16))), // far fewer rows than the header claims
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('decodeSourceImage', () => {
  const rgb = halves(200, 100);

  it('decodes a PNG: cover-crop of a 200x100 red|blue image to 64x64, values in [-1, 1]', async () => {
    const png = await rawImage(rgb, 200, 100).png().toBuffer();
    const out = await decodeSourceImage(png, 64, LIMITS);
    expect(out.format).toBe('png');
    expect([out.width, out.height]).toEqual([200, 100]);
    expect(out.tensor).toBeInstanceOf(Float32Array);
    expect(out.tensor.length).toBe(3 * 64 * 64);
    for (const v of out.tensor) {
      expect(v).toBeGreaterThanOrEqual(-1);
      expect(v).toBeLessThanOrEqual(1);
    }
    // Exact colours away from the edge: x / 127.5 - 1 maps 255 to 1 and 0 to -1.
    expect(px(out.tensor, 64, 0, 0)).toEqual([1, -1, -1]);
    expect(px(out.tensor, 64, 63, 63)).toEqual([-1, -1, 1]);
    expectRedLeftBlueRight(out.tensor, 64, 1e-6);
  });

  it('decodes a JPEG', async () => {
    const jpeg = await rawImage(rgb, 200, 100).jpeg({ quality: 95 }).toBuffer();
    const out = await decodeSourceImage(jpeg, 64, LIMITS);
    expect(out.format).toBe('jpeg');
    expect([out.width, out.height]).toEqual([200, 100]);
    expectRedLeftBlueRight(out.tensor, 64, 0.12);
  });

  it('decodes a WebP (lossless and lossy)', async () => {
    const lossless = await rawImage(rgb, 200, 100).webp({ lossless: true }).toBuffer();
    const a = await decodeSourceImage(lossless, 64, LIMITS);
    expect(a.format).toBe('webp');
    expect([a.width, a.height]).toEqual([200, 100]);
    expectRedLeftBlueRight(a.tensor, 64, 1e-6);
    const lossy = await rawImage(rgb, 200, 100).webp({ quality: 90 }).toBuffer();
    const b = await decodeSourceImage(lossy, 64, LIMITS);
    expect(b.format).toBe('webp');
    expectRedLeftBlueRight(b.tensor, 64, 0.12);
  });

  it('crops the centre of a portrait image (top and bottom are cut)', async () => {
    // 50 wide x 150 tall: top third green, middle red, bottom third blue -> cover to 32 keeps
    // rows 50..100 of the original, i.e. only red.
    const w = 50;
    const h = 150;
    const buf = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      const c = y < 50 ? { r: 0, g: 255, b: 0 } : y < 100 ? RED : BLUE;
      for (let x = 0; x < w; x++) buf.set([c.r, c.g, c.b], (y * w + x) * 3);
    }
    const png = await rawImage(buf, w, h).png().toBuffer();
    const out = await decodeSourceImage(png, 32, LIMITS);
    for (const y of [3, 16, 28]) for (const x of [0, 16, 31]) expectPixel(px(out.tensor, 32, x, y), norm(RED), 0.05, `(${x}, ${y})`);
  });

  it('flattens alpha onto white', async () => {
    // 64x64: left half opaque red, right half fully transparent (red with alpha 0).
    const w = 64;
    const rgba = Buffer.alloc(w * w * 4);
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) rgba.set(x < w / 2 ? [255, 0, 0, 255] : [255, 0, 0, 0], (y * w + x) * 4);
    }
    const png = await rawImage(rgba, w, w, 4).png().toBuffer();
    const out = await decodeSourceImage(png, 64, LIMITS);
    expect(px(out.tensor, 64, 5, 5)).toEqual([1, -1, -1]);
    expect(px(out.tensor, 64, 60, 5)).toEqual([1, 1, 1]); // transparent -> white, not black or red

    // Half-transparent blue over white: 255 * (1 - 0.5) + 0 = ~128 for R and G.
    const semi = Buffer.alloc(8 * 8 * 4);
    for (let i = 0; i < 64; i++) semi.set([0, 0, 255, 128], i * 4);
    const out2 = await decodeSourceImage(await rawImage(semi, 8, 8, 4).png().toBuffer(), 8, LIMITS);
    expectPixel(px(out2.tensor, 8, 4, 4), [127 / 127.5 - 1, 127 / 127.5 - 1, 1], 2 / 127.5, 'semi-transparent');
  });

  it('applies the EXIF orientation of a JPEG', async () => {
    // Stored 200x100 red|blue with Orientation 6 ("rotate 90 CW to display"): displayed as
    // 100x200 with red on top and blue at the bottom.
    const jpeg = await rawImage(rgb, 200, 100).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const out = await decodeSourceImage(jpeg, 64, LIMITS);
    expect([out.width, out.height]).toEqual([100, 200]);
    for (const x of [0, 32, 63]) {
      for (let y = 0; y < 64; y++) {
        if (y >= 28 && y < 36) continue;
        expectPixel(px(out.tensor, 64, x, y), y < 32 ? norm(RED) : norm(BLUE), 0.12, `(${x}, ${y})`);
      }
    }
  });

  it('converts greyscale and 16-bit PNGs to 3-channel sRGB', async () => {
    const grey = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 51, g: 51, b: 51 } } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const g = await decodeSourceImage(grey, 8, LIMITS);
    expectPixel(px(g.tensor, 8, 3, 3), [51 / 127.5 - 1, 51 / 127.5 - 1, 51 / 127.5 - 1], 1e-6, 'grey');

    const deep = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 255, g: 0, b: 102 } } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const d = await decodeSourceImage(deep, 8, LIMITS);
    expectPixel(px(d.tensor, 8, 3, 3), [1, -1, 102 / 127.5 - 1], 1.5 / 127.5, '16-bit');
  });

  it('refuses GIF, TIFF, SVG, HEIF-like and BMP data with input/image_unsupported_format', async () => {
    const gif = await rawImage(rgb, 200, 100).gif().toBuffer();
    const e = await expectCode(decodeSourceImage(gif, 64, LIMITS), 'input/image_unsupported_format');
    expect(e.message).toMatch(/gif/i);
    const tiff = await rawImage(rgb, 200, 100).tiff().toBuffer();
    await expectCode(decodeSourceImage(tiff, 64, LIMITS), 'input/image_unsupported_format');
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await expectCode(decodeSourceImage(svg, 64, LIMITS), 'input/image_unsupported_format');
    await expectCode(decodeSourceImage(Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic'), Buffer.alloc(32)]), 64, LIMITS), 'input/image_unsupported_format');
    await expectCode(decodeSourceImage(Buffer.concat([Buffer.from('BM'), Buffer.alloc(64)]), 64, LIMITS), 'input/image_unsupported_format');
  });

  it('refuses garbage, truncated and mislabelled data with input/image_undecodable', async () => {
    await expectCode(decodeSourceImage(Buffer.from('definitely not an image, just some text'), 64, LIMITS), 'input/image_undecodable');
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    await expectCode(decodeSourceImage(noise, 64, LIMITS), 'input/image_undecodable');
    // A valid signature followed by garbage.
    await expectCode(decodeSourceImage(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), noise]), 64, LIMITS), 'input/image_undecodable');
    await expectCode(decodeSourceImage(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), noise]), 64, LIMITS), 'input/image_undecodable');
    // Truncated files.
    const noisy = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < noisy.length; i++) noisy[i] = (i * 7919) % 251;
    for (const enc of [(s: Sharp) => s.png(), (s: Sharp) => s.jpeg(), (s: Sharp) => s.webp()]) {
      const full = await enc(rawImage(noisy, 64, 64)).toBuffer();
      await expectCode(decodeSourceImage(full.subarray(0, Math.floor(full.length * 0.6)), 32, LIMITS), 'input/image_undecodable');
    }
  });

  it('refuses empty input with input/image_missing', async () => {
    await expectCode(decodeSourceImage(Buffer.alloc(0), 64, LIMITS), 'input/image_missing');
  });

  it('refuses a 5000x5000 PNG under maxPixels 4e6 from its header, without decoding pixels', async () => {
    // The header claims 5000x5000 but the pixel data is garbage: decoding it would fail with
    // 'undecodable', so 'too_large' proves the refusal came from the header alone.
    const fake = pngHeaderOnly(5000, 5000);
    expect(fake.length).toBeLessThan(200);
    const e = await expectCode(decodeSourceImage(fake, 64, { maxBytes: 1 << 20, maxPixels: 4e6 }), 'input/image_too_large');
    expect(e.message).toContain('5000x5000');
    expect((e as { details?: unknown }).details).toMatchObject({ width: 5000, height: 5000, maxPixels: 4e6 });
    // Control: with a higher pixel limit the same bytes are undecodable.
    await expectCode(decodeSourceImage(fake, 64, { maxBytes: 1 << 20, maxPixels: 1e8 }), 'input/image_undecodable');
  });

  it('refuses a real image over maxPixels, and one over maxBytes', async () => {
    const png = await rawImage(rgb, 200, 100).png().toBuffer();
    await expectCode(decodeSourceImage(png, 64, { maxBytes: LIMITS.maxBytes, maxPixels: 200 * 100 - 1 }), 'input/image_too_large');
    await expect(decodeSourceImage(png, 64, { maxBytes: LIMITS.maxBytes, maxPixels: 200 * 100 })).resolves.toBeDefined();
    await expectCode(decodeSourceImage(png, 64, { maxBytes: png.length - 1, maxPixels: LIMITS.maxPixels }), 'input/image_too_large');
  });

  it('rejects a bad size or limits as programming errors', async () => {
    const png = await rawImage(rgb, 200, 100).png().toBuffer();
    await expect(decodeSourceImage(png, 0, LIMITS)).rejects.toThrow(RangeError);
    await expect(decodeSourceImage(png, 64, { maxBytes: 1000, maxPixels: 0 })).rejects.toThrow(RangeError);
  });
});

describe('sniffImageFormat', () => {
  it('names accepted, refused and unknown formats', () => {
    expect(sniffImageFormat(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toEqual({ kind: 'accepted', format: 'png' });
    expect(sniffImageFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toEqual({ kind: 'accepted', format: 'jpeg' });
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toEqual({ kind: 'accepted', format: 'webp' });
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WAVEfmt '))).toEqual({ kind: 'unknown' });
    expect(sniffImageFormat(Buffer.from('GIF89a...'))).toEqual({ kind: 'unsupported', format: 'gif' });
    expect(sniffImageFormat(Buffer.from('\uFEFF  <svg viewBox="0 0 1 1"></svg>'))).toEqual({ kind: 'unsupported', format: 'svg' });
    expect(sniffImageFormat(Buffer.from('P6\n1 1\n255\n\0\0\0'))).toEqual({ kind: 'unsupported', format: 'netpbm' });
    expect(sniffImageFormat(Buffer.alloc(0))).toEqual({ kind: 'unknown' });
  });
});

describe('parseDataUrl', () => {
  const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6, 7]);
  const b64 = bytes.toString('base64');

  it('parses png, jpeg and webp data URLs', () => {
    expect(parseDataUrl(`data:image/png;base64,${b64}`, 100)).toEqual({ bytes, mime: 'image/png' });
    expect(parseDataUrl(`data:image/jpeg;base64,${b64}`, 100).mime).toBe('image/jpeg');
    expect(parseDataUrl(`data:image/webp;base64,${b64}`, 100).mime).toBe('image/webp');
    // Case-insensitive header, the image/jpg alias, extra parameters, unpadded base64.
    expect(parseDataUrl(`DATA:Image/JPG;name=a.jpg;BASE64,${b64}`, 100)).toEqual({ bytes, mime: 'image/jpeg' });
    expect(parseDataUrl(`data:image/png;base64,${b64.replace(/=+$/, '')}`, 100).bytes).toEqual(bytes);
  });

  it('round-trips a real image through decodeSourceImage', async () => {
    const png = await rawImage(halves(20, 10), 20, 10).png().toBuffer();
    const parsed = parseDataUrl(`data:image/png;base64,${png.toString('base64')}`, 1 << 20);
    expect(parsed.bytes.equals(png)).toBe(true);
    expect((await decodeSourceImage(parsed.bytes, 8, LIMITS)).format).toBe('png');
  });

  it('refuses other media types with input/image_unsupported_format', async () => {
    for (const mime of ['image/gif', 'image/svg+xml', 'text/plain', 'application/octet-stream']) {
      const e = await expectCode(() => parseDataUrl(`data:${mime};base64,${b64}`, 100), 'input/image_unsupported_format');
      expect(e.message).toContain(mime);
    }
  });

  it('refuses malformed data URLs with input/image_undecodable', async () => {
    const bad = [
      b64, // no data: prefix
      'http://example.com/a.png',
      'data:image/png,plain-text-payload', // not base64
      'data:image/png;base64', // no comma
      'data:;base64,' + b64, // no media type -> not an image type, but first: handled below
      `data:image/png;base64,${b64.slice(0, -2)}!!`, // bad characters
      `data:image/png;base64,${b64} `, // whitespace
      'data:image/png;base64,A', // impossible length
      'data:image/png;base64,AB=C', // padding in the middle
      `data:${'x'.repeat(300)};base64,${b64}`, // header longer than any real one
    ];
    for (const s of bad) {
      let err: unknown;
      try {
        parseDataUrl(s, 100);
      } catch (e) {
        err = e;
      }
      if (s.startsWith('data:;')) {
        expect(isCodedError(err, 'input/image_unsupported_format')).toBe(true);
        continue;
      }
      if (!isCodedError(err, 'input/image_undecodable')) throw new Error(`${JSON.stringify(s.slice(0, 60))}: expected input/image_undecodable, got ${String(err)}`);
      expect(err.message.length).toBeGreaterThan(10);
    }
  });

  it('refuses an empty payload with input/image_missing', async () => {
    await expectCode(() => parseDataUrl('data:image/png;base64,', 100), 'input/image_missing');
  });

  it('refuses payloads over maxBytes with input/image_too_large, cheaply for huge strings', async () => {
    const ok = Buffer.alloc(99, 7);
    expect(parseDataUrl(`data:image/png;base64,${ok.toString('base64')}`, 99).bytes.length).toBe(99);
    const over = Buffer.alloc(100, 7);
    await expectCode(() => parseDataUrl(`data:image/png;base64,${over.toString('base64')}`, 99), 'input/image_too_large');
    await expectCode(() => parseDataUrl(`data:image/png;base64,${over.toString('base64').replace(/=+$/, '')}`, 99), 'input/image_too_large');
    // 64 MB of '!' (not even base64) over a 1 MB limit: refused as too large from the length
    // alone, before the payload is scanned or decoded (a scan would have called it undecodable,
    // a decode would have said how many bytes it has)
    const huge = 'data:image/png;base64,' + '!'.repeat(64 * 1024 * 1024);
    await expectCode(() => parseDataUrl(huge, 1 << 20), 'input/image_too_large');
    expect(() => parseDataUrl(huge, 1 << 20)).toThrow(/^image is larger than the 1048576-byte limit$/);
  });
});

describe('encodePng / rgbToPng / pngToTensor', () => {
  it('round-trips a [3, S, S] tensor in [0, 1] up to rounding', async () => {
    const size = 24;
    const plane = size * size;
    const t = new Float32Array(3 * plane);
    for (let i = 0; i < t.length; i++) t[i] = ((i * 37) % 1000) / 999;
    const png = await encodePng(t, size);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', size, size, 3]);
    const back = await pngToTensor(png);
    expect([back.width, back.height]).toEqual([size, size]);
    let maxErr = 0;
    for (let i = 0; i < t.length; i++) maxErr = Math.max(maxErr, Math.abs(back.tensor[i]! - t[i]!));
    expect(maxErr).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    // Exactly the rounded values, channel planes in the right place.
    for (const i of [0, 1, plane + 5, 2 * plane + 77, 3 * plane - 1]) expect(back.tensor[i]).toBeCloseTo(Math.round(t[i]! * 255) / 255, 6);
  });

  it('clamps out-of-range values and maps NaN to 0', async () => {
    const t = new Float32Array(3 * 4).fill(0.5);
    t[0] = -0.3;
    t[1] = 1.7;
    t[2] = Number.NaN;
    const back = await pngToTensor(await encodePng(t, 2));
    expect(Array.from(back.tensor.subarray(0, 4))).toEqual([0, 1, 0, 128 / 255].map((v) => Math.fround(v)));
  });

  it('is deterministic (same pixels, same bytes) and agrees with rgbToPng', async () => {
    const t = new Float32Array(3 * 16 * 16).map((_, i) => (i % 7) / 6);
    const a = await encodePng(t, 16);
    const b = await encodePng(t, 16);
    expect(a.equals(b)).toBe(true);
    const rgb = new Uint8Array(16 * 16 * 3);
    for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(t[c * 256 + p]! * 255);
    expect((await rgbToPng(rgb, 16, 16)).equals(a)).toBe(true);
  });

  it('rgbToPng writes HWC pixels (a view into a larger buffer included)', async () => {
    const big = new Uint8Array(100);
    const view = big.subarray(10, 10 + 3 * 2 * 1); // 2x1 image
    view.set([255, 0, 0, 0, 0, 255]);
    const png = await rgbToPng(view, 2, 1);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([2, 1, 3]);
    expect(Array.from(data)).toEqual([255, 0, 0, 0, 0, 255]);
  });

  it('rejects mismatched lengths', async () => {
    await expect(encodePng(new Float32Array(10), 2)).rejects.toThrow(RangeError);
    await expect(rgbToPng(new Uint8Array(5), 2, 1)).rejects.toThrow(RangeError);
  });

  it('feeds decodeSourceImage: an encoded [0, 1] image decodes to 2 v - 1', async () => {
    const size = 8;
    const t = new Float32Array(3 * size * size).map((_, i) => (i % 256) / 255);
    const out = await decodeSourceImage(await encodePng(t, size), size, LIMITS);
    for (let i = 0; i < t.length; i++) expect(out.tensor[i]).toBeCloseTo(2 * t[i]! - 1, 5);
  });
});
