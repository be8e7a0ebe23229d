/**
 * `egsde translate IMAGE --pack demo --out OUT.png`: one translation in this process (no server,
 * no database). The engine runs in its worker thread; progress goes to stdout (a bar on a TTY,
 * plain lines every 10% otherwise); the output is written to a temp file and renamed, so a
 * failed run leaves no OUT file.
 */
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { SingleBar } from 'cli-progress';
import { createEngine, CodedError, resolveParams, SAMPLERS } from '../engine';
import type { Engine, PackInfo, RunParams, RunResult, SamplerKind } from '../engine';
import { loadConfig } from '../config';
import { decodeSourceImage, encodePng } from '../images';
import { l2Distance, psnr, ssim } from '../metrics/image-metrics';

export interface TranslateOptions {
  pack: string;
  out: string;
  sampler?: string;
  steps?: number;
  M?: number;
  seed?: number;
  lambdaS?: number;
  lambdaI?: number;
  repeats?: number;
  models?: string;
}

export interface TranslateSummary {
  out: string;
  pack: string;
  size: number;
  seed: number;
  steps: number;
  seconds: number;
  metrics: { l2: number; psnr: number; ssim: number };
}

/** commander parser for a number option; a bad value is an input/params_out_of_range error. */
export function numberOption(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new CodedError('input/params_out_of_range', `${flag} must be a number, got ${JSON.stringify(v)}`, { field: flag });
    return n;
  };
}

/** A comma-separated list of positive integers (e.g. egsde eval --ms 90,120,200). */
export function intListOption(flag: string) {
  return (v: string): number[] => {
    const list = v.split(',').map((x) => Number(x.trim()));
    if (list.length === 0 || !list.every((n) => Number.isSafeInteger(n) && n > 0)) throw new CodedError('input/params_out_of_range', `${flag} must list positive integers separated by commas, got ${JSON.stringify(v)}`, { field: flag });
    return list;
  };
}

/** A comma-separated list of numbers >= 0 (e.g. egsde eval --lambda-s 100,200). */
export function nonNegativeListOption(flag: string) {
  return (v: string): number[] => {
    const list = v.split(',').map((x) => (x.trim() === '' ? NaN : Number(x.trim())));
    if (!list.every((n) => Number.isFinite(n) && n >= 0)) throw new CodedError('input/params_out_of_range', `${flag} must list numbers >= 0 separated by commas, got ${JSON.stringify(v)}`, { field: flag });
    return list;
  };
}

/** A `--pack` that names a folder holding a pack.json: that folder's pack (by its manifest's name). */
function packFolderOf(pack: string): { dir: string; name: string } | null {
  const looksLikePath = pack.includes('/') || pack.includes(path.sep) || pack.startsWith('.');
  const dir = path.resolve(pack);
  const manifest = path.join(dir, 'pack.json');
  if (!fs.existsSync(manifest)) {
    if (looksLikePath) throw new CodedError('pack/not_found', `${pack} is not a model pack folder (no pack.json there)`);
    return null;
  }
  if (!looksLikePath && !fs.statSync(dir).isDirectory()) return null;
  let name: unknown;
  try {
    name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
  } catch (e) {
    throw new CodedError('pack/invalid', `${manifest} cannot be read: ${(e as Error).message}`);
  }
  if (typeof name !== 'string' || !name) throw new CodedError('pack/invalid', `${manifest} has no "name"`);
  return { dir, name };
}

function sampler(v: string | undefined): SamplerKind | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(s)) {
    throw new CodedError('input/params_out_of_range', `--sampler must be one of ${SAMPLERS.map((x) => x.toUpperCase()).join(', ')}, got ${v}`, { field: 'params.sampler' });
  }
  return s as SamplerKind;
}

