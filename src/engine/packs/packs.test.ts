import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EngineError, isEngineError } from '../errors';
import { discoverPacks, findPack, loadPack, parsePackManifest, PackManifest } from './index';
import { readPackInfos } from './info';
import { EngineCore } from '../runtime/engine-core';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures');
const PACKS = path.join(FIXTURES, 'packs');
const BAD = path.join(FIXTURES, 'packs-bad');
const EGSDE_TINY = path.join(FIXTURES, 'egsde-tiny');
const SHARED = { root: FIXTURES, allowSharedFiles: true };

/** Runs `f` and returns the EngineError it throws (fails when it throws nothing or something else). */
async function engineError(f: () => unknown): Promise<EngineError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError, got none');
}

/** A minimal valid manifest (before defaults), with `patch` merged over it. */
function manifest(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'cat2dog',
    sourceDomain: 'cat',
    targetDomain: 'dog',
    imageSize: 256,
    score: { file: 'score.onnx', kind: 'adm-learned-sigma' },
    dse: { file: 'dse.onnx' },
    ...patch,
  };
}

const FILE = 'models/cat2dog/pack.json';

function parseError(json: unknown): EngineError {
  try {
    parsePackManifest(json, FILE);
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected parsePackManifest to throw');
}

describe('parsePackManifest', () => {
  it('fills every default', () => {
    const m: PackManifest = parsePackManifest(manifest(), FILE);
    expect(m).toEqual({
      name: 'cat2dog',
      sourceDomain: 'cat',
      sourceDomains: ['cat'],
      targetDomain: 'dog',
      imageSize: 256,
      schedule: { betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, numTimesteps: 1000, varType: 'fixedsmall' },
      score: { file: 'score.onnx', kind: 'adm-learned-sigma', input: 'x', timestep: 't' },
      dse: { file: 'dse.onnx', input: 'x', timestep: 't' },
      defaults: { M: 500, lambdaS: 500, lambdaI: 2, s1: 'cosine', s2: 'neg_l2', downN: 32, steps: 500, sampler: 'egsde', repeats: 1 },
    });
  });

  it('keeps given values and takes steps from M when omitted', () => {
    const m = parsePackManifest(
      manifest({
        description: 'd',
        sourceDomain: undefined,
        sourceDomains: ['cat', 'wild'],
        schedule: { betaSchedule: 'quad', numTimesteps: 200, varType: 'fixedlarge' },
        score: { file: 'sub/s.onnx', kind: 'eps', input: 'img', timestep: 'time', output: 'eps' },
        defaults: { M: 100, sampler: 'ilvr', downN: 16 },
      }),
      FILE,
    );
    expect(m.description).toBe('d');
    expect(m.sourceDomain).toBe('cat');
    expect(m.sourceDomains).toEqual(['cat', 'wild']);
    expect(m.schedule).toMatchObject({ betaSchedule: 'quad', numTimesteps: 200, varType: 'fixedlarge', betaEnd: 0.02 });
    expect(m.score).toEqual({ file: 'sub/s.onnx', kind: 'eps', input: 'img', timestep: 'time', output: 'eps' });
    expect(m.defaults).toMatchObject({ M: 100, steps: 100, sampler: 'ilvr', downN: 16 });
    expect(parsePackManifest(manifest({ defaults: { M: 100, steps: 25 } }), FILE).defaults.steps).toBe(25);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['M above numTimesteps', { defaults: { M: 1001 } }, 'defaults.M', 'must be <= schedule.numTimesteps (1000)'],
    ['default M above a short schedule', { schedule: { numTimesteps: 100 } }, 'defaults.M', 'must be <= schedule.numTimesteps (100)'],
    ['M zero', { defaults: { M: 0 } }, 'defaults.M', 'must be >= 1'],
    ['M not an integer', { defaults: { M: 2.5 } }, 'defaults.M', 'must be an integer'],
    ['steps above M', { defaults: { M: 50, steps: 51 } }, 'defaults.steps', 'must be <= defaults.M (50)'],
    ['steps zero', { defaults: { steps: 0 } }, 'defaults.steps', 'must be >= 1'],
    ['downN not dividing imageSize', { imageSize: 64, defaults: { downN: 24 } }, 'defaults.downN', 'must divide imageSize (64)'],
    ['imageSize not a multiple of 8', { imageSize: 100, defaults: { downN: 4 } }, 'imageSize', 'must be a multiple of 8'],
    ['imageSize too large', { imageSize: 2048 }, 'imageSize', 'must be <= 1024'],
    ['imageSize a string', { imageSize: '256' }, 'imageSize', 'expected number, got string'],
    ['bad name', { name: 'Cat2Dog' }, 'name', 'must match'],
    ['missing name', { name: undefined }, 'name', 'is required'],
    ['empty target', { targetDomain: ' ' }, 'targetDomain', 'must not be empty'],
    ['no source domain', { sourceDomain: undefined }, 'sourceDomain', 'is required'],
    ['both source fields', { sourceDomains: ['cat'] }, 'sourceDomains', 'not both'],
    ['empty sourceDomains', { sourceDomain: undefined, sourceDomains: [] }, 'sourceDomains', 'at least one'],
    ['duplicate source domain', { sourceDomain: undefined, sourceDomains: ['cat', 'cat'] }, 'sourceDomains[1]', "duplicate domain 'cat'"],
    ['unknown beta schedule', { schedule: { betaSchedule: 'cosine' } }, 'schedule.betaSchedule', "must be one of 'linear', 'quad'"],
    ['betaEnd below betaStart', { schedule: { betaStart: 0.02, betaEnd: 0.001 } }, 'schedule.betaEnd', 'must be >= schedule.betaStart'],
    ['beta of 1', { schedule: { betaEnd: 1 } }, 'schedule.betaEnd', 'must be < 1'],
    ['unknown score kind', { score: { file: 's.onnx', kind: 'v' } }, 'score.kind', "must be one of 'adm-learned-sigma', 'eps' (got 'v')"],
    ['missing score kind', { score: { file: 's.onnx' } }, 'score.kind', 'is required'],
    ['missing dse', { dse: undefined }, 'dse', 'is required'],
    ['absolute file', { dse: { file: '/etc/passwd' } }, 'dse.file', 'must be a relative path'],
    ['windows absolute file', { dse: { file: 'C:\\models\\dse.onnx' } }, 'dse.file', 'must be a relative path'],
    ['negative lambda', { defaults: { lambdaS: -1 } }, 'defaults.lambdaS', 'must be >= 0'],
    ['unknown sampler', { defaults: { sampler: 'ddim' } }, 'defaults.sampler', "must be one of 'egsde', 'sdedit', 'ilvr'"],
    ['unknown s2', { defaults: { s2: 'l1' } }, 'defaults.s2', "must be one of 'cosine', 'neg_l2'"],
    ['misspelt field', { defaults: { lamdaS: 100 } }, 'defaults.lamdaS', 'unknown field'],
    ['unknown top-level field', { task: 'x' }, 'task', 'unknown field'],
  ])('%s: pack/invalid naming the file and %s', (_what, patch, field, message) => {
    const e = parseError(manifest(patch));
    expect(e.code).toBe('pack/invalid');
    expect(e.message.startsWith(`${FILE}: ${field}: `)).toBe(true);
    expect(e.message).toContain(message);
    expect(e.details).toMatchObject({ file: FILE, field });
    expect(e.details.issues).toHaveLength(1);
  });

  it('names the whole document when it is not an object', () => {
    const e = parseError([1, 2]);
    expect(e.message).toBe(`${FILE}: (root): expected object, got array`);
    expect(e.details).toMatchObject({ file: FILE, field: '(root)' });
  });

  it('reports every problem, the first in details.field', () => {
    const e = parseError(manifest({ imageSize: 12, defaults: { sampler: 'x', repeats: 0 } }));
    expect(e.message).toContain('imageSize: must be a multiple of 8');
    expect(e.message).toContain('defaults.sampler: must be one of');
    expect(e.message).toContain('defaults.repeats: must be >= 1');
    expect(e.details.field).toBe('imageSize');
    expect(e.details.issues).toHaveLength(3);
  });
});

describe('loadPack: the fixture packs', () => {
  it('loads tiny-adm with the defaults filled and absolute model paths', async () => {
    const p = await loadPack(path.join(PACKS, 'tiny-adm'), SHARED);
    expect(p.dir).toBe(path.join(PACKS, 'tiny-adm'));
    expect(p.manifestPath).toBe(path.join(PACKS, 'tiny-adm', 'pack.json'));
    expect(p.scorePath).toBe(path.join(EGSDE_TINY, 'score_adm.onnx'));
    expect(p.dsePath).toBe(path.join(EGSDE_TINY, 'dse.onnx'));
    expect(p.manifest).toMatchObject({
      name: 'tiny-adm',
      sourceDomain: 'cat',
      targetDomain: 'dog',
      imageSize: 64,
      schedule: { betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, numTimesteps: 1000, varType: 'fixedsmall' },
      score: { kind: 'adm-learned-sigma', input: 'x', timestep: 't' },
      dse: { input: 'x', timestep: 't', featureOutput: 'features' },
      defaults: { M: 12, lambdaS: 500, lambdaI: 2, s1: 'cosine', s2: 'neg_l2', downN: 8, steps: 12, sampler: 'egsde', repeats: 1 },
    });
    expect(p.manifest.score.output).toBeUndefined();
  });

  it('loads tiny-ddpm', async () => {
    const p = await loadPack(path.join(PACKS, 'tiny-ddpm'), SHARED);
    expect(p.scorePath).toBe(path.join(EGSDE_TINY, 'score_ddpm.onnx'));
    expect(p.manifest).toMatchObject({ name: 'tiny-ddpm', score: { kind: 'eps' }, defaults: { M: 10, steps: 10, downN: 8 } });
  });

  it('matches the golden cases the packs stand for', async () => {
    const golden = JSON.parse(await fs.readFile(path.join(EGSDE_TINY, 'manifest.json'), 'utf8'));
    for (const [pack, caseName] of [['tiny-adm', 'egsde_adm'], ['tiny-ddpm', 'egsde_ddpm']] as const) {
      const { manifest: m, scorePath } = await loadPack(path.join(PACKS, pack), SHARED);
      const c = golden.cases[caseName];
      expect(path.basename(scorePath)).toBe(c.model);
      expect([m.defaults.M, m.defaults.lambdaS, m.defaults.lambdaI, m.defaults.s1, m.defaults.s2, m.defaults.downN]).toEqual([
        c.M, c.ls, c.li, c.s1, c.s2, c.down_N,
      ]);
      expect(m.schedule).toEqual({
        betaSchedule: c.schedule.beta_schedule,
        betaStart: c.schedule.beta_start,
        betaEnd: c.schedule.beta_end,
        numTimesteps: c.schedule.num_diffusion_timesteps,
        varType: c.schedule.var_type,
      });
    }
  });

  it('refuses the shared files without allowSharedFiles', async () => {
    const e = await engineError(() => loadPack(path.join(PACKS, 'tiny-adm')));
    expect(e.code).toBe('pack/invalid');
    expect(e.message).toContain("test/fixtures/packs/tiny-adm/pack.json: score.file: '../../egsde-tiny/score_adm.onnx' resolves outside the pack folder");
    expect(e.message).toContain('allowSharedFiles');
    expect(e.details).toMatchObject({ file: 'test/fixtures/packs/tiny-adm/pack.json', field: 'score.file' });
  });

  it('refuses shared files outside the given root', async () => {
    const e = await engineError(() => loadPack(path.join(PACKS, 'tiny-adm'), { root: PACKS, allowSharedFiles: true }));
    expect(e.code).toBe('pack/invalid');
    expect(e.message).toContain('score.file');
    expect(e.message).toContain('outside both the pack folder and the models root (test/fixtures/packs)');
  });
});

describe('loadPack: broken packs', () => {
  it('bad-json: pack/invalid naming the file and the position', async () => {
    const e = await engineError(() => loadPack(path.join(BAD, 'bad-json'), SHARED));
    expect(e.code).toBe('pack/invalid');
    expect(e.message).toMatch(/^test\/fixtures\/packs-bad\/bad-json\/pack\.json: invalid JSON: .*line 5/);
    expect(e.details).toMatchObject({ file: 'test/fixtures/packs-bad/bad-json/pack.json', field: null });
  });

  it('missing-file: names dse.file and where it looked', async () => {
    const e = await engineError(() => loadPack(path.join(BAD, 'missing-file'), SHARED));
    expect(e.code).toBe('pack/invalid');
    expect(e.message).toContain(
      "test/fixtures/packs-bad/missing-file/pack.json: dse.file: 'dse.onnx' does not exist (looked for test/fixtures/packs-bad/missing-file/dse.onnx)",
    );
    expect(e.details).toMatchObject({ field: 'dse.file' });
  });

  it('bad-field: M above numTimesteps', async () => {
    const e = await engineError(() => loadPack(path.join(BAD, 'bad-field'), SHARED));
    expect(e.code).toBe('pack/invalid');
    expect(e.message).toContain('test/fixtures/packs-bad/bad-field/pack.json: defaults.M: must be <= schedule.numTimesteps (100)');
    expect(e.details).toMatchObject({ file: 'test/fixtures/packs-bad/bad-field/pack.json', field: 'defaults.M' });
  });

  it('escape: a file outside the models root is refused even with allowSharedFiles', async () => {
    const e = await engineError(() => loadPack(path.join(BAD, 'escape'), SHARED));
    expect(e.code).toBe('pack/invalid');
    expect(e.message).toContain("test/fixtures/packs-bad/escape/pack.json: score.file: '../../../../package.json' resolves outside both");
  });

  it('a missing folder, or one without pack.json, is pack/not_found', async () => {
    const missing = await engineError(() => loadPack(path.join(BAD, 'nope')));
    expect(missing.code).toBe('pack/not_found');
    expect(missing.message).toContain('test/fixtures/packs-bad/nope does not exist');
    const noManifest = await engineError(() => loadPack(path.join(BAD, 'no-manifest')));
    expect(noManifest.code).toBe('pack/not_found');
    expect(noManifest.message).toContain('test/fixtures/packs-bad/no-manifest/pack.json: no pack.json');
  });
});

describe('loadPack: file containment (temporary folders)', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'packs-test-')));
  });
  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function writePack(dir: string, patch: Record<string, unknown> = {}): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'pack.json'), JSON.stringify(manifest({ name: path.basename(dir), ...patch })));
  }

  it('loads files inside the pack folder, including subfolders', async () => {
    const dir = path.join(tmp, 'a');
    await writePack(dir, { score: { file: 'nets/score.onnx', kind: 'eps' } });
    await fs.mkdir(path.join(dir, 'nets'));
    await fs.writeFile(path.join(dir, 'nets/score.onnx'), '');
    await fs.writeFile(path.join(dir, 'dse.onnx'), '');
    const p = await loadPack(dir);
    expect(p.scorePath).toBe(path.join(dir, 'nets', 'score.onnx'));
    expect(p.dsePath).toBe(path.join(dir, 'dse.onnx'));
  });

  it('refuses ../ to a sibling unless allowSharedFiles, which defaults root to the parent', async () => {
    const dir = path.join(tmp, 'a');
    await writePack(dir, { score: { file: '../shared/score.onnx', kind: 'eps' } });
    await fs.mkdir(path.join(tmp, 'shared'));
    await fs.writeFile(path.join(tmp, 'shared/score.onnx'), '');
    await fs.writeFile(path.join(dir, 'dse.onnx'), '');
    const e = await engineError(() => loadPack(dir));
    expect(e.code).toBe('pack/invalid');
    expect(e.details).toMatchObject({ field: 'score.file' });
    expect(e.message).toContain(`${path.join(dir, 'pack.json')}: score.file: '../shared/score.onnx' resolves outside the pack folder`);
    expect((await loadPack(dir, { allowSharedFiles: true })).scorePath).toBe(path.join(tmp, 'shared', 'score.onnx'));
  });

  it('refuses a symlink that leads outside the pack folder', async () => {
    const dir = path.join(tmp, 'a');
    await writePack(dir);
    await fs.writeFile(path.join(tmp, 'outside.onnx'), '');
    await fs.symlink(path.join(tmp, 'outside.onnx'), path.join(dir, 'score.onnx'));
    await fs.writeFile(path.join(dir, 'dse.onnx'), '');
    const e = await engineError(() => loadPack(dir));
    expect(e.code).toBe('pack/invalid');
    expect(e.message).toContain("score.file: 'score.onnx' resolves through a symlink to");
  });

  it('refuses a folder where a file is expected', async () => {
    const dir = path.join(tmp, 'a');
    await writePack(dir);
    await fs.mkdir(path.join(dir, 'score.onnx'));
    const e = await engineError(() => loadPack(dir));
    expect(e.message).toContain("score.file: 'score.onnx' is not a file");
  });
});

