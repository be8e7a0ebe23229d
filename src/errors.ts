/**
 * The one coded error type, at the bottom of every layer: a code from the list below, a plain
 * message (the code is never inside it) and structured details. Every layer throws it; the API
 * translates it to a GraphQL error once (src/resolvers/errors.ts), over HTTP and WebSocket alike.
 * Anything thrown that is not a CodedError is an internal error: masked for clients, logged.
 */
export const ERROR_CODES = [
  // ---- requests the API refuses (nothing is written)
  'input/invalid',
  'input/unknown_task',
  'input/image_missing',
  'input/image_undecodable',
  'input/image_unsupported_format',
  'input/image_too_large',
  /** a run parameter outside its range, or a combination that would diverge */
  'input/params_out_of_range',
  'input/bad_cursor',
  /** a body that is not JSON, or not a GraphQL request */
  'input/malformed_request',
  /** a request body or WebSocket message over its limit */
  'input/too_large',
  /** a multipart upload that does not follow the GraphQL multipart request spec */
  'input/bad_multipart',
  /** an operation over a query limit: aliases, depth, cost, tokens, directives */
  'query/too_complex',
  /** introspection while it is disabled */
  'query/introspection_disabled',
  /** a subscription over HTTP, or a method the endpoint does not take */
  'query/wrong_transport',
  /** no API key, or one that is unknown or revoked */
  'auth/unauthenticated',
  /** a key without the scope the operation needs */
  'auth/forbidden',
  /** a browser origin not in ALLOWED_ORIGINS */
  'auth/origin_refused',
  /** an image URL with a wrong or expired signature */
  'auth/bad_signature',
  // ---- admission control (nothing is written)
  /** the key's translations-per-minute bucket is empty; details.retryAfterSeconds */
  'quota/rate_limited',
  /** the key has as many queued + running runs as it may */
  'quota/too_many_active',
  /** steps x repeats over MAX_TOTAL_STEPS */
  'quota/too_many_steps',
  /** the service's queue is at MAX_QUEUED */
  'server/queue_full',
  'server/overloaded',
  /** a service the request needs (the queue's Redis, the database) is down; retry later */
  'server/unavailable',
  // ---- runs
  'run/not_found',
  'run/not_cancellable',
  'run/not_deletable',
  /** a run interrupted by a crash that used all its attempts */
  'run/interrupted',
  'run/duplicate_event',
  /** a queued run whose pack no live worker serves, past the configured wait */
  'run/no_worker',
  /** a worker's write to a run whose lease another worker now holds */
  'run/lease_lost',
  // ---- storage and database
  'storage/not_found',
  'storage/failed',
  'db/failed',
  // ---- the engine
  'engine/unsupported_op',
  'engine/invalid_model',
  'engine/invalid_graph',
  'engine/shape_mismatch',
  'engine/not_differentiable',
  'pack/invalid',
  'pack/not_found',
  /** two packs in one models folder share a name: the service refuses to start */
  'pack/duplicate_name',
  /** a request the engine cannot take: wrong image size, a run id already running */
  'engine/invalid_input',
  /** the model failed while stepping a run */
  'engine/model_error',
  /** the sample became NaN or infinite */
  'engine/numerical_error',
  /** the run was cancelled */
  'engine/cancelled',
  /** the engine was closed before the run finished */
  'engine/closed',
  /** no requested execution provider could be started */
  'engine/provider_unavailable',
  // ---- training (egsde train / egsde eval)
  /** a training folder that does not exist, is not a folder, or cannot be listed */
  'train/folder_unreadable',
  /** a training folder with no files in it */
  'train/folder_empty',
  /** a file in a training folder that is not a PNG, JPEG or WebP image (or cannot be decoded) */
  'train/not_an_image',
  /** a training folder whose images are not all of one size */
  'train/mixed_sizes',
  /** training images smaller than the size to train at */
  'train/image_too_small',
  /** a training folder with fewer images than training and the held-out split need */
  'train/too_few_images',
  /** an option of egsde train / egsde eval out of range */
  'train/invalid_option',
  /** the output folder of egsde train exists already (and --force was not given) */
  'train/out_exists',
  /** a work folder holding checkpoints of another training (other images or settings) */
  'train/resume_mismatch',
  /** a state_dict does not fit the architecture: missing, extra or mis-shaped keys */
  'nets/weights_mismatch',
  /** a PyTorch checkpoint that is truncated, corrupt, or not a checkpoint at all */
  'checkpoint/invalid',
  /** a PyTorch checkpoint in the legacy (pre-1.6, non-zip) torch.save format */
  'checkpoint/legacy_format',
  /** a PyTorch checkpoint using a storage dtype or pickled Python global the reader does not support */
  'checkpoint/unsupported',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorDetails = Record<string, unknown>;

export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CodedError';
  }

  /** Plain data, to cross a thread or process boundary and be rebuilt with {@link fromData}. */
  toData(): CodedErrorData {
    return { code: this.code, message: this.message, details: this.details };
  }

  static fromData(d: CodedErrorData): CodedError {
    return new CodedError(isErrorCode(d.code) ? d.code : 'engine/model_error', d.message, d.details ?? {});
  }
}

export interface CodedErrorData {
  code: string;
  message: string;
  details?: ErrorDetails;
}

export function isCodedError(e: unknown, code?: ErrorCode): e is CodedError {
  return e instanceof CodedError && (code === undefined || e.code === code);
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}
