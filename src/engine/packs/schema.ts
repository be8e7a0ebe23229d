/**
 * The model-pack manifest (`pack.json`, DESIGN.md section 5): its zod schema, the parsed and
 * defaults-filled `PackManifest` type, and `parsePackManifest`, which turns any validation
 * failure into an `EngineError('pack/invalid')` naming the file and the JSON field path.
 *
 * This module checks what can be checked from the JSON alone; load.ts resolves and checks the
 * referenced ONNX files on disk.
 */
import * as path from 'path';
import { z } from 'zod';
import { EngineError } from '../errors';
import type { BetaScheduleKind, VarianceType } from '../sampling/schedule';
import type { RealismEnergyKind } from '../sampling/realism-energy';
import type { FaithfulnessEnergyKind, SamplerKind, ScoreKind } from '../sampling/step-graph';

// ---------------------------------------------------------------------------------------------
// Literal unions, kept equal to the engine's own types (a compile error if either side drifts).

export const BETA_SCHEDULES = ['linear', 'quad', 'const', 'jsd', 'sigmoid'] as const;
export const VARIANCE_TYPES = ['fixedsmall', 'fixedlarge'] as const;
export const SCORE_KINDS = ['adm-learned-sigma', 'eps'] as const;
export const REALISM_ENERGIES = ['cosine', 'neg_l2'] as const;
export const FAITHFULNESS_ENERGIES = ['cosine', 'neg_l2'] as const;
export const SAMPLERS = ['egsde', 'sdedit', 'ilvr'] as const;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Member<T extends readonly string[]> = T[number];
const unionsMatch: [
  Same<Member<typeof BETA_SCHEDULES>, BetaScheduleKind>,
  Same<Member<typeof VARIANCE_TYPES>, VarianceType>,
  Same<Member<typeof SCORE_KINDS>, ScoreKind>,
  Same<Member<typeof REALISM_ENERGIES>, RealismEnergyKind>,
  Same<Member<typeof FAITHFULNESS_ENERGIES>, FaithfulnessEnergyKind>,
  Same<Member<typeof SAMPLERS>, SamplerKind>,
] = [true, true, true, true, true, true];
void unionsMatch;

/** Pack names: task ids used in the API (`translate(input: {task})`) and as folder names. */
export const PACK_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

// ---------------------------------------------------------------------------------------------
// The parsed manifest. Every optional field of pack.json is filled with its default here.

/** `schedule`: the diffusion noise schedule the score model was trained with (DESIGN.md section 3). */
export interface PackSchedule {
  /** `get_beta_schedule` kind. Default 'linear'. */
  betaSchedule: BetaScheduleKind;
  /** First beta, in (0, 1). Default 1e-4. */
  betaStart: number;
  /** Last beta, in (0, 1) and >= betaStart. Default 0.02. */
  betaEnd: number;
  /** T, the number of diffusion timesteps (integer 1..100000). Default 1000. */
  numTimesteps: number;
  /** Posterior log-variance: 'fixedsmall' or 'fixedlarge'. Default 'fixedsmall'. */
  varType: VarianceType;
}

/** `score`: the diffusion (score) model, inputs `input` [N,3,S,S] and `timestep` [N]. */
export interface PackScoreModel {
  /** ONNX file, a relative path resolving inside the pack folder (see LoadPackOptions). Required. */
  file: string;
  /** 'adm-learned-sigma' (6 output channels, eps is the first 3) or 'eps' (3 channels). Required. */
  kind: ScoreKind;
  /** Name of the image input. Default 'x'. */
  input: string;
  /** Name of the timestep input (float timestep index, [N]). Default 't'. */
  timestep: string;
  /** Name of the output to use; undefined means the model's first output. Default undefined. */
  output?: string;
}

/** `dse`: the domain-specific feature extractor (the realism expert's trunk). */
export interface PackDseModel {
  /** ONNX file, a relative path resolving inside the pack folder (see LoadPackOptions). Required. */
  file: string;
  /** Name of the image input. Default 'x'. */
  input: string;
  /** Name of the timestep input. Default 't'. */
  timestep: string;
  /** Name of the feature output [N,C,H,W]; undefined means the model's first output. Default undefined. */
  featureOutput?: string;
}

