/**
 * Unpickle a torch.save `data.pkl` with the `pickleparser` package, resolving the few Python
 * globals a checkpoint uses to plain TypeScript values and never executing anything:
 *
 * - `collections.OrderedDict` -> Map (dicts are Maps too: unpicklingTypeOfDictionary 'Map');
 *   the BUILD that sets an OrderedDict's `_metadata` attribute is ignored by the parser.
 * - `torch.<X>Storage` -> a storage class marker; persistent ids
 *   ('storage', storage class, key, location, numel) -> StorageRef (torch's persistent_load).
 * - `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`
 *   (and the older `_rebuild_tensor`) -> TensorRef; `_rebuild_parameter[_with_state]` and
 *   `torch._tensor._rebuild_from_type_v2(func, type, args, state)` unwrap to the tensor.
 * - `torch.Size(tuple)` -> number[].
 * - any other global -> an OpaqueObject factory naming it. Unknown objects are harmless where the
 *   reader does not look (an argparse.Namespace next to the weights); state-dict.ts reports
 *   'checkpoint/unsupported' when one stands where a tensor or the state dict should be.
 *
 * pickleparser limits that do not matter for torch.save (protocol 2): LONG1/LONG4 decode as
 * unsigned, and the protocol-0 DICT opcode fills Map objects wrongly; torch.save never emits DICT
 * and only needs non-negative LONG values (sizes and offsets past 2^31).
 */
import { Parser } from 'pickleparser';
import { isEngineError } from '../../errors';
import { invalid, messageOf, unsupported } from './fail';

export class StorageRef {
  constructor(
    /** torch storage class name, e.g. 'FloatStorage' */
    readonly storageClass: string,
    /** name of the zip entry under data/ */
    readonly key: string,
    readonly location: string,
    /** elements of storageClass's type in the storage */
    readonly numel: number,
  ) {}
}

export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** an object made by a Python global the reader does not know */
export class OpaqueObject {
  constructor(
    readonly global: string,
    readonly args: unknown[],
  ) {}
}

export interface Unpickled {
  root: unknown;
  /** fully qualified names of the unknown globals the pickle referred to */
  opaqueGlobals: Set<string>;
}

type PyCallable = (...args: unknown[]) => unknown;

function toIndex(v: unknown): number | undefined {
  if (typeof v === 'bigint') v = Number(v);
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function toIndexList(v: unknown): number[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: number[] = [];
  for (const x of v) {
    const i = toIndex(x);
    if (i === undefined) return undefined;
    out.push(i);
  }
  return out;
}

export function unpickleCheckpoint(bytes: Uint8Array, file: string): Unpickled {
  const storageClasses = new Map<unknown, string>();
  const opaqueGlobals = new Set<string>();

  // Each is a plain `function` so that it works both when the pickle calls it (REDUCE) and when
  // it instantiates it (NEWOBJ / OBJ): a constructor that returns an object yields that object.
  const rebuildTensor = function (storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef {
    const off = toIndex(offset);
    const shape = toIndexList(size);
    const strides = toIndexList(stride);
    if (!(storage instanceof StorageRef) || off === undefined || !shape || !strides || shape.length !== strides.length) {
      throw invalid(file, 'data.pkl has a malformed tensor (_rebuild_tensor_v2 arguments are not storage, offset, size, stride)');
    }
    return new TensorRef(storage, off, shape, strides);
  };
  const returnFirst = function (data: unknown): unknown {
    return data;
  };
  const rebuildFromType = function (func: unknown, _type: unknown, args: unknown): unknown {
    if (typeof func !== 'function' || !Array.isArray(args)) {
      throw invalid(file, 'data.pkl has a malformed _rebuild_from_type_v2 call');
    }
    return (func as PyCallable)(...args);
  };
  const orderedDict = function (items?: unknown): Map<unknown, unknown> {
    const m = new Map<unknown, unknown>();
    if (Array.isArray(items)) for (const kv of items) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
    return m;
  };
  const torchSize = function (dims?: unknown): unknown {
    return Array.isArray(dims) ? [...dims] : [];
  };

  const known = new Map<string, PyCallable>([
    ['collections.OrderedDict', orderedDict],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor as PyCallable],
    ['torch._utils._rebuild_tensor', rebuildTensor as PyCallable],
    ['torch._utils._rebuild_parameter', returnFirst],
    ['torch._utils._rebuild_parameter_with_state', returnFirst],
    ['torch._tensor._rebuild_from_type_v2', rebuildFromType],
    ['torch.Size', torchSize],
  ]);

  const resolveGlobal = (module: string, name: string): PyCallable => {
    const fqn = `${module}.${name}`;
    const fn = known.get(fqn);
    if (fn) return fn;
    if (module === 'torch' && name.endsWith('Storage')) {
      const marker = function (): never {
        throw unsupported(file, `data.pkl instantiates the storage class torch.${name}`);
      };
      storageClasses.set(marker, name);
      return marker;
    }
    opaqueGlobals.add(fqn);
    return function (...args: unknown[]): OpaqueObject {
      return new OpaqueObject(fqn, args);
    };
  };

  // torch.serialization's persistent_load: ('storage', storage class, key, location, numel)
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
      throw invalid(file, `data.pkl has an unexpected persistent id ${JSON.stringify(String(pid))}; expected ('storage', type, key, location, numel)`);
    }
    const [, cls, key, location, numel] = pid as unknown[];
    const storageClass = storageClasses.get(cls);
    if (storageClass === undefined) {
      const named = cls instanceof OpaqueObject ? cls.global : typeof cls === 'function' ? 'a non-storage global' : typeof cls;
      throw unsupported(file, `data.pkl has a storage of unsupported type ${named}`);
    }
    const n = toIndex(numel);
    if (typeof key !== 'string' || n === undefined) {
      throw invalid(file, `data.pkl has a malformed storage persistent id for torch.${storageClass}`);
    }
    return new StorageRef(storageClass, key, typeof location === 'string' ? location : 'cpu', n);
  };

  const parser = new Parser({
    nameResolver: { resolve: resolveGlobal },
    persistentResolver: { resolve: persistentLoad },
    unpicklingTypeOfDictionary: 'Map',
    unpicklingTypeOfSet: 'array',
  });
  let root: unknown;
  try {
    root = parser.parse<unknown>(bytes);
  } catch (e) {
    if (isEngineError(e)) throw e;
    throw invalid(file, `data.pkl is not a valid pickle (${messageOf(e)})`);
  }
  if (root === undefined) throw invalid(file, 'data.pkl is not a valid pickle (it produced no object)');
  return { root, opaqueGlobals };
}
