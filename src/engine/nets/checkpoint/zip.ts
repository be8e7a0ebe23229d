/**
 * Random access to the entries of a torch.save zip archive through yauzl: the central directory
 * is read once, then each entry is read on its own into a buffer of its exact size, so a large
 * checkpoint is never held in memory as a whole. yauzl handles zip64 (archives and entries over
 * 4 GiB), finds each entry's data offset, and inflates deflated entries. STORED entries (what
 * torch.save writes) are read straight from the file at that offset in large chunks, several
 * times faster than yauzl's 16 KiB stream chunks.
 */
import { promises as fs } from 'fs';
import * as yauzl from 'yauzl';
import { invalid, messageOf } from './fail';

export interface ZipArchive {
  /** entry names, in central-directory order */
  readonly names: readonly string[];
  /** uncompressed size of an entry, undefined when there is none of that name */
  size(name: string): number | undefined;
  /** read a whole entry; onBytes is told the length of each chunk as it arrives */
  read(name: string, onBytes?: (n: number) => void): Promise<Uint8Array>;
  /** offset of the entry's local header, to read entries in file order */
  offset(name: string): number;
  close(): Promise<void>;
}

const CHUNK = 8 << 20;

export async function openZip(file: string): Promise<ZipArchive> {
  let zip: yauzl.ZipFile;
  let fd: fs.FileHandle | undefined;
  const entries = new Map<string, yauzl.Entry>();
  try {
    zip = await yauzl.openPromise(file, { autoClose: false, lazyEntries: true, validateEntrySizes: true });
  } catch (e) {
    throw invalid(file, `not a readable zip archive, perhaps truncated (${messageOf(e)})`);
  }
  try {
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
  } catch (e) {
    zip.close();
    throw invalid(file, `corrupt zip central directory (${messageOf(e)})`);
  }

  const entryOf = (name: string): yauzl.Entry => {
    const entry = entries.get(name);
    if (!entry) throw invalid(file, `zip entry ${name} is missing`);
    return entry;
  };

  return {
    names: [...entries.keys()],
    size: (name) => entries.get(name)?.uncompressedSize,
    offset: (name) => entryOf(name).relativeOffsetOfLocalHeader,
    async close() {
      zip.close();
      await fd?.close().catch(() => undefined);
    },
    async read(name, onBytes) {
      const entry = entryOf(name);
      if (!entry.canDecodeFileData()) {
        throw invalid(file, `zip entry ${name} is encrypted or uses an unsupported compression method (${entry.compressionMethod})`);
      }
      // A fresh ArrayBuffer (offset 0, 8-byte aligned) so that typed-array views over it are legal.
      const out = new Uint8Array(new ArrayBuffer(entry.uncompressedSize));
      let pos = 0;
      // an exception from the caller's callback (a cancellation, say) passes through unchanged
      let callbackError: { error: unknown } | undefined;
      const report = (n: number) => {
        try {
          onBytes?.(n);
        } catch (error) {
          callbackError = { error };
          throw error;
        }
      };
      try {
        if (entry.compressionMethod === 0) {
          // STORED: the bytes at the entry's data offset are the entry
          const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
          if (fileDataStart + out.length > zip.fileSize) throw new Error(`its data runs past the end of the file`);
          fd ??= await fs.open(file, 'r');
          while (pos < out.length) {
            const { bytesRead } = await fd.read(out, pos, Math.min(CHUNK, out.length - pos), fileDataStart + pos);
            if (bytesRead === 0) break;
            pos += bytesRead;
            report(bytesRead);
          }
        } else {
          const stream = await zip.openReadStreamPromise(entry);
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            if (pos + chunk.length > out.length) throw new Error('entry is longer than its recorded size');
            out.set(chunk, pos);
            pos += chunk.length;
            report(chunk.length);
          }
        }
      } catch (e) {
        if (callbackError) throw callbackError.error;
        throw invalid(file, `cannot read zip entry ${name}, the file is truncated or corrupt (${messageOf(e)})`);
      }
      if (pos !== out.length) {
        throw invalid(file, `zip entry ${name} has ${pos} bytes but records ${out.length}; the file is truncated or corrupt`);
      }
      return out;
    },
  };
}
