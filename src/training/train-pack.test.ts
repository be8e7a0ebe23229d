/**
 * egsde train: bad folders and options are refused with a code naming the folder or file, and
 * leave nothing behind; a tiny training writes a pack the engine serves, with its held-out split;
 * a stopped training resumes to the same weights as one that ran straight through; a work folder
 * of another training is refused; egsde eval runs the frontier on the held-out split.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { EngineCore } from '../engine/toolkit';
import type { RunEvent } from '../engine';
import { readPackInfos } from '../engine';
import { CodedError } from '../errors';
import { DEMO_PACKS, generateDomainFolder, trainDemo } from './train-demo';
import { HELDOUT_DIR, MIN_IMAGES, splitHeldout, trainPack, TrainPackOptions } from './train-pack';
import { evaluate } from './evaluate';

jest.setTimeout(300_000);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-train-'));
const discs = path.join(root, 'data', 'disc');
const squares = path.join(root, 'data', 'square');
const TINY = { scoreIterations: 3, dseIterations: 3, classifierIterations: 3, batch: 4, progress: false, log: () => {} };

beforeAll(async () => {
  await generateDomainFolder(discs, 'disc', 40);
  await generateDomainFolder(squares, 'square', 40);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function png(file: string, w: number, h: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toFile(file);
}

async function folderOf(name: string, count: number, w = 32, h = 32): Promise<string> {
  const dir = path.join(root, name);
  for (let i = 0; i < count; i++) await png(path.join(dir, `img-${String(i).padStart(3, '0')}.png`), w, h);
  return dir;
}

/** One run of `pack` on an engine over `models`, to its result or error event. */
async function runOnce(models: string, pack: string, image: Float32Array, params: Record<string, number>): Promise<RunEvent> {
  const core = await EngineCore.create({ modelsDir: models });
  try {
    return await new Promise<RunEvent>((resolve) => {
      core.start({ pack, image, params }, (e) => {
        if (e.type === 'result' || e.type === 'error') resolve(e);
      });
    });
  } finally {
    await core.close();
  }
}

/** What a refused training must leave: no pack, no staging folder beside it, no work folder. */
function expectNothingWritten(out: string, work: string): void {
  expect(fs.existsSync(out)).toBe(false);
  expect(fs.readdirSync(path.dirname(out)).filter((f) => f.startsWith(`${path.basename(out)}.`))).toEqual([]);
  expect(fs.existsSync(work)).toBe(false);
}

async function refused(opts: Partial<TrainPackOptions>, code: string, mentions: string): Promise<void> {
  const out = path.join(root, 'models', `refused-${code.replace(/\W/g, '-')}`);
  const work = path.join(root, 'work-refused');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const err = await trainPack({ source: discs, target: squares, size: 32, out, work, ...TINY, ...opts }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CodedError);
  expect((err as CodedError).code).toBe(code);
  expect((err as CodedError).message).toContain(mentions);
  expectNothingWritten(out, work);
}

