/**
 * GraphQL enums, derived from the one vocabulary (src/engine/vocabulary.ts, src/runs/status.ts):
 * each GraphQL name is the value upper-cased (`neg_l2` -> `NEG_L2`), each value the vocabulary's own.
 */
import { registerEnumType } from 'type-graphql';
import { ENERGIES, SAMPLERS } from '../engine';
import { RUN_EVENT_TYPES, RUN_STATUSES } from '../runs';

type EnumOf<T extends readonly string[]> = { readonly [K in T[number] as Uppercase<K>]: K };

/** An enum-like object for type-graphql from an `as const` list. */
function enumOf<T extends readonly string[]>(values: T): EnumOf<T> {
  return Object.fromEntries(values.map((v) => [v.toUpperCase(), v])) as EnumOf<T>;
}

export const RunStatusEnum = enumOf(RUN_STATUSES);
registerEnumType(RunStatusEnum, { name: 'RunStatus', description: 'QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED (QUEUED -> CANCELLED too)' });

export const SamplerEnum = enumOf(SAMPLERS);
registerEnumType(SamplerEnum, { name: 'Sampler', description: "EGSDE, or one of the paper's baselines (SDEdit: no energy; ILVR: low-pass replacement)" });

export const EnergyEnum = enumOf(ENERGIES);
registerEnumType(EnergyEnum, { name: 'Energy', description: 'energy function of an expert (docs/egsde-step.md §6, §7)' });

export const RunEventTypeEnum = enumOf(RUN_EVENT_TYPES);
registerEnumType(RunEventTypeEnum, { name: 'RunEventType' });
