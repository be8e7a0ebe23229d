/**
 * Find the state dict in an unpickled checkpoint: the top-level object itself (an OrderedDict of
 * name -> tensor), or a dict wrapping one under 'state_dict', 'model' or 'ema' (the first of those
 * that is a dict of tensors). A leading 'module.' (nn.DataParallel) is stripped when every key
 * has it. Values that are not tensors (ints, strings, None) are skipped.
 */
import { invalid, unsupported } from './fail';
import { OpaqueObject, TensorRef, Unpickled } from './pickle';

export const WRAPPER_KEYS = ['state_dict', 'model', 'ema'] as const;

function isTensor(v: unknown): v is TensorRef {
  return v instanceof TensorRef && Object.getPrototypeOf(v) === TensorRef.prototype;
}

function isTensorDict(v: unknown): v is Map<unknown, unknown> {
  if (!(v instanceof Map)) return false;
  for (const x of v.values()) if (isTensor(x)) return true;
  return false;
}

function describe(v: unknown): string {
  if (v instanceof Map) {
    const keys = [...v.keys()].slice(0, 8).map((k) => JSON.stringify(String(k)));
    return `a dict with keys ${keys.join(', ')}${v.size > 8 ? ', ...' : ''}`;
  }
  if (v instanceof OpaqueObject) return `a ${v.global} object`;
  if (Array.isArray(v)) return `a list/tuple of ${v.length}`;
  return v === null ? 'None' : typeof v;
}

/** the tensors of the checkpoint's state dict, keys stripped of a common 'module.' */
export function selectStateDict({ root, opaqueGlobals }: Unpickled, file: string): Array<[string, TensorRef]> {
  let dict: Map<unknown, unknown> | undefined;
  if (root instanceof Map) {
    for (const key of WRAPPER_KEYS) {
      const v = root.get(key);
      if (isTensorDict(v)) {
        dict = v;
        break;
      }
    }
    if (!dict && isTensorDict(root)) dict = root;
  }
  if (!dict) {
    if (opaqueGlobals.size > 0) {
      throw unsupported(
        file,
        `no state dict of tensors found; the checkpoint holds ${describe(root)} and pickles Python objects the reader cannot rebuild ` +
          `(${[...opaqueGlobals].join(', ')}). If it is a whole model saved with torch.save(model), save model.state_dict() instead`,
        { globals: [...opaqueGlobals] },
      );
    }
    throw invalid(file, `no state dict of tensors found: the checkpoint holds ${describe(root)} (looked at the top level and under ${WRAPPER_KEYS.join(', ')})`);
  }

  const out: Array<[string, TensorRef]> = [];
  for (const [k, v] of dict) {
    if (typeof k !== 'string') continue;
    if (isTensor(v)) out.push([k, v]);
    else if (v instanceof OpaqueObject) {
      throw unsupported(file, `state dict entry ${k} is a ${v.global} object, which the reader does not support`, { key: k, global: v.global });
    }
  }
  if (out.length > 0 && out.every(([k]) => k.startsWith('module.'))) {
    return out.map(([k, v]) => [k.slice('module.'.length), v]);
  }
  return out;
}
