/** Model packs: the pack.json manifest and the loader (DESIGN.md section 5). */
export {
  BETA_SCHEDULES,
  FAITHFULNESS_ENERGIES,
  PACK_NAME_PATTERN,
  REALISM_ENERGIES,
  SAMPLERS,
  SCORE_KINDS,
  VARIANCE_TYPES,
  formatFieldPath,
  packManifestSchema,
  parsePackManifest,
} from './schema';
export type { PackDefaults, PackDseModel, PackManifest, PackSchedule, PackScoreModel } from './schema';
export { PACK_MANIFEST_FILE, discoverPacks, findPack, loadPack } from './load';
export type { DiscoverPacksResult, LoadPackOptions, LoadedPack } from './load';
