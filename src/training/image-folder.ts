/**
 * A folder of training images, read for `egsde train`: every file in it (hidden files and
 * subfolders left out) must be a PNG, JPEG or WebP image, all of one size and at least the size to
 * train at; each is decoded as the service decodes a source image (EXIF orientation, sRGB, shorter
 * side resized to `size`, centre crop, values in [-1, 1]). Every refusal is a CodedError naming
 * the folder or the file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CodedError, isCodedError } from '../errors';
import { decodeSourceImage } from '../images';

export interface ImageFolder {
  dir: string;
  /** file names, sorted */
  files: string[];
  /** the files' common width and height before resizing */
  width: number;
  height: number;
  /** [files.length, 3, size, size] in [-1, 1] */
  images: Float32Array;
  /** bytes and mtimes of the files, for the training's fingerprint */
  stats: { size: number; mtimeMs: number }[];
}

const LIMITS = { maxBytes: 64 * 2 ** 20, maxPixels: 64 * 2 ** 20 };
const CONCURRENCY = 8;

/** The image files a folder holds (names, sorted), or a coded error if it cannot be listed or has none. */
export function listImageFiles(dir: string, role: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'is not a folder' : `cannot be read (${(e as Error).message})`;
    throw new CodedError('train/folder_unreadable', `the ${role} folder ${dir} ${why}`, { role, dir });
  }
  const files = entries.filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isSymbolicLink())).map((e) => e.name).sort();
  if (files.length === 0) throw new CodedError('train/folder_empty', `the ${role} folder ${dir} holds no files`, { role, dir });
  return files;
}

/** Reads and decodes every image of `dir` at `size`; `minImages` at least. */
export async function readImageFolder(dir: string, size: number, role: string, minImages: number): Promise<ImageFolder> {
  const files = listImageFiles(dir, role);
  if (files.length < minImages) {
    throw new CodedError('train/too_few_images', `the ${role} folder ${dir} holds ${files.length} file${files.length === 1 ? '' : 's'}; training needs at least ${minImages} images per domain (some are held out for evaluation)`, { role, dir, count: files.length, min: minImages });
  }
  const img = 3 * size * size;
  const images = new Float32Array(files.length * img);
  const dims: { width: number; height: number }[] = new Array(files.length);
  const stats: ImageFolder['stats'] = new Array(files.length);
  let next = 0;
  const work = async () => {
    while (next < files.length) {
      const i = next++;
      const file = path.join(dir, files[i]);
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(file);
        const st = fs.statSync(file);
        stats[i] = { size: st.size, mtimeMs: st.mtimeMs };
      } catch (e) {
        throw new CodedError('train/folder_unreadable', `${file} cannot be read (${(e as Error).message})`, { role, dir, file });
      }
      try {
        const d = await decodeSourceImage(bytes, size, LIMITS);
        images.set(d.tensor, i * img);
        dims[i] = { width: d.width, height: d.height };
      } catch (e) {
        const why = isCodedError(e) ? e.message : (e as Error).message;
        throw new CodedError('train/not_an_image', `${file} is not an image this project reads (PNG, JPEG or WebP): ${why}`, { role, dir, file });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, work));
  const { width, height } = dims[0];
  dims.forEach((d, i) => {
    if (d.width !== width || d.height !== height) {
      throw new CodedError('train/mixed_sizes', `${path.join(dir, files[i])} is ${d.width}x${d.height}, but ${files[0]} in the same folder is ${width}x${height}: the images of a domain must all have one size`, { role, dir, file: path.join(dir, files[i]), size: [d.width, d.height], expected: [width, height] });
    }
  });
  if (Math.min(width, height) < size) {
    throw new CodedError('train/image_too_small', `the images of the ${role} folder ${dir} are ${width}x${height}, smaller than the ${size} px to train at (${files[0]})`, { role, dir, size: [width, height], min: size });
  }
  return { dir, files, width, height, images, stats };
}
