/**
 * The model-pack manifest (`pack.json`, docs/architecture.md, model packs): its zod schema, the parsed and
 * defaults-filled `PackManifest` type, and `parsePackManifest`, which turns any validation
 * failure into an `EngineError('pack/invalid')` naming the file and the JSON field path.
 *
 * This module checks what can be checked from the JSON alone; load.ts resolves and checks the
 * referenced ONNX files on disk.
 */
import * as path from 'path';
import { z } from 'zod';
import { EngineError } from '../errors';
import { BETA_SCHEDULES, SCORE_KINDS, VARIANCE_TYPES } from '../vocabulary';
import { intIn, runParamsSchema } from '../params';

/** Pack names: task ids used in the API (`translate(input: {task})`) and as folder names. */
export const PACK_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

// ---------------------------------------------------------------------------------------------
// The zod schema (unknown keys are refused, so a misspelt field is an error, not a silent default).

const nonEmptyString = z.string().refine((s) => s.trim().length > 0, 'must not be empty');

const betaValue = z.number().gt(0, 'must be > 0').lt(1, 'must be < 1');

/** A relative file path; whether it resolves inside the pack folder is checked by the loader. */
const relativeFile = nonEmptyString
  .refine((s) => !s.includes('\0'), 'must not contain NUL characters')
  .refine(
    (s) => !path.posix.isAbsolute(s) && !path.win32.isAbsolute(s),
    'must be a relative path (resolved against the pack folder)',
  );

/** `schedule`: the diffusion noise schedule the score model was trained with (docs/egsde-step.md §2). */
const scheduleSchema = z
  .object({
    betaSchedule: z.enum(BETA_SCHEDULES).default('linear'),
    /** first beta, in (0, 1) */
    betaStart: betaValue.default(1e-4),
    /** last beta, in (0, 1) and >= betaStart */
    betaEnd: betaValue.default(0.02),
    /** T, the number of diffusion timesteps */
    numTimesteps: intIn(1, 100_000).default(1000),
    varType: z.enum(VARIANCE_TYPES).default('fixedsmall'),
  })
  .strict();

/** `score`: the diffusion (score) model, inputs `input` [N,3,S,S] and `timestep` [N]. */
const scoreSchema = z
  .object({
    /** ONNX file, a relative path resolving inside the pack folder (see LoadPackOptions) */
    file: relativeFile,
    kind: z.enum(SCORE_KINDS),
    input: nonEmptyString.default('x'),
    /** the float timestep index input, [N] */
    timestep: nonEmptyString.default('t'),
    /** the output to use; undefined: the model's first output */
    output: nonEmptyString.optional(),
  })
  .strict();

/** `dse`: the domain-specific feature extractor (the realism expert's trunk). */
const dseSchema = z
  .object({
    file: relativeFile,
    input: nonEmptyString.default('x'),
    timestep: nonEmptyString.default('t'),
    /** the feature output [N,C,H,W]; undefined: the model's first output */
    featureOutput: nonEmptyString.optional(),
  })
  .strict();

/** The paper's settings (docs/egsde-step.md), where pack.json's `defaults` leaves a field out. */
export const PAPER_DEFAULTS = { M: 500, lambdaS: 500, lambdaI: 2, s1: 'cosine', s2: 'neg_l2', downN: 32, sampler: 'egsde', repeats: 1 } as const;

/**
 * `defaults`: a partial of the run parameters (every field optional, filled from
 * {@link PAPER_DEFAULTS}; `steps` defaults to M, i.e. no respacing) plus the low-pass factor
 * down_N, an integer >= 1 that divides imageSize.
 */
const defaultsSchema = runParamsSchema
  .pick({ M: true, lambdaS: true, lambdaI: true, s1: true, s2: true, steps: true, sampler: true, repeats: true })
  .extend({ downN: intIn(1, 1024) })
  .partial()
  .strict()
  .transform((d) => ({ ...PAPER_DEFAULTS, ...d }));

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
    issue(['defaults', 'M'], `must be <= schedule.numTimesteps (${schedule.numTimesteps}) (M is ${PAPER_DEFAULTS.M} when omitted)`);
  }
  if (defaults.steps !== undefined && defaults.steps > defaults.M) {
    issue(['defaults', 'steps'], `must be <= defaults.M (${defaults.M})`);
  }
  if (defaults.downN >= 1 && m.imageSize % defaults.downN !== 0) {
    issue(['defaults', 'downN'], `must divide imageSize (${m.imageSize}) (downN is ${PAPER_DEFAULTS.downN} when omitted)`);
  }
}

function fill(m: RawManifest) {
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

/** The pack.json schema: input is the JSON, output the defaults-filled {@link PackManifest}. */
export const packManifestSchema = manifestObject.superRefine(checkCrossFields).transform(fill);

/**
 * A parsed pack.json with every default filled in: the schema's output type. `sourceDomains`
 * always lists every source domain (pack.json gives `sourceDomain` or `sourceDomains`, not both);
 * `sourceDomain` is the first.
 */
export type PackManifest = z.output<typeof packManifestSchema>;
export type PackSchedule = PackManifest['schedule'];
export type PackScoreModel = PackManifest['score'];
export type PackDseModel = PackManifest['dse'];
export type PackDefaults = PackManifest['defaults'];

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
