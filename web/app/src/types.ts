/**
 * The app's types. Those of API data are derived from the typed documents GraphQL Code Generator
 * generates from src/operations.graphql (web/shared/gql, `npm run codegen`); the rest are the UI's.
 */
import type {
  AppPacksQuery,
  AppRunEventsSubscription,
  AppRunQuery,
  AppRunsQuery,
  Energy,
  RunStatus,
  Sampler,
} from '../../shared/gql/graphql';

export type { Energy, RunEventType, RunStatus, Sampler } from '../../shared/gql/graphql';
/** Mutation.translate's params, as sent (the generated input type) */
export type { RunParamsInput } from '../../shared/gql/graphql';

export const SAMPLERS: Sampler[] = ['EGSDE', 'SDEDIT', 'ILVR'];
export const ENERGIES: Energy[] = ['COSINE', 'NEG_L2'];
export const STATUSES: RunStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
export const TERMINAL: RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** a pack (AppPacks) */
export type Pack = AppPacksQuery['packs'][number];
export type PackDefaults = Pack['defaults'];

/** a run's record (AppRun) */
export type Run = NonNullable<AppRunQuery['run']>;
export type Metrics = NonNullable<Run['metrics']>;
export type RunError = NonNullable<Run['error']>;

/** one of a run's events (AppRunEvents) */
export type RunEvent = AppRunEventsSubscription['runEvents'];

/** a row of the run history (AppRuns) */
export type RunSummary = AppRunsQuery['runs']['edges'][number]['node'];

/** The parameters form's value (UI only): every field set, the seed as typed ('' = random). */
export interface ParamsValue {
  sampler: Sampler;
  M: number;
  steps: number;
  lambdaS: number;
  lambdaI: number;
  s1: Energy;
  s2: Energy;
  seed: string;
  repeats: number;
  previewEvery: number;
}