const fmtSeconds = (s: number) => (!Number.isFinite(s) ? '?' : s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${s.toFixed(s < 10 ? 1 : 0)}s`);

/** Progress on stdout: a bar on a TTY, else a plain line at every 10% (and at 100%). */
function progressReporter(stream: NodeJS.WriteStream) {
  const started = Date.now();
  let bar: SingleBar | null = null;
  let lastDecile = -1;
  return {
    step(step: number, total: number, t: number, energies: { realism: number; faithfulness: number } | null) {
      const e = energies ? ` E_s ${energies.realism.toPrecision(4)} E_i ${energies.faithfulness.toPrecision(4)}` : '';
      if (stream.isTTY) {
        if (!bar) {
          bar = new SingleBar({ format: 'translating [{bar}] {percentage}% | step {value}/{total} | ETA {eta_formatted} | t {t}{energies}', hideCursor: true, stream, etaBuffer: 20 });
          bar.start(total, 0, { t: '-', energies: '' });
        }
        bar.update(step, { t: String(t), energies: e ? ` |${e}` : '' });
        return;
      }
      const decile = Math.floor((step * 10) / total);
      if (decile === lastDecile) return;
      lastDecile = decile;
      const elapsed = (Date.now() - started) / 1000;
      const eta = step > 0 ? (elapsed / step) * (total - step) : NaN;
      stream.write(`progress ${Math.round((step * 100) / total)}% step ${step}/${total} t ${t} eta ${fmtSeconds(eta)}${e}\n`);
    },
    stop() {
      (bar as SingleBar | null)?.stop();
      bar = null;
    },
  };
}

export async function translate(imagePath: string, o: TranslateOptions, env: NodeJS.ProcessEnv = process.env): Promise<TranslateSummary> {
  const started = Date.now();
  const config = loadConfig(env);
  // the bytes first: a bad image fails before any model loads
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(imagePath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CodedError('input/image_missing', `cannot read ${imagePath}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message}`);
  }
  const given: Partial<RunParams> = {
    sampler: sampler(o.sampler),
    steps: o.steps,
    M: o.M,
    seed: o.seed,
    lambdaS: o.lambdaS,
    lambdaI: o.lambdaI,
    repeats: o.repeats,
    previewEvery: 0,
  };
  const folder = packFolderOf(o.pack);
  const modelsDir = folder ? path.dirname(folder.dir) : path.resolve(o.models ?? config.modelsDir);
  const packName = folder ? folder.name : o.pack;
  const outPath = path.resolve(o.out);
  const tmpPath = path.join(path.dirname(outPath), `.${path.basename(outPath)}.${process.pid}.tmp`);
  // engine messages (skipped packs, provider) as JSON lines on stderr, warnings and up by default
  const log = pino({ level: env.LOG_LEVEL ?? 'warn', base: { service: 'egsde' } }, pino.destination(2));
  const engine: Engine = await createEngine(
    { modelsDir, allowSharedFiles: config.allowSharedModelFiles, packsRoot: config.modelsRoot, providers: config.providers, maxBatch: config.maxBatch, intraOpThreads: config.threads, stepGraphCacheDir: config.stepGraphCacheDir, batching: config.batching, precision: config.precision, optimization: config.ortOptimization },
    log,
  );
  let progress: ReturnType<typeof progressReporter> | null = null;
  let runId: string | null = null;
  const onSignal = () => {
    if (runId) engine.cancel(runId);
  };
  try {
    // a pack folder: its own pack, even where another folder of the models dir has the same name
    const pack: PackInfo | undefined = engine.packs.find((p) => p.name === packName);
    if (!pack) {
      const names = engine.packs.map((p) => p.name);
      throw new CodedError('pack/not_found', `no model pack ${JSON.stringify(packName)} in ${modelsDir}; available: ${names.length ? names.join(', ') : '(none)'}`);
    }
    const params = resolveParams(pack, given);
    const { tensor } = await decodeSourceImage(bytes, pack.imageSize, { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels });
    const handle = await engine.start({ pack: pack.name, image: tensor, params });
    runId = handle.runId;
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    progress = progressReporter(process.stdout);
    let result: RunResult | null = null;
    for await (const ev of handle.events) {
      if (ev.type === 'step') progress.step(ev.step, ev.totalSteps, ev.t, ev.energies);
      else if (ev.type === 'result') result = ev;
      else if (ev.type === 'error') throw new CodedError(ev.code, ev.message);
      else throw new CodedError('engine/cancelled', 'the run was cancelled (signal)');
    }
    progress.stop();
    if (!result) throw new CodedError('engine/model_error', 'the engine ended the run without a result');
    // faithfulness against the cropped source, both in [0, 1]
    const source = tensor.map((v) => (v + 1) / 2);
    const metrics = { l2: l2Distance(source, result.image), psnr: psnr(source, result.image), ssim: ssim(source, result.image, result.size) };
    const png = await encodePng(result.image, result.size);
    fs.mkdirSync(path.dirname(outPath), { recursive: true });
    fs.writeFileSync(tmpPath, png);
    fs.renameSync(tmpPath, outPath);
    return { out: outPath, pack: pack.name, size: result.size, seed: handle.params.seed, steps: result.timings.steps, seconds: (Date.now() - started) / 1000, metrics };
  } finally {
    progress?.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    fs.rmSync(tmpPath, { force: true });
    await engine.close();
  }
}

/** The final line: output path, seed, steps, seconds, faithfulness metrics. */
export function summaryLine(s: TranslateSummary): string {
  const m = s.metrics;
  return `wrote ${s.out} (${s.size}x${s.size}, pack ${s.pack}) seed ${s.seed} steps ${s.steps} in ${s.seconds.toFixed(1)}s | l2 ${m.l2.toFixed(3)} psnr ${m.psnr.toFixed(2)} dB ssim ${m.ssim.toFixed(4)}`;
}
