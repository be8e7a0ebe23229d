/** Model packs: the pack.json manifest and the loader (docs/architecture.md). */
export {
  PACK_NAME_PATTERN,
  PAPER_DEFAULTS,
  formatFieldPath,
  packManifestSchema,
  parsePackManifest,
} from './schema';
export type { PackDefaults, PackDseModel, PackManifest, PackSchedule, PackScoreModel } from './schema';
export { PACK_MANIFEST_FILE, discoverPacks, duplicatePackError, findPack, loadPack } from './load';
export type { DiscoverPacksResult, LoadPackOptions, LoadedPack } from './load';
export { removeDeadStaging, writePackFolder } from './write';
export type { WritePackFolderOptions } from './write';
