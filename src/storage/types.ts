/**
 * Artifact storage: content-addressed blobs (source images, outputs, previews).
 *
 * A key is the SHA-256 of the bytes (FIPS 180-4), lower-case hex, plus an extension naming the
 * content type: `<64 hex>.png | .jpg | .webp`. The same bytes stored under the same content type
 * always get the same key, so storing is idempotent and an artifact never changes once written.
 *
 * Every adapter (the embedded LocalDiskStorage, a future distributed S3/Redis one) implements
 * ArtifactStorage and passes `storageConformance` (./conformance.ts).
 */
import { createHash } from 'node:crypto';
import { CodedError } from '../errors';

/** Content types an artifact may have, and the key extension each maps to. */
export const ARTIFACT_CONTENT_TYPES = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
} as const;

export type ArtifactContentType = keyof typeof ARTIFACT_CONTENT_TYPES;
export type ArtifactExtension = (typeof ARTIFACT_CONTENT_TYPES)[ArtifactContentType];

/** The only key shape any adapter accepts; anything else is 'storage/not_found'. */
export const ARTIFACT_KEY_RE = /^[0-9a-f]{64}\.(png|jpg|webp)$/;

export interface PutResult {
  /** `<sha256 hex>.<ext>` */
  key: string;
  /** Size of the stored bytes. */
  bytes: number;
}

export interface StoredArtifact {
  bytes: Buffer;
  contentType: ArtifactContentType;
}

export interface ArtifactStat {
  key: string;
  /** Size of the stored bytes. */
  bytes: number;
  contentType: ArtifactContentType;
}

export interface ArtifactStorage {
  /**
   * Stores `bytes` under `<sha256(bytes) hex>.<ext of contentType>` and returns the key. Storing
   * content that is already there is a no-op. Concurrent puts of the same bytes are safe; a
   * reader never sees a partly written artifact. `contentType` is one of ARTIFACT_CONTENT_TYPES
   * (case-insensitive, parameters such as `; q=1` ignored, `image/jpg` accepted for
   * `image/jpeg`); another one fails with 'storage/failed'. Later changes to `bytes` do not
   * affect what was stored.
   */
  put(bytes: Buffer, contentType: string): Promise<PutResult>;
  /**
   * The artifact, or null when no artifact has that (well-formed) key. The returned buffer is the
   * caller's to keep or modify. 'storage/not_found' for a malformed key.
   */
  get(key: string): Promise<StoredArtifact | null>;
  /** Whether the artifact exists. 'storage/not_found' for a malformed key. */
  exists(key: string): Promise<boolean>;
  /**
   * Removes the artifact; true when it existed, false when it did not. 'storage/not_found' for a
   * malformed key.
   */
  delete(key: string): Promise<boolean>;
  /** Size and content type without reading the bytes, or null. 'storage/not_found' for a malformed key. */
  stat(key: string): Promise<ArtifactStat | null>;
}

/** True for a well-formed artifact key (see ARTIFACT_KEY_RE). */
export function isArtifactKey(key: unknown): key is string {
  return typeof key === 'string' && ARTIFACT_KEY_RE.test(key);
}

/**
 * Throws 'storage/not_found' unless `key` is a well-formed artifact key. A malformed key cannot
 * name any artifact, so this is what adapters answer for `../../etc/passwd` and the like, before
 * any path or remote name is built from it.
 */
export function assertArtifactKey(key: unknown): asserts key is string {
  if (!isArtifactKey(key)) {
    const shown = typeof key === 'string' ? JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}...` : key) : typeof key;
    throw new CodedError('storage/not_found', `no artifact with key ${shown} (keys look like "<64 hex digits>.png")`, {
      key: typeof key === 'string' ? key.slice(0, 200) : null,
    });
  }
}

/** Normalises a content type: lower case, parameters dropped, `image/jpg` -> `image/jpeg`; null if not accepted. */
export function normaliseContentType(contentType: string): ArtifactContentType | null {
  if (typeof contentType !== 'string') return null;
  const base = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const ct = base === 'image/jpg' ? 'image/jpeg' : base;
  return Object.prototype.hasOwnProperty.call(ARTIFACT_CONTENT_TYPES, ct) ? (ct as ArtifactContentType) : null;
}

/** The accepted content type, or 'storage/failed' (a caller bug: the service only stores images). */
export function requireContentType(contentType: string): ArtifactContentType {
  const ct = normaliseContentType(contentType);
  if (ct === null) {
    throw new CodedError(
      'storage/failed',
      `cannot store content type ${JSON.stringify(contentType)}; accepted: ${Object.keys(ARTIFACT_CONTENT_TYPES).join(', ')}`,
      { contentType },
    );
  }
  return ct;
}

/** SHA-256 of `bytes`, lower-case hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The key `bytes` get under `contentType` ('storage/failed' for a content type not accepted). */
export function artifactKey(bytes: Uint8Array, contentType: string): string {
  return `${sha256Hex(bytes)}.${ARTIFACT_CONTENT_TYPES[requireContentType(contentType)]}`;
}

/** The content type a well-formed key names. */
export function contentTypeOfKey(key: string): ArtifactContentType {
  assertArtifactKey(key);
  const ext = key.slice(65) as ArtifactExtension;
  switch (ext) {
    case 'png':
      return 'image/png';
    case 'jpg':
      return 'image/jpeg';
    case 'webp':
      return 'image/webp';
    default: {
      const never: never = ext;
      throw new Error(`unreachable extension ${String(never)}`);
    }
  }
}

/** The hex digest part of a well-formed key. */
export function digestOfKey(key: string): string {
  assertArtifactKey(key);
  return key.slice(0, 64);
}
