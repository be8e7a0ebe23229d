/**
 * `npm run train:demo [-- --pack NAME]`: the demo packs, rebuilt by `egsde train` from generated
 * folders. Each demo names two seeded generators (discs and squares at 32 px, shapes.ts; cartoon
 * cats and dogs at 64 px, critters.ts); they write `images` PNGs per domain into the data folder
 * (once: a marker records what was generated), then trainPack trains models/NAME on them with the
 * demo's recipe and defaults. Resumable, as every `egsde train` is.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../engine/toolkit';
import { encodePng } from '../images';
import { DEMO_SIZE, TrainSize } from './pack-models';
import { DEMO_PACK_DEFAULTS, CAT2DOG_PACK_DEFAULTS } from './demo-settings';
import { renderShape, sampleShapeParams, ShapeDomain } from './shapes';
import { renderCritter, sampleCritterParams, CritterDomain } from './critters';
import { trainPack, TRAINING_DEFAULTS, TrainingReport } from './train-pack';

/** One domain's generator: the i-th image of a seeded stream, [3, size, size] in [0, 1]. */
export interface DomainGenerator {
  name: string;
  seed: number;
  render(rng: Rng, size: number): Promise<Float32Array>;
}

export interface DemoPackSpec {
  name: string;
  size: TrainSize;
  description: string;
  source: DomainGenerator;
  target: DomainGenerator;
  /** images per domain */
  images: number;
  /** iterations and batch (egsde train's defaults where left out) */
  recipe: Partial<typeof TRAINING_DEFAULTS>;
  defaults: Record<string, unknown>;
  /** seeds of the source images the web page offers (samples/); none: the old pack's are carried over */
  sampleSeeds?: number[];
}

const shape = (domain: ShapeDomain, seed: number): DomainGenerator => ({
  name: domain,
  seed,
  render: async (rng, size) => renderShape(domain, sampleShapeParams(rng, size), size).map((v) => (v + 1) / 2),
});
const critter = (domain: CritterDomain, seed: number): DomainGenerator => ({
  name: domain,
  seed,
  render: (rng, size) => renderCritter(domain, sampleCritterParams(rng), size),
});

/**
 * The demo packs. Seeds of the generated folders are not the evaluation's held-out streams
 * (evaluate.ts). The demo-cat2dog recipe is sized to train in under 90 minutes on 2 cores (README,
 * "Train on your own two domains"): the default batch, fewer iterations than the default recipe.
 */
export const DEMO_PACKS = {
  demo: {
    name: 'demo',
    size: DEMO_SIZE,
    description: 'Demo pack trained by npm run train:demo (egsde train on generated folders): discs (source) to squares (target), 32 px procedural images',
    source: shape('disc', 7_000_001),
    target: shape('square', 7_000_002),
    images: 4000,
    recipe: {},
    defaults: DEMO_PACK_DEFAULTS,
  },
  'demo-cat2dog': {
    name: 'demo-cat2dog',
    size: 64,
    description: 'Second demo pack, trained by npm run train:demo -- --pack demo-cat2dog: cartoon cat faces (source) to dog faces (target), 64 px generated images',
    source: critter('cat', 7_100_001),
    target: critter('dog', 7_100_002),
    images: 4000,
    recipe: { scoreIterations: 800, dseIterations: 1000, classifierIterations: 400 },
    defaults: CAT2DOG_PACK_DEFAULTS,
    sampleSeeds: [101, 202, 303, 404],
  },
} satisfies Record<string, DemoPackSpec>;
export type DemoPackName = keyof typeof DEMO_PACKS;

export interface TrainDemoOptions {
  /** which demo. Default 'demo' */
  pack?: DemoPackName;
  /** Default models/NAME */
  outDir?: string;
  /** checkpoints; Default .cache/train-NAME */
  workDir?: string;
  /** the generated folders; Default .cache/NAME-data */
  dataDir?: string;
  /** images per domain; Default the demo's */
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

/**
 * Writes `n` seeded images of a generator as PNGs (`NAME-00000.png`, ...) unless the folder
 * already holds exactly them. A shape domain ('disc', 'square') names the 32 px demo's generators.
 */
export async function generateDomainFolder(dir: string, domain: ShapeDomain | DomainGenerator, n: number, size: number = DEMO_SIZE): Promise<string> {
  const gen = typeof domain === 'string' ? (domain === 'disc' ? DEMO_PACKS.demo.source : DEMO_PACKS.demo.target) : domain;
  const marker = path.join(dir, '.generated.json');
  const spec = JSON.stringify({ domain: gen.name, n, size, seed: gen.seed, format: 1 });
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === spec) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(gen.seed);
  for (let i = 0; i < n; i++) {
    fs.writeFileSync(path.join(dir, `${gen.name}-${String(i).padStart(5, '0')}.png`), await encodePng(await gen.render(rng, size), size));
  }
  fs.writeFileSync(marker, spec);
  return dir;
}

/** The web samples: one source image per seed, `NAME-K.png`, and samples/index.json. */
export async function writeSamples(dir: string, gen: DomainGenerator, seeds: number[], size: number): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const index = [];
  for (const [k, seed] of seeds.entries()) {
    const file = `${gen.name}-${k + 1}.png`;
    fs.writeFileSync(path.join(dir, file), await encodePng(await gen.render(new Rng(seed), size), size));
    index.push({ file, title: `${gen.name} ${k + 1} (seed ${seed})` });
  }
  fs.writeFileSync(path.join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
}

export async function trainDemo(opts: TrainDemoOptions = {}): Promise<{ dir: string; report: TrainingReport }> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const demo: DemoPackSpec = DEMO_PACKS[opts.pack ?? 'demo'];
  const legacy = demo.name === 'demo';
  const data = opts.dataDir ?? path.join('.cache', legacy ? 'demo-data' : `${demo.name}-data`);
  const n = opts.images ?? demo.images;
  log(`generating ${n} ${demo.source.name} and ${n} ${demo.target.name} images (${demo.size} px) in ${data} (once)`);
  const source = await generateDomainFolder(path.join(data, demo.source.name), demo.source, n, demo.size);
  const target = await generateDomainFolder(path.join(data, demo.target.name), demo.target, n, demo.size);
  return trainPack({
    source,
    target,
    size: demo.size,
    out: opts.outDir ?? path.join('models', demo.name),
    name: demo.name,
    sourceName: demo.source.name,
    targetName: demo.target.name,
    description: demo.description,
    work: opts.workDir ?? path.join('.cache', legacy ? 'train-demo' : `train-${demo.name}`),
    seed: opts.seed,
    scoreIterations: opts.scoreIterations ?? demo.recipe.scoreIterations,
    dseIterations: opts.dseIterations ?? demo.recipe.dseIterations,
    classifierIterations: opts.classifierIterations ?? demo.recipe.classifierIterations,
    batch: opts.batch ?? demo.recipe.batch,
    defaults: demo.defaults,
    threads: opts.threads,
    progress: opts.progress,
    force: true,
    ...(demo.sampleSeeds ? { addFiles: (staging: string) => writeSamples(path.join(staging, 'samples'), demo.source, demo.sampleSeeds!, demo.size) } : { carry: ['samples'] }),
    log,
  });
}
