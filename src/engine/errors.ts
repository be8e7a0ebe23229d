/** The engine throws the project's one coded error type (src/errors.ts). */
export { CodedError as EngineError, isCodedError as isEngineError, ERROR_CODES as ENGINE_ERROR_CODES } from '../errors';
export type { ErrorCode as EngineErrorCode } from '../errors';