describe('bad input: a coded error naming the folder or the file, and nothing written', () => {
  test('a folder that does not exist, and a file given as a folder', async () => {
    await refused({ source: path.join(root, 'nope') }, 'train/folder_unreadable', path.join(root, 'nope'));
    await png(path.join(root, 'loose.png'), 32, 32);
    await refused({ target: path.join(root, 'loose.png') }, 'train/folder_unreadable', 'is not a folder');
  });

  test('an empty folder (hidden files do not count)', async () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '.DS_Store'), 'x');
    await refused({ source: dir }, 'train/folder_empty', dir);
  });

  test('a folder of non-images names the first file that is not an image', async () => {
    const dir = path.join(root, 'texts');
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < MIN_IMAGES; i++) fs.writeFileSync(path.join(dir, `note-${String(i).padStart(2, '0')}.txt`), 'not an image');
    await refused({ target: dir }, 'train/not_an_image', 'note-00.txt');
  });

  test('one truncated PNG among good ones is named', async () => {
    const dir = await folderOf('truncated', MIN_IMAGES);
    const bad = path.join(dir, 'img-007.png');
    fs.writeFileSync(bad, fs.readFileSync(bad).subarray(0, 40));
    await refused({ source: dir }, 'train/not_an_image', bad);
  });

  test('mixed sizes name the odd file and both sizes', async () => {
    const dir = await folderOf('mixed', MIN_IMAGES);
    await png(path.join(dir, 'img-020.png'), 48, 40);
    await refused({ target: dir }, 'train/mixed_sizes', `${path.join(dir, 'img-020.png')} is 48x40, but img-000.png in the same folder is 32x32`);
  });

  test('too few images, and images smaller than the size to train at', async () => {
    await refused({ source: await folderOf('few', MIN_IMAGES - 1) }, 'train/too_few_images', `holds ${MIN_IMAGES - 1} files; training needs at least ${MIN_IMAGES}`);
    await refused({ target: await folderOf('small', MIN_IMAGES, 16, 16) }, 'train/image_too_small', 'are 16x16, smaller than the 32 px');
  });

  test('options out of range and an existing pack folder', async () => {
    await refused({ size: 48 }, 'train/invalid_option', '--size must be 32 or 64');
    await refused({ holdout: 0.9 }, 'train/invalid_option', '--holdout');
    await refused({ scoreIterations: 0 }, 'train/invalid_option', '--score-iterations');
    await refused({ out: path.join(root, 'models', 'Not A Name') }, 'train/invalid_option', 'pass --name');
    const existing = path.join(root, 'models', 'existing');
    fs.mkdirSync(existing, { recursive: true });
    const err = await trainPack({ source: discs, target: squares, size: 32, out: existing, work: path.join(root, 'w-existing'), ...TINY }).catch((e: unknown) => e);
    expect((err as CodedError).code).toBe('train/out_exists');
    expect(fs.readdirSync(existing)).toEqual([]);
  });
});

test('the held-out split is seeded, disjoint and at least MIN_HELDOUT', () => {
  const a = splitHeldout(100, 0.1, 7);
  expect(splitHeldout(100, 0.1, 7)).toEqual(a);
  expect(a.heldout).toHaveLength(10);
  expect(new Set([...a.train, ...a.heldout]).size).toBe(100);
  expect(splitHeldout(40, 0.1, 7).heldout).toHaveLength(8);
  expect(splitHeldout(100, 0.1, 8).heldout).not.toEqual(a.heldout);
});

