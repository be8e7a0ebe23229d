/** A pack as the public API describes it (PackInfo), from its manifest; and the packs of a folder without loading their models. */
import * as fs from 'fs';
import type { PackInfo } from '../types';
import { discoverPacks, duplicatePackError, LoadPackOptions } from './load';
import type { PackManifest } from './schema';

export function packInfoOf(m: PackManifest): PackInfo {
  return {
    name: m.name,
    description: m.description,
    sourceDomains: m.sourceDomains,
    targetDomain: m.targetDomain,
    imageSize: m.imageSize,
    numTimesteps: m.schedule.numTimesteps,
    schedule: { betaSchedule: m.schedule.betaSchedule, betaStart: m.schedule.betaStart, betaEnd: m.schedule.betaEnd, varType: m.schedule.varType },
    defaults: { sampler: m.defaults.sampler, M: m.defaults.M, steps: m.defaults.steps, lambdaS: m.defaults.lambdaS, lambdaI: m.defaults.lambdaI, s1: m.defaults.s1, s2: m.defaults.s2, repeats: m.defaults.repeats, downN: m.defaults.downN },
  };
}

/** The valid packs of `modelsDir` as PackInfo (manifests only; no model is read); none when the folder is missing. */
export async function readPackInfos(modelsDir: string, opts: LoadPackOptions = {}): Promise<PackInfo[]> {
  if (!fs.existsSync(modelsDir)) return [];
  const { packs, errors } = await discoverPacks(modelsDir, opts);
  const duplicate = duplicatePackError(errors);
  if (duplicate) throw duplicate;
  return packs.map((p) => packInfoOf(p.manifest));
}
