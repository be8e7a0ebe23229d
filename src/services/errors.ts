/**
 * Named service error codes, declared once. Surfaced in GraphQL `extensions.code` (engine errors
 * keep their own codes, see src/engine/errors.ts).
 */
export const SERVICE_ERROR_CODES = [
  'input/invalid',
  'input/unknown_task',
  'input/image_missing',
  'input/image_undecodable',
  'input/image_unsupported_format',
  'input/image_too_large',
  'input/params_out_of_range',
  'input/bad_cursor',
  'run/not_found',
  'run/not_cancellable',
  'run/not_deletable',
  'run/interrupted',
  'run/duplicate_event',
  'storage/not_found',
  'storage/failed',
  'db/failed',
  'auth/forbidden',
  'server/overloaded',
] as const;

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export function isServiceError(e: unknown, code?: ServiceErrorCode): e is ServiceError {
  return e instanceof ServiceError && (code === undefined || e.code === code);
}