describe('a tiny training', () => {
  const models = path.join(root, 'served');
  const out = path.join(models, 'tiny');
  const work = path.join(root, 'work-tiny');

  test('writes a pack the engine and the API list serve, with its held-out split, and egsde eval runs on it', async () => {
    // a killed writer's staging folder (a pid that is not running) is cleared on the way
    const dead = `${out}.partial-999999`;
    fs.mkdirSync(dead, { recursive: true });
    const { dir, report } = await trainPack({ source: discs, target: squares, size: 32, out, work, ...TINY });
    expect(dir).toBe(out);
    expect(fs.existsSync(dead)).toBe(false);
    expect(report.images).toEqual({ source: { train: 32, heldout: 8 }, target: { train: 32, heldout: 8 } });
    expect(fs.readdirSync(path.join(out, HELDOUT_DIR, 'source'))).toHaveLength(8);
    expect(fs.readdirSync(path.join(out, HELDOUT_DIR, 'target'))).toHaveLength(8);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'pack.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'tiny', sourceDomain: 'disc', targetDomain: 'square', imageSize: 32 });

    const infos = await readPackInfos(models);
    expect(infos.map((p) => p.name)).toEqual(['tiny']);
    const result = await runOnce(models, 'tiny', new Float32Array(3 * 32 * 32).fill(0.2), { steps: 4, M: 40, lambdaI: 1, seed: 3 });
    expect(result.type).toBe('result');

    const evalOut = path.join(root, 'eval-tiny');
    const { results } = await evaluate({ packDir: out, n: 4, data: 'heldout', frontierOnly: true, frontier: { Ms: [40], steps: 4, lambdaS: [0, 100] }, outDir: evalOut, log: () => {} });
    expect(Object.keys(results)).toEqual(['frontier_sdedit', 'frontier_ilvr', 'frontier_egsde', 'frontier_lambdaS']);
    for (const rows of Object.values(results)) for (const r of rows) expect(Number.isFinite(r.l2)).toBe(true);
    expect(fs.existsSync(path.join(evalOut, 'frontier.png'))).toBe(true);
    const saved = JSON.parse(fs.readFileSync(path.join(evalOut, 'frontier.json'), 'utf8'));
    expect(saved.n).toBe(4);
    expect(saved.data).toContain('held-out');
  });

  test('a stopped training resumes to the weights of one that ran straight through', async () => {
    const opts = { source: discs, target: squares, size: 32, ...TINY, scoreIterations: 4, dseIterations: 4, classifierIterations: 4 };
    await trainPack({ ...opts, out: path.join(root, 'straight', 'p'), work: path.join(root, 'w-straight') });
    const resumedWork = path.join(root, 'w-resumed');
    await trainPack({ ...opts, scoreIterations: 2, dseIterations: 2, classifierIterations: 2, out: path.join(root, 'resumed', 'p'), work: resumedWork });
    const lines: string[] = [];
    await trainPack({ ...opts, out: path.join(root, 'resumed', 'p'), work: resumedWork, force: true, log: (m) => lines.push(m) });
    expect(lines.filter((l) => l.includes('resuming at iteration 2/4'))).toHaveLength(3);
    for (const f of ['score.onnx', 'dse.onnx', 'eval-classifier.onnx']) {
      expect(fs.readFileSync(path.join(root, 'resumed', 'p', f)).equals(fs.readFileSync(path.join(root, 'straight', 'p', f)))).toBe(true);
    }
    // a work folder of another training (another seed) is refused; --restart discards it
    const other = { ...opts, seed: 5, out: path.join(root, 'resumed', 'q'), work: resumedWork };
    const err = await trainPack(other).catch((e: unknown) => e);
    expect((err as CodedError).code).toBe('train/resume_mismatch');
    expect(fs.existsSync(path.join(root, 'resumed', 'q'))).toBe(false);
    const restarted: string[] = [];
    await trainPack({ ...other, restart: true, log: (m) => restarted.push(m) });
    expect(restarted.some((l) => l.includes('resuming'))).toBe(false);
  });
});

test('the 64 px demo (npm run train:demo -- --pack demo-cat2dog), tiny: generated cats and dogs, its own web samples, a 64 px pack the engine runs', async () => {
  const models = path.join(root, 'cat2dog-models');
  const { dir, report } = await trainDemo({ pack: 'demo-cat2dog', images: 32, batch: 2, scoreIterations: 2, dseIterations: 2, classifierIterations: 2, outDir: path.join(models, 'demo-cat2dog'), workDir: path.join(root, 'w-cat2dog'), dataDir: path.join(root, 'cat2dog-data'), progress: false, log: () => {} });
  expect(report).toMatchObject({ name: 'demo-cat2dog', size: 64, images: { source: { train: 24, heldout: 8 }, target: { train: 24, heldout: 8 } } });
  expect(fs.readdirSync(path.join(root, 'cat2dog-data', 'cat')).filter((f) => f.endsWith('.png'))).toHaveLength(32);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'pack.json'), 'utf8'));
  expect(manifest).toMatchObject({ name: 'demo-cat2dog', sourceDomain: 'cat', targetDomain: 'dog', imageSize: 64, defaults: { downN: DEMO_PACKS['demo-cat2dog'].defaults.downN } });
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'samples', 'index.json'), 'utf8')) as { file: string; title: string }[];
  expect(index.map((x) => x.file)).toEqual(['cat-1.png', 'cat-2.png', 'cat-3.png', 'cat-4.png']);
  expect(index[0].title).toBe('cat 1 (seed 101)');
  for (const { file } of index) expect(await sharp(path.join(dir, 'samples', file)).metadata()).toMatchObject({ width: 64, height: 64 });
  const result = await runOnce(models, 'demo-cat2dog', new Float32Array(3 * 64 * 64).fill(0.4), { steps: 2, M: 20, lambdaI: 1, seed: 1 });
  expect(result.type).toBe('result');
});
