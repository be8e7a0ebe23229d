/** The API's opaque history cursor: base64url of the JSON `[createdAt epoch ms, id]`. */
import { CodedError } from '../errors';

export interface RunCursor {
  readonly createdAt: Date;
  readonly id: string;
}

export function encodeRunCursor(cursor: RunCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.getTime(), cursor.id]), 'utf8').toString('base64url');
}

/** Throws 'input/bad_cursor' for anything this API did not hand out. */
export function decodeRunCursor(cursor: string): RunCursor {
  const bad = (why: string): CodedError =>
    new CodedError('input/bad_cursor', `Malformed cursor ${JSON.stringify(String(cursor).slice(0, 100))}: ${why}`, {
      cursor: String(cursor).slice(0, 100),
    });
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 1000 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw bad('not a base64url string');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor returned by this API');
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 2 ||
    !Number.isSafeInteger(decoded[0]) ||
    typeof decoded[1] !== 'string' ||
    decoded[1].length === 0
  ) {
    throw bad('not a cursor returned by this API');
  }
  const createdAt = new Date(decoded[0] as number);
  if (Number.isNaN(createdAt.getTime())) throw bad('timestamp out of range');
  return { createdAt, id: decoded[1] };
}
