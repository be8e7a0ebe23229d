/** EngineError constructors for the checkpoint reader; every message starts with the file. */
import { EngineError } from '../../errors';

export function invalid(file: string, what: string, details: Record<string, unknown> = {}): EngineError {
  return new EngineError('checkpoint/invalid', `${file}: ${what}`, { file, ...details });
}

export function unsupported(file: string, what: string, details: Record<string, unknown> = {}): EngineError {
  return new EngineError('checkpoint/unsupported', `${file}: ${what}`, { file, ...details });
}

export function legacyFormat(file: string): EngineError {
  return new EngineError(
    'checkpoint/legacy_format',
    `${file}: this is a legacy (pre-PyTorch-1.6, non-zip) torch.save file, which cannot be read without Python. ` +
      `Re-save it once in the zip format with Python: ` +
      `python -c "import torch; torch.save(torch.load('old.pt', map_location='cpu'), 'new.pt')" ` +
      `(on PyTorch 2.6 or newer add weights_only=False to torch.load if it refuses the file)`,
    { file },
  );
}

export function messageOf(e: unknown): string {
  // not `instanceof Error`: errors from another realm (Node internals under jest) fail that test
  if (typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string') return (e as Error).message;
  return String(e);
}
