/** Artifact storage: the ArtifactStorage interface, key helpers, and the embedded adapter. */
export {
  ARTIFACT_CONTENT_TYPES,
  ARTIFACT_KEY_RE,
  artifactKey,
  assertArtifactKey,
  contentTypeOfKey,
  digestOfKey,
  isArtifactKey,
  normaliseContentType,
  requireContentType,
  sha256Hex,
  type ArtifactContentType,
  type ArtifactExtension,
  type ArtifactStat,
  type ArtifactStorage,
  type PutResult,
  type StoredArtifact,
} from './types';
export { LocalDiskStorage, type LocalDiskStorageOptions } from './local-disk';
