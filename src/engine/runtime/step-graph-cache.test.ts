/**
 * The step-graph cache: built once and then found; the files onnxruntime loads give the same
 * step as the graph built in memory; a changed model file, precision or builder makes a new entry
 * (the old version of the same files goes); damaged entries are rebuilt; concurrent builders
 * publish one entry; a failed build and a dead builder's staging folder leave nothing behind; and
 * the engine steps from the cache after a restart, rebuilding files onnxruntime refuses.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { goldenDir, goldenModel, trajectoryCase } from '../testing/goldens';
import { buildStepGraph } from '../sampling/step-graph';
import { NUM_COEFS, stepCoefficients } from '../sampling/coefficients';
import { createSchedule } from '../sampling/schedule';
import { Rng } from '../sampling/random';
import { GraphSession } from './session';
import { StepGraphCache } from './step-graph-cache';
import { StepGraphJob } from './step-graph-files';
import { EngineCore } from './engine-core';

const c = trajectoryCase('egsde_adm');
let dir: string;
let models: string;

function job(over: Partial<StepGraphJob> = {}): StepGraphJob {
  return {
    pack: 'tiny',
    sampler: 'egsde',
    s1: c.s1,
    s2: c.s2,
    imageSize: c.imageSize,
    downN: c.downN,
    score: { file: path.join(models, c.model), input: 'x', timestep: 't', kind: c.scoreKind },
    dse: { file: path.join(models, c.dse), input: 'x', timestep: 't' },
    ...over,
  };
}

const entries = (cacheDir: string) => fs.readdirSync(cacheDir).sort();

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-sgcache-'));
  models = path.join(dir, 'models');
  fs.mkdirSync(models);
  for (const f of [c.model, c.dse]) fs.copyFileSync(path.join(goldenDir(), f), path.join(models, f));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('built once, then found; the files give the step the in-memory graph gives, bit for bit', async () => {
  const cache = new StepGraphCache(path.join(dir, 'cache'));
  const first = await cache.get(job());
  expect(first.hit).toBe(false);
  const second = await cache.get(job());
  expect(second).toMatchObject({ hit: true, modelPath: first.modelPath, buildMs: 0 });
  expect(entries(path.join(dir, 'cache'))).toHaveLength(1);
  expect(fs.readdirSync(path.dirname(first.modelPath)).sort()).toEqual(['meta.json', 'step.onnx', 'step.weights']);

  const n = 2;
  const rng = new Rng(4);
  const S = c.imageSize;
  const img = () => ({ data: rng.normals(n * 3 * S * S), dims: [n, 3, S, S] });
  const coef = new Float32Array(n * NUM_COEFS);
  for (let i = 0; i < n; i++) stepCoefficients(createSchedule(c.schedule), 5 + i, { lambdaS: c.lambdaS, lambdaI: c.lambdaI }, coef.subarray(i * NUM_COEFS, (i + 1) * NUM_COEFS));
  const feeds = { y: img(), x0: img(), e: img(), z: img(), coef: { data: coef, dims: [n, NUM_COEFS] } };
  const fromFiles = await GraphSession.open(second.modelPath);
  const inMemory = await GraphSession.create(buildStepGraph({ sampler: 'egsde', score: { ...goldenModel(c.model), kind: c.scoreKind }, dse: goldenModel(c.dse), imageSize: S, downN: c.downN, s1: c.s1, s2: c.s2 }));
  const a = await fromFiles.run(feeds);
  const b = await inMemory.run(feeds);
  for (const k of Object.keys(b)) expect(Array.from(a[k].data as Float32Array)).toEqual(Array.from(b[k].data as Float32Array));
  await fromFiles.release();
  await inMemory.release();
});

test('a changed model file makes a new entry and removes the old version; other settings are other entries', async () => {
  const cacheDir = path.join(dir, 'cache');
  const cache = new StepGraphCache(cacheDir);
  const old = await cache.get(job());
  const fp16 = await cache.get(job({ precision: 'fp16' }));
  expect(fp16.modelPath).not.toBe(old.modelPath);
  expect(entries(cacheDir)).toHaveLength(2);
  // the same file rewritten (new mtime)
  const f = path.join(models, c.model);
  fs.writeFileSync(f, fs.readFileSync(f));
  fs.utimesSync(f, new Date(), new Date(Date.now() + 5000));
  const fresh = await cache.get(job());
  expect(fresh.hit).toBe(false);
  expect(fresh.modelPath).not.toBe(old.modelPath);
  expect(fs.existsSync(path.dirname(old.modelPath))).toBe(false);
  // the fp16 entry is another configuration: kept
  expect(fs.existsSync(fp16.modelPath)).toBe(true);
  expect(entries(cacheDir)).toHaveLength(2);
});

test('built in a child process (as big models are), the entry is the same', async () => {
  const inProcess = await new StepGraphCache(path.join(dir, 'a')).get(job());
  const inChild = await new StepGraphCache(path.join(dir, 'b'), 0).get(job());
  expect(inChild.hit).toBe(false);
  for (const f of ['step.onnx', 'step.weights']) expect(fs.readFileSync(path.join(path.dirname(inChild.modelPath), f)).equals(fs.readFileSync(path.join(path.dirname(inProcess.modelPath), f)))).toBe(true);
  // and a failure in the child comes back as the engine's coded error
  fs.writeFileSync(path.join(models, 'garbage.onnx'), 'not a model');
  await expect(new StepGraphCache(path.join(dir, 'b'), 0).get(job({ score: { ...job().score, file: path.join(models, 'garbage.onnx') } }))).rejects.toMatchObject({ code: 'engine/invalid_model' });
}, 60000);

test('a damaged entry is rebuilt', async () => {
  const cache = new StepGraphCache(path.join(dir, 'cache'));
  const e = await cache.get(job());
  const weights = path.join(path.dirname(e.modelPath), 'step.weights');
  fs.truncateSync(weights, 100);
  const again = await cache.get(job());
  expect(again.hit).toBe(false);
  expect(fs.statSync(weights).size).toBeGreaterThan(100);
  fs.rmSync(path.join(path.dirname(e.modelPath), 'meta.json'));
  expect((await cache.get(job())).hit).toBe(false);
});

test('concurrent builders publish one entry and leave no staging folder', async () => {
  const cacheDir = path.join(dir, 'cache');
  const got = await Promise.all([new StepGraphCache(cacheDir).get(job()), new StepGraphCache(cacheDir).get(job()), new StepGraphCache(cacheDir).get(job())]);
  expect(new Set(got.map((g) => g.modelPath)).size).toBe(1);
  expect(entries(cacheDir)).toHaveLength(1);
  expect(fs.existsSync(got[0].modelPath)).toBe(true);
});

test('a failed build leaves nothing; a dead builder\'s staging folder is removed', async () => {
  const cacheDir = path.join(dir, 'cache');
  fs.mkdirSync(cacheDir);
  const dead = path.join(cacheDir, '.staging-tiny-x-2147483646-0123abcd');
  fs.mkdirSync(dead);
  const cache = new StepGraphCache(cacheDir);
  expect(fs.existsSync(dead)).toBe(false);
  fs.writeFileSync(path.join(models, 'garbage.onnx'), 'not a model');
  await expect(cache.get(job({ score: { ...job().score, file: path.join(models, 'garbage.onnx') } }))).rejects.toMatchObject({ code: 'engine/invalid_model' });
  expect(entries(cacheDir)).toEqual([]);
});

test('without a folder the cache lives in a temporary one, removed at close', async () => {
  const cache = new StepGraphCache(null);
  const e = await cache.get(job());
  expect(fs.existsSync(e.modelPath)).toBe(true);
  cache.close();
  expect(fs.existsSync(cache.folder)).toBe(false);
});

test('the engine steps from the cache after a restart and rebuilds files onnxruntime refuses', async () => {
  const modelsDir = path.join(dir, 'packs');
  fs.mkdirSync(path.join(modelsDir, 'tiny'), { recursive: true });
  for (const f of [c.model, c.dse]) fs.copyFileSync(path.join(models, f), path.join(modelsDir, 'tiny', f));
  const sch = c.schedule;
  fs.writeFileSync(
    path.join(modelsDir, 'tiny', 'pack.json'),
    JSON.stringify({
      name: 'tiny',
      sourceDomain: 'cat',
      targetDomain: 'dog',
      imageSize: c.imageSize,
      schedule: { betaSchedule: sch.betaSchedule, betaStart: sch.betaStart, betaEnd: sch.betaEnd, numTimesteps: sch.numDiffusionTimesteps, varType: sch.varType },
      score: { file: c.model, kind: c.scoreKind },
      dse: { file: c.dse, featureOutput: 'features' },
      defaults: { M: 4, downN: c.downN, lambdaS: c.lambdaS, lambdaI: c.lambdaI, s1: c.s1, s2: c.s2 },
    }),
  );
  const cacheDir = path.join(dir, 'cache');
  const image = new Float32Array(3 * c.imageSize * c.imageSize).map((_, i) => Math.sin(i));
  const runOnce = async () => {
    const logs: string[] = [];
    const core = await EngineCore.create({ modelsDir, stepGraphCacheDir: cacheDir, intraOpThreads: 1 }, (level, msg) => logs.push(`${level} ${msg}`));
    const out = await new Promise<Float32Array>((resolve, reject) => {
      core.start({ pack: 'tiny', image, params: { seed: 3, steps: 4, previewEvery: 0 } }, (e) => {
        if (e.type === 'result') resolve(e.image);
        else if (e.type !== 'step') reject(new Error(e.type));
      });
    });
    await core.close();
    return { out, logs };
  };
  const first = await runOnce();
  expect(first.logs.find((l) => l.includes('step graph ready'))).toMatch(/built in \d+ ms/);
  const second = await runOnce();
  expect(second.logs.find((l) => l.includes('step graph ready'))).toMatch(/from the cache/);
  expect(Array.from(second.out)).toEqual(Array.from(first.out));
  // the model file damaged on disk (meta and sizes intact): onnxruntime refuses it, the engine rebuilds
  const [entry] = entries(cacheDir);
  fs.writeFileSync(path.join(cacheDir, entry, 'step.onnx'), Buffer.alloc(fs.statSync(path.join(cacheDir, entry, 'step.onnx')).size, 7));
  const third = await runOnce();
  expect(third.logs.some((l) => l.startsWith('warn') && l.includes('refused the cached files, rebuilding'))).toBe(true);
  expect(Array.from(third.out)).toEqual(Array.from(first.out));
});
