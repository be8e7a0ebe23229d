/**
 * Writes the web app's sample source images: a few 32 px discs of the demo pack's source domain,
 * drawn by the same code that trains and evaluates the demo (src/training/shapes.ts), into
 * models/demo/samples (committed). The app's build copies them to dist/web/app/samples.
 *   npx ts-node --transpile-only web/app/scripts/make-samples.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Rng } from '../../../src/engine/toolkit';
import { renderShape, sampleShapeParams } from '../../../src/training/shapes';

const SIZE = 32;
const SCALE = 4; // saved at 128 px (nearest) so that they look like pictures; the service resizes to 32
const OUT = path.join(__dirname, '..', '..', '..', 'models', 'demo', 'samples');
const SEEDS = [11, 23, 37, 58];

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const index: { file: string; title: string }[] = [];
  for (const [i, seed] of SEEDS.entries()) {
    const img = renderShape('disc', sampleShapeParams(new Rng(seed), SIZE), SIZE);
    const raw = Buffer.alloc(SIZE * SIZE * 3);
    for (let p = 0; p < SIZE * SIZE; p++) for (let c = 0; c < 3; c++) raw[p * 3 + c] = Math.round(Math.max(0, Math.min(1, (img[c * SIZE * SIZE + p] + 1) / 2)) * 255);
    const file = `disc-${i + 1}.png`;
    await sharp(raw, { raw: { width: SIZE, height: SIZE, channels: 3 } }).resize(SIZE * SCALE, SIZE * SCALE, { kernel: 'nearest' }).png().toFile(path.join(OUT, file));
    index.push({ file, title: `disc ${i + 1} (seed ${seed})` });
  }
  fs.writeFileSync(path.join(OUT, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  console.log(`wrote ${index.length} samples to ${OUT}`);
}

void main();
