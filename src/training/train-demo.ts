/**
 * `npm run train:demo`: the demo pack, rebuilt by `egsde train` from two generated folders: the
 * seeded disc and square generators (shapes.ts) write DEMO_IMAGES PNGs per domain into the data
 * folder (once: a marker records what was generated), then trainPack trains models/demo on them
 * with the demo's iterations and defaults. Resumable, as every `egsde train` is.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../engine/toolkit';
import { encodePng } from '../images';
import { DEMO_SIZE } from './pack-models';
import { DEMO_PACK_DEFAULTS } from './demo-settings';
import { renderShape, sampleShapeParams, ShapeDomain } from './shapes';
import { trainPack, TRAINING_DEFAULTS, TrainingReport } from './train-pack';

export interface TrainDemoOptions {
  /** Default models/demo */
  outDir?: string;
  /** checkpoints; Default .cache/train-demo */
  workDir?: string;
  /** the generated folders; Default .cache/demo-data */
  dataDir?: string;
  /** images per domain; Default DEMO_IMAGES */
  images?: number;
  seed?: number;
  scoreIterations?: number;
  dseIterations?: number;
  classifierIterations?: number;
  batch?: number;
  threads?: number;
  /** show a progress bar. Default true when stdout is a TTY */
  progress?: boolean;
  log?(msg: string): void;
}

/** The demo's training: egsde train's defaults on the generated folders. */
export const DEMO_TRAINING = { ...TRAINING_DEFAULTS, images: 4000 };
export const DEMO_DESCRIPTION = 'Demo pack trained by npm run train:demo (egsde train on generated folders): discs (source) to squares (target), 32 px procedural images';

/** Seeds of the generated folders (the evaluation's held-out streams are others: evaluate.ts). */
const DATA_SEEDS: Record<ShapeDomain, number> = { disc: 7_000_001, square: 7_000_002 };

/** Writes `n` seeded images of a domain as PNGs (`disc-00000.png`, ...) unless the folder already holds exactly them. */
export async function generateDomainFolder(dir: string, domain: ShapeDomain, n: number, size = DEMO_SIZE): Promise<string> {
  const marker = path.join(dir, '.generated.json');
  const spec = JSON.stringify({ domain, n, size, seed: DATA_SEEDS[domain], format: 1 });
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === spec) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(DATA_SEEDS[domain]);
  for (let i = 0; i < n; i++) {
    const img = renderShape(domain, sampleShapeParams(rng, size), size).map((v) => (v + 1) / 2);
    fs.writeFileSync(path.join(dir, `${domain}-${String(i).padStart(5, '0')}.png`), await encodePng(img, size));
  }
  fs.writeFileSync(marker, spec);
  return dir;
}

export async function trainDemo(opts: TrainDemoOptions = {}): Promise<{ dir: string; report: TrainingReport }> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const data = opts.dataDir ?? path.join('.cache', 'demo-data');
  const n = opts.images ?? DEMO_TRAINING.images;
  log(`generating ${n} discs and ${n} squares in ${data} (once)`);
  const source = await generateDomainFolder(path.join(data, 'disc'), 'disc', n);
  const target = await generateDomainFolder(path.join(data, 'square'), 'square', n);
  return trainPack({
    source,
    target,
    size: DEMO_SIZE,
    out: opts.outDir ?? 'models/demo',
    name: 'demo',
    sourceName: 'disc',
    targetName: 'square',
    description: DEMO_DESCRIPTION,
    work: opts.workDir ?? path.join('.cache', 'train-demo'),
    seed: opts.seed,
    scoreIterations: opts.scoreIterations,
    dseIterations: opts.dseIterations,
    classifierIterations: opts.classifierIterations,
    batch: opts.batch,
    defaults: DEMO_PACK_DEFAULTS,
    threads: opts.threads,
    progress: opts.progress,
    force: true,
    carry: ['samples'],
    log,
  });
}
