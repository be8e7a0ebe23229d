/**
 * Read PyTorch checkpoints (torch.save's zip format, the default since PyTorch 1.6) without
 * Python. The archive holds `<name>/data.pkl`, the pickled object, whose tensors refer by
 * persistent id to raw little-endian storages `<name>/data/<key>`. The pickle is parsed first
 * (pickle.ts), the state dict picked out (state-dict.ts), then only the storages its tensors use
 * are read, one zip entry at a time (zip.ts), and each tensor is rebuilt by its strides
 * (tensor.ts).
 *
 * Errors are EngineErrors naming the file: 'checkpoint/invalid' (truncated or corrupt zip or
 * pickle, not a checkpoint), 'checkpoint/legacy_format' (the pre-1.6 non-zip format, with how to
 * re-save it), 'checkpoint/unsupported' (a storage dtype or pickled object the reader lacks).
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import { invalid, legacyFormat, messageOf, unsupported } from './fail';
import { unpickleCheckpoint, TensorRef } from './pickle';
import { selectStateDict } from './state-dict';
import { materializeTensor } from './tensor';
import { openZip, ZipArchive } from './zip';
import { CheckpointTensor, ReadCheckpointOptions, StateDict } from './types';

export type { CheckpointDType, CheckpointTensor, ReadCheckpointOptions, StateDict } from './types';
export { halfToFloat } from './dtypes';

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]; // 'PK\x03\x04', a zip local file header
const PICKLE_PROTO = 0x80; // pickle PROTO opcode, how a legacy torch.save file starts

async function readHead(file: string, n: number): Promise<Uint8Array> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    throw invalid(file, `cannot open the checkpoint (${messageOf(e)})`, { cause: (e as NodeJS.ErrnoException).code });
  }
  try {
    const head = new Uint8Array(n);
    const { bytesRead } = await handle.read(head, 0, n, 0);
    return head.subarray(0, bytesRead);
  } catch (e) {
    throw invalid(file, `cannot read the checkpoint (${messageOf(e)})`, { cause: (e as NodeJS.ErrnoException).code });
  } finally {
    await handle.close();
  }
}

/** `<name>/data.pkl` (or a bare `data.pkl`): the record prefix every other entry shares */
function findRecordPrefix(zip: ZipArchive, file: string): string {
  const pkl =
    zip.names.find((n) => n === 'data.pkl' || /^[^/]+\/data\.pkl$/.test(n)) ?? zip.names.find((n) => n.endsWith('/data.pkl'));
  if (pkl === undefined) throw invalid(file, 'the zip archive has no data.pkl entry; it is not a torch.save checkpoint');
  return pkl.slice(0, pkl.length - 'data.pkl'.length);
}

async function checkByteOrder(zip: ZipArchive, prefix: string, file: string): Promise<void> {
  // Written by PyTorch >= 2.1; absent means little-endian.
  let order = 'little';
  if (zip.size(`${prefix}byteorder`) !== undefined) {
    order = Buffer.from(await zip.read(`${prefix}byteorder`)).toString('latin1').trim();
  }
  if (order !== 'little') throw unsupported(file, `storages are stored with byte order '${order}'; only little-endian checkpoints are supported`);
  if (os.endianness() !== 'LE') throw unsupported(file, 'reading checkpoints needs a little-endian host');
}

export async function readTorchCheckpoint(file: string, opts: ReadCheckpointOptions = {}): Promise<StateDict> {
  const head = await readHead(file, 4);
  if (head.length === 0) throw invalid(file, 'the file is empty');
  if (!ZIP_MAGIC.every((b, i) => head[i] === b)) {
    if (head[0] === PICKLE_PROTO) throw legacyFormat(file);
    throw invalid(file, 'not a PyTorch checkpoint: it starts neither with a zip header (torch.save since PyTorch 1.6) nor with a pickle');
  }

  const zip = await openZip(file);
  try {
    const prefix = findRecordPrefix(zip, file);
    await checkByteOrder(zip, prefix, file);
    const pklName = `${prefix}data.pkl`;
    const pklBytes = await zip.read(pklName);
    const tensors = selectStateDict(unpickleCheckpoint(pklBytes, file), file);

    // The storages the state dict uses, in file order, each with the tensors that view it.
    const byStorage = new Map<string, Array<{ index: number; name: string; ref: TensorRef }>>();
    tensors.forEach(([name, ref], index) => {
      const users = byStorage.get(ref.storage.key) ?? [];
      users.push({ index, name, ref });
      byStorage.set(ref.storage.key, users);
    });
    const entryOf = (key: string) => `${prefix}data/${key}`;
    let total = pklBytes.length;
    for (const key of byStorage.keys()) {
      const size = zip.size(entryOf(key));
      if (size === undefined) throw invalid(file, `storage ${key} is referenced by data.pkl but the zip has no entry ${entryOf(key)}`);
      total += size;
    }
    const keys = [...byStorage.keys()].sort((a, b) => zip.offset(entryOf(a)) - zip.offset(entryOf(b)));

    let done = pklBytes.length;
    opts.onProgress?.(done, total);
    const results = new Array<CheckpointTensor>(tensors.length);
    for (const key of keys) {
      const bytes = await zip.read(entryOf(key), (n) => {
        done += n;
        opts.onProgress?.(done, total);
      });
      const users = byStorage.get(key) ?? [];
      for (const { index, name, ref } of users) results[index] = materializeTensor(ref, bytes, name, file, users.length > 1);
    }

    const out: StateDict = new Map();
    tensors.forEach(([name], i) => out.set(name, results[i]));
    return out;
  } finally {
    await zip.close();
  }
}
