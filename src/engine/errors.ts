/**
 * Named engine error codes, declared once. The server maps `code` to GraphQL `extensions.code`.
 */
export const ENGINE_ERROR_CODES = [
  'engine/unsupported_op',
  'engine/invalid_model',
  'engine/invalid_graph',
  'engine/shape_mismatch',
  'engine/not_differentiable',
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
