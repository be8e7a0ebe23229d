/**
 * Image format detection by signature ("magic bytes"), done before any decoder sees the input so
 * that only the PNG, JPEG and WebP decoders are ever reached with untrusted bytes (sharp/libvips
 * would otherwise also parse GIF, TIFF, SVG, HEIF, PDF...).
 *
 * Signatures: PNG, ISO/IEC 15948 section 5.2 (89 50 4E 47 0D 0A 1A 0A); JPEG, ITU-T T.81 B.1.1.2
 * (SOI FF D8, then a marker FF xx); WebP, the RIFF container of the WebP Container Specification
 * ("RIFF" size "WEBP").
 */

/** The formats decodeSourceImage accepts. */
export type AcceptedImageFormat = 'png' | 'jpeg' | 'webp';

export type SniffResult =
  | { kind: 'accepted'; format: AcceptedImageFormat }
  /** a recognised image (or image-like) format the service does not accept */
  | { kind: 'unsupported'; format: string }
  /** no known signature */
  | { kind: 'unknown' };

function startsWith(bytes: Uint8Array, sig: readonly number[], at = 0): boolean {
  if (bytes.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[at + i] !== sig[i]) return false;
  return true;
}

function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIG = [0xff, 0xd8, 0xff];

/** Signatures of formats recognised only to be refused with a precise message. */
const UNSUPPORTED: ReadonlyArray<{ format: string; sig: number[]; at?: number }> = [
  { format: 'gif', sig: ascii('GIF87a') },
  { format: 'gif', sig: ascii('GIF89a') },
  { format: 'tiff', sig: [0x49, 0x49, 0x2a, 0x00] },
  { format: 'tiff', sig: [0x4d, 0x4d, 0x00, 0x2a] },
  { format: 'tiff', sig: [0x49, 0x49, 0x2b, 0x00] }, // BigTIFF
  { format: 'tiff', sig: [0x4d, 0x4d, 0x00, 0x2b] },
  { format: 'bmp', sig: ascii('BM') },
  { format: 'pdf', sig: ascii('%PDF') },
  { format: 'psd', sig: ascii('8BPS') },
  { format: 'ico', sig: [0x00, 0x00, 0x01, 0x00] },
  { format: 'jp2', sig: [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20] },
  { format: 'jxl', sig: [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20] },
  { format: 'jxl', sig: [0xff, 0x0a] },
  { format: 'exr', sig: [0x76, 0x2f, 0x31, 0x01] },
  { format: 'fits', sig: ascii('SIMPLE  =') },
  // ISO base media file format ("ftyp" box at offset 4): HEIC/HEIF/AVIF
  { format: 'heif', sig: ascii('ftyp'), at: 4 },
];

/** Identifies the format of `bytes` from its signature. Never throws. */
export function sniffImageFormat(bytes: Uint8Array): SniffResult {
  if (startsWith(bytes, PNG_SIG)) return { kind: 'accepted', format: 'png' };
  if (startsWith(bytes, JPEG_SIG)) return { kind: 'accepted', format: 'jpeg' };
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return { kind: 'accepted', format: 'webp' };
  for (const u of UNSUPPORTED) if (startsWith(bytes, u.sig, u.at ?? 0)) return { kind: 'unsupported', format: u.format };
  // Netpbm (P1..P7 then whitespace)
  if (bytes.length >= 3 && bytes[0] === 0x50 && bytes[1]! >= 0x31 && bytes[1]! <= 0x37 && /\s/.test(String.fromCharCode(bytes[2]!))) {
    return { kind: 'unsupported', format: 'netpbm' };
  }
  // SVG / XML: text that opens with '<' (after an optional UTF-8 BOM and whitespace) and
  // mentions <svg early on.
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 1024)).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('<')) return { kind: 'unsupported', format: /<svg[\s>]/i.test(head) ? 'svg' : 'xml' };
  return { kind: 'unknown' };
}
