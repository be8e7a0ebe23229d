/**
 * Random access to the entries of a torch.save zip archive through yauzl: the central directory
 * is read once, then each entry is streamed on its own into a buffer of its exact size, so a
 * large checkpoint is never held in memory as a whole. yauzl handles zip64 (archives and entries
 * over 4 GiB), validates entry sizes, and inflates deflated entries (torch writes STORED ones).
 */
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
  close(): void;
}

export async function openZip(file: string): Promise<ZipArchive> {
  let zip: yauzl.ZipFile;
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
    close: () => zip.close(),
    async read(name, onBytes) {
      const entry = entryOf(name);
      if (!entry.canDecodeFileData()) {
        throw invalid(file, `zip entry ${name} is encrypted or uses an unsupported compression method (${entry.compressionMethod})`);
      }
      // A fresh ArrayBuffer (offset 0, 8-byte aligned) so that typed-array views over it are legal.
      const out = new Uint8Array(new ArrayBuffer(entry.uncompressedSize));
      let pos = 0;
      try {
        const stream = await zip.openReadStreamPromise(entry);
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (pos + chunk.length > out.length) throw new Error('entry is longer than its recorded size');
          out.set(chunk, pos);
          pos += chunk.length;
          onBytes?.(chunk.length);
        }
      } catch (e) {
        throw invalid(file, `cannot read zip entry ${name}, the file is truncated or corrupt (${messageOf(e)})`);
      }
      if (pos !== out.length) {
        throw invalid(file, `zip entry ${name} has ${pos} bytes but records ${out.length}; the file is truncated or corrupt`);
      }
      return out;
    },
  };
}