/** `defaults`: default run parameters (each may be overridden per run). */
export interface PackDefaults {
  /** Start time M (the run starts from timestep M-1), integer 1..schedule.numTimesteps. Default 500. */
  M: number;
  /** Realism weight lambda_s, finite >= 0. Default 500. */
  lambdaS: number;
  /** Faithfulness weight lambda_i, finite >= 0. Default 2. */
  lambdaI: number;
  /** Realism energy. Default 'cosine'. */
  s1: RealismEnergyKind;
  /** Faithfulness energy. Default 'neg_l2'. */
  s2: FaithfulnessEnergyKind;
  /** Low-pass factor down_N, an integer >= 1 that divides imageSize. Default 32. */
  downN: number;
  /** Sampling steps, integer 1..M (fewer than M means respacing). Default M (no respacing). */
  steps: number;
  /** Sampler. Default 'egsde'. */
  sampler: SamplerKind;
  /** Repeats of the whole procedure (the official `sample_step`), integer 1..100. Default 1. */
  repeats: number;
}

export interface PackManifest {
  /** Task id, /^[a-z0-9][a-z0-9_-]*$/, unique within a models directory. Required. */
  name: string;
  /** Free text. Optional, no default. */
  description?: string;
  /** The primary source domain: `sourceDomain`, or `sourceDomains[0]`. */
  sourceDomain: string;
  /**
   * All source domains (non-empty, distinct). pack.json gives either `sourceDomain` (a string)
   * or `sourceDomains` (a non-empty array, for multi-domain packs), not both.
   */
  sourceDomains: string[];
  /** The target domain, a non-empty string. Required. */
  targetDomain: string;
  /** Square image size S in pixels: integer 8..1024, a multiple of 8. Required. */
  imageSize: number;
  /** Optional; every field has a default. */
  schedule: PackSchedule;
  /** Required. */
  score: PackScoreModel;
  /** Required. */
  dse: PackDseModel;
  /** Optional; every field has a default. */
  defaults: PackDefaults;
}

// ---------------------------------------------------------------------------------------------
// The zod schema (unknown keys are refused, so a misspelt field is an error, not a silent default).

const nonEmptyString = z.string().refine((s) => s.trim().length > 0, 'must not be empty');

const intIn = (min: number, max: number) =>
  z.number().int('must be an integer').min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);

const nonNegative = z.number().finite('must be finite').min(0, 'must be >= 0');

const betaValue = z.number().gt(0, 'must be > 0').lt(1, 'must be < 1');

/** A relative file path; whether it resolves inside the pack folder is checked by the loader. */
const relativeFile = nonEmptyString
  .refine((s) => !s.includes('\0'), 'must not contain NUL characters')
  .refine(
    (s) => !path.posix.isAbsolute(s) && !path.win32.isAbsolute(s),
    'must be a relative path (resolved against the pack folder)',
  );

const scheduleSchema = z
  .object({
    betaSchedule: z.enum(BETA_SCHEDULES).default('linear'),
    betaStart: betaValue.default(1e-4),
    betaEnd: betaValue.default(0.02),
    numTimesteps: intIn(1, 100_000).default(1000),
    varType: z.enum(VARIANCE_TYPES).default('fixedsmall'),
  })
  .strict();

const scoreSchema = z
  .object({
    file: relativeFile,
    kind: z.enum(SCORE_KINDS),
    input: nonEmptyString.default('x'),
    timestep: nonEmptyString.default('t'),
    output: nonEmptyString.optional(),
  })
  .strict();

const dseSchema = z
  .object({
    file: relativeFile,
    input: nonEmptyString.default('x'),
    timestep: nonEmptyString.default('t'),
    featureOutput: nonEmptyString.optional(),
  })
  .strict();

const defaultsSchema = z
  .object({
    M: intIn(1, 100_000).default(500),
    lambdaS: nonNegative.default(500),
    lambdaI: nonNegative.default(2),
    s1: z.enum(REALISM_ENERGIES).default('cosine'),
    s2: z.enum(FAITHFULNESS_ENERGIES).default('neg_l2'),
    downN: intIn(1, 1024).default(32),
    steps: intIn(1, 100_000).optional(),
    sampler: z.enum(SAMPLERS).default('egsde'),
    repeats: intIn(1, 100).default(1),
  })
  .strict();

const manifestObject = z
  .object({
    name: z.string().regex(PACK_NAME_PATTERN, `must match ${PACK_NAME_PATTERN} (lowercase letters, digits, '_' and '-')`),
    description: z.string().optional(),
    sourceDomain: nonEmptyString.optional(),
    sourceDomains: z.array(nonEmptyString).min(1, 'must list at least one domain').optional(),
    targetDomain: nonEmptyString,
    imageSize: intIn(8, 1024).multipleOf(8, 'must be a multiple of 8'),
    schedule: scheduleSchema.default({}),
    score: scoreSchema,
    dse: dseSchema,
    defaults: defaultsSchema.default({}),
  })
  .strict();

type RawManifest = z.output<typeof manifestObject>;

