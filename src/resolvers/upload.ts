import type { FileUpload } from 'graphql-upload-minimal';
import { CodedError } from '../errors';

/** Read an upload into memory, refusing it as soon as it passes maxBytes. */
export async function readUpload(upload: Promise<FileUpload>, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new CodedError('input/image_too_large', `the upload is larger than ${maxBytes} bytes`, { field: 'upload' });
  try {
    const file = await upload;
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of file.createReadStream()) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  } catch (e) {
    // graphql-upload-minimal signals its own size limit with an HTTP 413 error
    if ((e as { status?: number }).status === 413) throw tooLarge();
    throw e;
  }
}
