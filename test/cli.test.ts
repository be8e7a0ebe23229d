/** `egsde translate` (in-process, no server) and `egsde serve`, run as an operator runs them. */
import { execFile, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { until } from './helpers/until';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'egsde.js');
const FIXTURES = path.join(__dirname, 'fixtures');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-cli-translate-'));

/** the child's environment: no jest markers (they silence the logger and change NODE_ENV), tiny packs allowed */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ALLOW_SHARED_MODEL_FILES: '1', MODELS_ROOT: FIXTURES, EGSDE_THREADS: '1', ...extra };
  delete env.JEST_WORKER_ID;
  delete env.NODE_ENV;
  return env;
}

function egsde(args: string[], env = childEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let source: string;
beforeAll(async () => {
  const raw = Buffer.alloc(90 * 70 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + (i >> 7)) % 256;
  source = path.join(tmp, 'cat.png');
  await sharp(raw, { raw: { width: 90, height: 70, channels: 3 } }).png().toFile(source);
});

describe('egsde translate', () => {
  test('a pack folder (tiny-adm, 64 px): the PNG, plain progress lines to 100 %, the final line', async () => {
    const out = path.join(tmp, 'tiny.png');
    const r = await egsde(['translate', source, '--pack', path.join(FIXTURES, 'packs', 'tiny-adm'), '--out', out, '--seed', '3', '--M', '6']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 64]);
    const progress = r.stdout.split('\n').filter((l) => l.startsWith('progress '));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[progress.length - 1]).toMatch(/^progress 100% step 6\/6 t 0 eta /);
    const last = r.stdout.trim().split('\n').pop()!;
    expect(last).toMatch(new RegExp(`^wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(64x64, pack tiny-adm\\) seed 3 steps 6 in [\\d.]+s \\| l2 [\\d.]+ psnr [\\d.]+ dB ssim -?[\\d.]+$`));
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 120000);

  test('the demo pack by name (models/demo, 32 px, few steps, SDEdit)', async () => {
    const out = path.join(tmp, 'sub', 'demo.png');
    const r = await egsde(['translate', source, '--pack', 'demo', '--models', path.join(ROOT, 'models'), '--out', out, '--steps', '5', '--M', '50', '--seed', '9', '--sampler', 'SDEDIT']);
    expect(r.code).toBe(0);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([32, 32]);
    expect(r.stdout).toMatch(/^progress 100% step 5\/5 /m);
    expect(r.stdout.trim().split('\n').pop()).toMatch(/\(32x32, pack demo\) seed 9 steps 5 in /);
  }, 120000);

  const bad: [string, () => string[], RegExp][] = [
    ['a missing file', () => ['translate', path.join(tmp, 'nope.png'), '--pack', 'demo'], /^error input\/image_missing: cannot read .*nope\.png: no such file$/],
    ['a file that is no image', () => { fs.writeFileSync(path.join(tmp, 'notes.txt'), 'not an image'); return ['translate', path.join(tmp, 'notes.txt'), '--pack', 'demo']; }, /^error input\/image_undecodable: /],
    ['an unknown pack', () => ['translate', source, '--pack', 'no-such-pack'], /^error pack\/not_found: no model pack "no-such-pack" in .*; available: demo$/],
    ['params out of range', () => ['translate', source, '--pack', 'demo', '--steps', '0'], /^error input\/params_out_of_range: params\.steps: must be >= 1$/],
  ];
  test.each(bad)('%s: one coded line, exit 1, no output file', async (_what, args, message) => {
    const out = path.join(tmp, `bad-${Math.random().toString(36).slice(2)}.png`);
    const r = await egsde([...args(), '--models', path.join(ROOT, 'models'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 120000);
});

test('egsde serve: listens (PORT=0), answers /livez, stops on SIGTERM with one "stopping" line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-cli-serve-'));
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: childEnv({ PORT: '0', DATABASE_URL: `file:${path.join(dir, 'db.sqlite')}`, ARTIFACTS_DIR: path.join(dir, 'artifacts'), MODELS_DIR: path.join(FIXTURES, 'packs'), LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; port?: number; path?: string });
    const listening = await until('the listening line', async () => lines().find((l) => l.msg === 'egsde service listening'), 90000);
    expect(listening.port).toBeGreaterThan(0);
    const res = await fetch(`http://127.0.0.1:${listening.port}/livez`);
    expect(res.status).toBe(200);
    await until('the request log line', async () => lines().some((l) => l.path === '/livez'), 30000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines().filter((l) => l.msg === 'stopping')).toHaveLength(1);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 120000);

describe('egsde train and egsde eval', () => {
  test('bad folders: exit 1 with the code and the folder or file named, nothing written', async () => {
    const empty = path.join(tmp, 'train-empty');
    fs.mkdirSync(empty, { recursive: true });
    const out = path.join(tmp, 'train-models', 'never');
    const r = await egsde(['train', '--source', empty, '--target', empty, '--size', '32', '--out', out, '--work', path.join(tmp, 'train-work-never')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error train/folder_empty: the source folder ${empty} holds no files`);
    expect(fs.existsSync(path.dirname(out))).toBe(false);
    const e = await egsde(['eval', '--pack', empty]);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain(`error train/invalid_option: ${empty} is not a pack folder (no pack.json)`);
    const ms = await egsde(['eval', '--pack', path.join(ROOT, 'models', 'demo'), '--ms', '90,x']);
    expect(ms.code).toBe(1);
    expect(ms.stderr.trim()).toBe('error input/params_out_of_range: --ms must list positive integers separated by commas, got "90,x"');
    const ls = await egsde(['eval', '--pack', path.join(ROOT, 'models', 'demo'), '--lambda-s', '100,-5']);
    expect(ls.code).toBe(1);
    expect(ls.stderr.trim()).toBe('error input/params_out_of_range: --lambda-s must list numbers >= 0 separated by commas, got "100,-5"');
  }, 120000);

  test('a tiny training from two folders: progress lines with ETA, the summary, a pack `egsde translate` serves', async () => {
    const data = path.join(tmp, 'train-data');
    const { generateDomainFolder } = await import('../src/training/train-demo');
    await generateDomainFolder(path.join(data, 'disc'), 'disc', 32);
    await generateDomainFolder(path.join(data, 'square'), 'square', 32);
    const out = path.join(tmp, 'train-models', 'shapes');
    const args = ['train', '--source', path.join(data, 'disc'), '--target', path.join(data, 'square'), '--size', '32', '--out', out, '--work', path.join(tmp, 'train-work'), '--batch', '4', '--threads', '1'];
    const r = await egsde([...args, '--score-iterations', '10', '--dse-iterations', '2', '--classifier-iterations', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^score: 10\/10 loss [\d.]+, \d+ s, eta 0 s$/m);
    expect(r.stdout).toMatch(/^source .*disc: 32 images \(32x32\), 24 to train, 8 held out$/m);
    expect(r.stdout).toContain(`serve it: MODELS_DIR=${path.dirname(out)} npm start`);
    const again = await egsde(args);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`error train/out_exists: ${out} exists; pass --force to replace it`);
    const png = path.join(tmp, 'shapes.png');
    const t = await egsde(['translate', source, '--pack', out, '--out', png, '--steps', '4', '--M', '40', '--lambda-i', '1', '--seed', '1'], childEnv({ MODELS_ROOT: tmp }));
    expect(t.code).toBe(0);
    expect((await sharp(png).metadata()).width).toBe(32);
  }, 240000);
});