/** Constraints between fields; runs once every field is valid on its own. */
function checkCrossFields(m: RawManifest, ctx: z.RefinementCtx): void {
  const issue = (fieldPath: (string | number)[], message: string) =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: fieldPath, message });

  if (m.sourceDomain === undefined && m.sourceDomains === undefined) {
    issue(['sourceDomain'], 'is required (or give sourceDomains, a list)');
  } else if (m.sourceDomain !== undefined && m.sourceDomains !== undefined) {
    issue(['sourceDomains'], 'give either sourceDomain or sourceDomains, not both');
  } else if (m.sourceDomains !== undefined) {
    m.sourceDomains.forEach((d, i) => {
      if (m.sourceDomains!.indexOf(d) !== i) issue(['sourceDomains', i], `duplicate domain '${d}'`);
    });
  }

  const { schedule, defaults } = m;
  if (schedule.betaEnd < schedule.betaStart) {
    issue(['schedule', 'betaEnd'], `must be >= schedule.betaStart (${schedule.betaStart})`);
  }
  if (defaults.M > schedule.numTimesteps) {
    issue(['defaults', 'M'], `must be <= schedule.numTimesteps (${schedule.numTimesteps}) (M is 500 when omitted)`);
  }
  if (defaults.steps !== undefined && defaults.steps > defaults.M) {
    issue(['defaults', 'steps'], `must be <= defaults.M (${defaults.M})`);
  }
  if (defaults.downN >= 1 && m.imageSize % defaults.downN !== 0) {
    issue(['defaults', 'downN'], `must divide imageSize (${m.imageSize}) (downN is 32 when omitted)`);
  }
}

function fill(m: RawManifest): PackManifest {
  const sourceDomains = m.sourceDomains ?? [m.sourceDomain!];
  return {
    name: m.name,
    ...(m.description !== undefined ? { description: m.description } : {}),
    sourceDomain: sourceDomains[0]!,
    sourceDomains,
    targetDomain: m.targetDomain,
    imageSize: m.imageSize,
    schedule: m.schedule,
    score: m.score,
    dse: m.dse,
    defaults: { ...m.defaults, steps: m.defaults.steps ?? m.defaults.M },
  };
}

/** The pack.json schema: input is the JSON, output the defaults-filled `PackManifest`. */
export const packManifestSchema: z.ZodType<PackManifest, z.ZodTypeDef, unknown> = manifestObject
  .superRefine(checkCrossFields)
  .transform(fill);

// ---------------------------------------------------------------------------------------------
// Errors

/** A JSON field path as written in messages: `defaults.M`, `sourceDomains[1]`, `(root)`. */
export function formatFieldPath(fieldPath: readonly (string | number)[]): string {
  let out = '';
  for (const p of fieldPath) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(root)' : out;
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** zod issues as (field, message) pairs; an unknown key is reported at its own path. */
function issueMessages(issue: z.ZodIssue): { field: string; message: string }[] {
  const at = (p: (string | number)[], message: string) => ({ field: formatFieldPath(p), message });
  switch (issue.code) {
    case z.ZodIssueCode.unrecognized_keys:
      return issue.keys.map((k) => at([...issue.path, k], 'unknown field'));
    case z.ZodIssueCode.invalid_type:
      return [
        at(
          issue.path,
          issue.received === 'undefined'
            ? 'is required'
            : issue.expected === 'integer' && issue.received === 'float'
              ? 'must be an integer'
              : `expected ${issue.expected}, got ${issue.received}`,
        ),
      ];
    case z.ZodIssueCode.invalid_enum_value:
      return [
        at(issue.path, `must be one of ${issue.options.map(describeValue).join(', ')} (got ${describeValue(issue.received)})`),
      ];
    default:
      return [at(issue.path, issue.message)];
  }
}

/** An `EngineError('pack/invalid')` for one field (or the whole file when `field` is null). */
export function packInvalid(file: string, field: string | null, message: string, extra: Record<string, unknown> = {}): EngineError {
  return new EngineError('pack/invalid', field === null ? `${file}: ${message}` : `${file}: ${field}: ${message}`, {
    file,
    field,
    ...extra,
  });
}

/**
 * Validates a parsed pack.json and fills in the defaults. `file` names the manifest in error
 * messages and `details.file`. Throws `EngineError('pack/invalid')` whose message reads
 * `<file>: <field>: <problem>` (several problems are joined with '; '); `details` holds `file`,
 * `field` (the first problem's) and `issues` (all of them).
 */
export function parsePackManifest(json: unknown, file: string): PackManifest {
  const result = packManifestSchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap(issueMessages);
  const first = issues[0] ?? { field: '(root)', message: 'invalid manifest' };
  const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  throw new EngineError('pack/invalid', `${file}: ${message}`, { file, field: first.field, issues });
}
