/**
 * Named engine error codes, declared once. The server maps `code` to GraphQL `extensions.code`.
 */
export const ENGINE_ERROR_CODES = [
  'engine/unsupported_op',
  'engine/invalid_model',
  'engine/invalid_graph',
  'engine/shape_mismatch',
  'engine/not_differentiable',
  'pack/invalid',
  'pack/not_found',
  /** a request the engine cannot take: wrong image size, parameter out of range */
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
  /** a state_dict does not fit the architecture: missing, extra or mis-shaped keys */
  'nets/weights_mismatch',
  /** a PyTorch checkpoint that is truncated, corrupt, or not a checkpoint at all */
  'checkpoint/invalid',
  /** a PyTorch checkpoint in the legacy (pre-1.6, non-zip) torch.save format */
  'checkpoint/legacy_format',
  /** a PyTorch checkpoint using a storage dtype or pickled Python global the reader does not support */
  'checkpoint/unsupported',
] as const;

export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: EngineErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(`${code}: ${message}`);
    this.name = 'EngineError';
    this.code = code;
    this.details = details;
  }
}

export function isEngineError(e: unknown, code?: EngineErrorCode): e is EngineError {
  return e instanceof EngineError && (code === undefined || e.code === code);
}