describe('discoverPacks', () => {
  it('finds the fixture packs', async () => {
    const { packs, errors } = await discoverPacks(PACKS, SHARED);
    expect(errors).toEqual([]);
    expect(packs.map((p) => p.manifest.name)).toEqual(['tiny-adm', 'tiny-ddpm']);
  });

  it('returns the good packs and one error per bad one, duplicates included', async () => {
    const { packs, errors } = await discoverPacks(BAD, SHARED);
    expect(packs.map((p) => p.manifest.name)).toEqual(['ok']);
    expect(packs[0]!.dir).toBe(path.join(BAD, 'ok'));
    expect(errors.slice(0, 4).every((e) => isEngineError(e, 'pack/invalid'))).toBe(true);
    expect(isEngineError(errors[4], 'pack/duplicate_name')).toBe(true);
    expect(errors[4]!.details.folders).toEqual(['test/fixtures/packs-bad/ok', 'test/fixtures/packs-bad/ok-again']);
    expect(errors.map((e) => [e.details.file, e.details.field])).toEqual([
      ['test/fixtures/packs-bad/bad-field/pack.json', 'defaults.M'],
      ['test/fixtures/packs-bad/bad-json/pack.json', null],
      ['test/fixtures/packs-bad/escape/pack.json', 'score.file'],
      ['test/fixtures/packs-bad/missing-file/pack.json', 'dse.file'],
      ['test/fixtures/packs-bad/ok-again/pack.json', 'name'],
    ]);
    expect(errors[4]!.message).toContain(
      "test/fixtures/packs-bad/ok-again/pack.json: name: duplicate pack name 'ok' (already used by test/fixtures/packs-bad/ok/pack.json)",
    );
  });

  it('an engine on a models folder with two packs of one name refuses to start, naming both folders', async () => {
    const e = await engineError(() => EngineCore.create({ modelsDir: BAD, ...SHARED, packsRoot: FIXTURES }));
    expect(e.code).toBe('pack/duplicate_name');
    expect(e.message).toContain("two packs named 'ok'");
    expect(e.message).toContain('folders test/fixtures/packs-bad/ok and test/fixtures/packs-bad/ok-again');
    await expect(readPackInfos(BAD, SHARED)).rejects.toMatchObject({ code: 'pack/duplicate_name' });
  });

  it('an engine given pack folders serves exactly those, whatever their parent holds', async () => {
    // two copies of one pack with different defaults, side by side
    const models = await fs.mkdtemp(path.join(os.tmpdir(), 'egsde-dup-'));
    const manifest = JSON.parse(await fs.readFile(path.join(BAD, 'ok', 'pack.json'), 'utf8')) as { score: { file: string }; dse: { file: string }; defaults: Record<string, number> };
    const ms: Record<string, number> = { a: 300, b: 200 };
    for (const [name, M] of Object.entries(ms)) {
      await fs.mkdir(path.join(models, name));
      await fs.copyFile(path.resolve(BAD, 'ok', manifest.score.file), path.join(models, name, 'score.onnx'));
      await fs.copyFile(path.resolve(BAD, 'ok', manifest.dse.file), path.join(models, name, 'dse.onnx'));
      await fs.writeFile(path.join(models, name, 'pack.json'), JSON.stringify({ ...manifest, score: { ...manifest.score, file: 'score.onnx' }, dse: { ...manifest.dse, file: 'dse.onnx' }, defaults: { ...manifest.defaults, M } }));
    }
    await expect(EngineCore.create({ modelsDir: models })).rejects.toMatchObject({ code: 'pack/duplicate_name' });
    for (const [name, M] of Object.entries(ms)) {
      const core = await EngineCore.create({ modelsDir: models, packDirs: [path.join(models, name)] });
      expect(core.packs().map((p) => [p.name, p.defaults.M])).toEqual([['ok', M]]);
      await core.close();
    }
    await fs.rm(models, { recursive: true, force: true });
  });

  it('defaults root to the models directory', async () => {
    // Without an explicit root, files under test/fixtures/egsde-tiny are outside packs-bad/.
    const { packs } = await discoverPacks(BAD, { allowSharedFiles: true });
    expect(packs).toEqual([]);
  });

  it('a missing models directory is pack/not_found', async () => {
    const e = await engineError(() => discoverPacks(path.join(FIXTURES, 'no-such-models')));
    expect(e.code).toBe('pack/not_found');
    expect(e.message).toContain('test/fixtures/no-such-models');
  });
});

describe('findPack', () => {
  it('finds a pack by name', async () => {
    const { packs } = await discoverPacks(PACKS, SHARED);
    expect(findPack(packs, 'tiny-ddpm').manifest.score.kind).toBe('eps');
  });

  it('an unknown name is pack/not_found listing the available names', async () => {
    const { packs } = await discoverPacks(PACKS, SHARED);
    const e = await engineError(() => findPack(packs, 'horse2zebra'));
    expect(e.code).toBe('pack/not_found');
    expect(e.message).toBe("unknown pack 'horse2zebra' (available: tiny-adm, tiny-ddpm)");
    expect(e.details).toEqual({ name: 'horse2zebra', available: ['tiny-adm', 'tiny-ddpm'] });
    expect((await engineError(() => findPack([], 'x'))).message).toContain('no packs are loaded');
  });
});
