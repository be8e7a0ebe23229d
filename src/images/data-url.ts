/**
 * `data:` URL parsing for uploaded images (RFC 2397, base64 form only).
 *
 * Accepted: `data:image/png;base64,<payload>`, likewise `image/jpeg` (alias `image/jpg`) and
 * `image/webp`; the media type is case-insensitive and extra `;name=value` parameters before
 * `;base64` are ignored. The payload must be standard base64 (RFC 4648 section 4: `A-Z a-z 0-9 +
 * /`, `=` padding optional, no whitespace).
 */
import { CodedError } from '../errors';

/** The image media types the service accepts, and the format each names. */
export const ACCEPTED_IMAGE_MIME = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/webp': 'webp',
} as const;

export type AcceptedImageMime = keyof typeof ACCEPTED_IMAGE_MIME;

export interface ParsedDataUrl {
  /** The decoded payload. */
  bytes: Buffer;
  /** The declared media type, normalised to lower case (`image/jpg` becomes `image/jpeg`). */
  mime: AcceptedImageMime;
}

/** The header (`data:<mime>[;params];base64,`) is looked for only in this many leading chars. */
const MAX_HEADER_CHARS = 256;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Parses a base64 `data:` URL holding a PNG, JPEG or WebP image.
 *
 * Errors (CodedError):
 * - 'input/image_undecodable': not a `data:` URL, not base64, or a malformed payload;
 * - 'input/image_unsupported_format': a well-formed data URL of another media type;
 * - 'input/image_missing': an empty payload;
 * - 'input/image_too_large': the decoded payload would exceed `maxBytes`. This is decided from
 *   the payload's length before anything is decoded or scanned, so a huge string is refused
 *   cheaply.
 */
export function parseDataUrl(s: string, maxBytes: number): ParsedDataUrl {
  if (typeof s !== 'string') {
    throw new CodedError('input/image_undecodable', 'image must be a data: URL string');
  }
  if (s.slice(0, 5).toLowerCase() !== 'data:') {
    throw new CodedError('input/image_undecodable', 'image is not a data: URL (expected "data:image/png;base64,...")');
  }
  const comma = s.indexOf(',', 5);
  if (comma < 0 || comma > MAX_HEADER_CHARS) {
    throw new CodedError('input/image_undecodable', 'malformed data: URL: no "," after the media type');
  }
  const header = s.slice(5, comma).toLowerCase();
  const parts = header.split(';').map((p) => p.trim());
  const rawMime = parts[0] ?? '';
  if (parts.length < 2 || parts[parts.length - 1] !== 'base64') {
    throw new CodedError('input/image_undecodable', 'malformed data: URL: only base64 data URLs are accepted (";base64,")');
  }
  const mime = rawMime === 'image/jpg' ? 'image/jpeg' : rawMime;
  if (!Object.prototype.hasOwnProperty.call(ACCEPTED_IMAGE_MIME, mime)) {
    throw new CodedError(
      'input/image_unsupported_format',
      `unsupported image media type "${rawMime || '(none)'}"; accepted: image/png, image/jpeg, image/webp`,
      { mime: rawMime },
    );
  }

  const payloadLength = s.length - comma - 1;
  if (payloadLength === 0) {
    throw new CodedError('input/image_missing', 'the data: URL has an empty payload');
  }
  // Cheap refusal before scanning or decoding: every 4 base64 chars carry 3 bytes, and at most
  // 2 of the final chars are padding, so the payload decodes to at least floor(3 n / 4) - 2 bytes.
  const minDecoded = Math.floor((payloadLength * 3) / 4) - 2;
  if (minDecoded > maxBytes) {
    throw new CodedError('input/image_too_large', `image is larger than the ${maxBytes}-byte limit`, {
      maxBytes,
      approxBytes: minDecoded + 2,
    });
  }

  const payload = s.slice(comma + 1);
  if (payloadLength % 4 === 1 || !BASE64_RE.test(payload)) {
    throw new CodedError('input/image_undecodable', 'malformed data: URL: the payload is not valid base64');
  }
  const bytes = Buffer.from(payload, 'base64');
  if (bytes.length === 0) {
    throw new CodedError('input/image_missing', 'the data: URL has an empty payload');
  }
  if (bytes.length > maxBytes) {
    throw new CodedError('input/image_too_large', `image is ${bytes.length} bytes, more than the ${maxBytes}-byte limit`, {
      maxBytes,
      bytes: bytes.length,
    });
  }
  return { bytes, mime: mime as AcceptedImageMime };
}
