/**
 * `npm run eval`: translates held-out source images of the demo domains with EGSDE, SDEdit and
 * ILVR through the engine (same M, same seeds), scores realism (FID on an independent
 * classifier's features against held-out target images, target accuracy) and faithfulness (L2,
 * PSNR, SSIM to the source), sweeps lambda_s, lambda_i and M, compares 500 steps with 100
 * respaced steps, and writes a PNG grid (source | SDEdit | ILVR | EGSDE).
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel, EngineCore, GraphSession, Rng } from '../engine/toolkit';
import type { PackInfo, RunEvent, RunParams } from '../engine';
import { isCodedError, resolveParams } from '../engine';
import { rgbToPng } from '../images';
import { DEMO_SIZE, EVAL_FEATURES } from './demo-models';
import { frechetDistance, l2Distance, psnr, ssim } from '../metrics/image-metrics';
import { bootstrapInterval, Interval, meanOf } from '../metrics/bootstrap';
import { FrontierCurve, frontierPng } from './frontier-plot';
import { renderShape, sampleShapeParams, ShapeDomain } from './shapes';

const IMG = 3 * DEMO_SIZE * DEMO_SIZE;
/** held-out seed streams, disjoint from training's (seeds 2022..2035 drive training) */
export const SOURCE_SEED = 9_000_001;
const REFERENCE_SEED = 8_000_001;

export interface EvalOptions {
  /** folder holding the demo pack. Default models/demo */
  packDir?: string;
  /** source images translated per configuration. Default 64 */
  n?: number;
  /** held-out target images for the FID reference. Default 512 */
  references?: number;
  /** fewer sweep points. Default false */
  quick?: boolean;
  /** run the sweeps (lambda_s, lambda_i, M, steps). Default true */
  sweeps?: boolean;
  /** only the quality-versus-steps table (and the steps it recommends). Default false */
  stepsOnly?: boolean;
  /** only the realism-faithfulness frontier (tables with bootstrap intervals and frontier.png). Default false */
  frontierOnly?: boolean;
  /** steps per run for the methods table (default: the pack's) */
  steps?: number;
  /** where the grid and results go. Default <packDir>/eval */
  outDir?: string;
  log?(m: string): void;
}

export interface MethodScores {
  label: string;
  /** runs that failed (e.g. diverged: engine/numerical_error); metrics cover the others */
  failed: number;
  fid: number;
  accuracy: number;
  l2: number;
  psnr: number;
  ssim: number;
  seconds: number;
  /** 95% percentile-bootstrap intervals over the images (FID with the reference set fixed) */
  ci?: { fid: Interval; accuracy: Interval; l2: Interval; psnr: Interval; ssim: Interval };
}

export function images(domain: ShapeDomain, n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * IMG);
  for (let i = 0; i < n; i++) renderShape(domain, sampleShapeParams(rng, DEMO_SIZE), DEMO_SIZE, out.subarray(i * IMG, (i + 1) * IMG));
  return out;
}

export class Judge {
  private reference: Float32Array = new Float32Array(0);
  /** add bootstrap intervals to every score */
  intervals = false;

  private constructor(private readonly session: GraphSession, readonly nRef: number) {}

  static async create(packDir: string, nRef: number): Promise<Judge> {
    const s = await GraphSession.create(decodeModel(fs.readFileSync(path.join(packDir, 'eval-classifier.onnx')), 'eval-classifier.onnx'));
    const j = new Judge(s, nRef);
    j.reference = (await j.classify(images('square', nRef, REFERENCE_SEED))).features;
    return j;
  }

  /** images in [-1, 1] -> features [n, 64] and P(square) */
  async classify(x: Float32Array): Promise<{ features: Float32Array; pSquare: Float32Array }> {
    const n = x.length / IMG;
    const out = await this.session.run({ x: { data: x, dims: [n, 3, DEMO_SIZE, DEMO_SIZE] } });
    const logits = out.logits.data as Float32Array;
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) p[i] = 1 / (1 + Math.exp(logits[2 * i] - logits[2 * i + 1]));
    return { features: out.features.data as Float32Array, pSquare: p };
  }

  async score(label: string, sources01All: Float32Array, outputs01All: Float32Array, seconds: number, ok?: boolean[]): Promise<MethodScores> {
    const keep = (a: Float32Array) => (ok ? Float32Array.from(ok.flatMap((good, i) => (good ? Array.from(a.subarray(i * IMG, (i + 1) * IMG)) : []))) : a);
    const sources01 = keep(sources01All);
    const outputs01 = keep(outputs01All);
    const n = outputs01.length / IMG;
    const failed = ok ? ok.filter((g) => !g).length : 0;
    if (n < 2) return { label, failed, fid: NaN, accuracy: NaN, l2: NaN, psnr: NaN, ssim: NaN, seconds };
    const { features, pSquare } = await this.classify(outputs01.map((v) => 2 * v - 1));
    const l2s = new Float64Array(n);
    const pss = new Float64Array(n);
    const sss = new Float64Array(n);
    const hits = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = sources01.subarray(i * IMG, (i + 1) * IMG);
      const b = outputs01.subarray(i * IMG, (i + 1) * IMG);
      l2s[i] = l2Distance(a, b);
      pss[i] = Math.min(psnr(a, b), 100);
      sss[i] = ssim(a, b, DEMO_SIZE);
      hits[i] = pSquare[i] > 0.5 ? 1 : 0;
    }
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const fidOf = (idx: Int32Array) => {
      const f = new Float32Array(idx.length * EVAL_FEATURES);
      idx.forEach((j, k) => f.set(features.subarray(j * EVAL_FEATURES, (j + 1) * EVAL_FEATURES), k * EVAL_FEATURES));
      return frechetDistance(f, idx.length, this.reference, this.nRef, EVAL_FEATURES);
    };
    const result: MethodScores = {
      label,
      failed,
      fid: fidOf(all),
      accuracy: meanOf(hits)(all),
      l2: meanOf(l2s)(all),
      psnr: meanOf(pss)(all),
      ssim: meanOf(sss)(all),
      seconds,
    };
    if (this.intervals) {
      result.ci = {
        fid: bootstrapInterval(n, fidOf),
        accuracy: bootstrapInterval(n, meanOf(hits)),
        l2: bootstrapInterval(n, meanOf(l2s)),
        psnr: bootstrapInterval(n, meanOf(pss)),
        ssim: bootstrapInterval(n, meanOf(sss)),
      };
    }
    return result;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Translate every source image through the engine (batched), seeds 1000 + i. */
export async function translate(core: EngineCore, sources: Float32Array, params: Partial<RunParams>, pack = 'demo'): Promise<{ out: Float32Array; ok: boolean[]; seconds: number }> {
  const n = sources.length / IMG;
  const out = new Float32Array(n * IMG);
  const ok = new Array<boolean>(n).fill(true);
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<void>((resolve) => {
        try {
          core.start({ pack, image: sources.slice(i * IMG, (i + 1) * IMG), params: { ...params, seed: 1000 + i, previewEvery: 0 } }, (e: RunEvent) => {
            if (e.type === 'result') {
              out.set(e.image, i * IMG);
              resolve();
            } else if (e.type === 'error' || e.type === 'cancelled') {
              ok[i] = false;
              resolve();
            }
          });
        } catch {
          // refused (e.g. a lambda_i the faithfulness step cannot take stably): counted as failed
          ok[i] = false;
          resolve();
        }
      }),
    ),
  );
  return { out, ok, seconds: (Date.now() - t0) / 1000 };
}

/** params.lambdaI, or 95% of the largest stable value when the engine would refuse it (params.ts). */
function stableLambdaI(pack: PackInfo, params: Partial<RunParams>): number {
  try {
    return resolveParams(pack, params).lambdaI;
  } catch (e) {
    const max = isCodedError(e) ? (e.details as { max?: unknown }).max : undefined;
    if (typeof max !== 'number') throw e;
    return Math.floor(max * 9.5) / 10;
  }
}

/** Start times of the frontier, its steps per run at most, and the M of its lambda_s sweep. */
export const FRONTIER_MS = [40, 60, 90, 120, 200, 400];
export const FRONTIER_STEPS = 100;
export const FRONTIER_LAMBDA_M = 120;

/** The respaced step counts of the quality-versus-steps table: 500, 200, 100, 50, 25, at most M. */
export function stepCounts(M: number): number[] {
  return [...new Set([500, 200, 100, 50, 25].map((k) => Math.min(k, M)))].sort((a, b) => b - a);
}

/** How far a respaced run may fall behind every step and still count as as good. */
export const STEPS_TOLERANCE = { fidRelative: 0.1, fidAbsolute: 0.5, accuracy: 0.03, l2Relative: 0.05 };

/**
 * The fewest steps whose scores stay within STEPS_TOLERANCE of the most steps' (rows in the order
 * of `counts`, most steps first): FID at most 10% (or 0.5) worse, target accuracy at most 3
 * points lower, L2 at most 5% higher, and nothing failed. The fewest steps passing wins even if
 * a count in between did not (the scores are noisy at small N); with none passing, the most steps.
 * Rows not `eligible` (they ran with another lambda_i than the pack's) are never chosen.
 */
export function chooseSteps(counts: number[], rows: MethodScores[], eligible: boolean[] = counts.map(() => true)): number {
  const ref = rows[0];
  const t = STEPS_TOLERANCE;
  let chosen = counts[0];
  rows.forEach((r, i) => {
    const ok =
      eligible[i] &&
      r.failed === 0 &&
      r.fid <= ref.fid + Math.max(t.fidAbsolute, t.fidRelative * ref.fid) &&
      r.accuracy >= ref.accuracy - t.accuracy &&
      r.l2 <= ref.l2 * (1 + t.l2Relative);
    if (ok) chosen = Math.min(chosen, counts[i]);
  });
  return chosen;
}

export function formatTable(rows: MethodScores[], title: string): string {
  const header = ['run', 'FID (lower: more real)', 'target acc', 'L2 (lower: more faithful)', 'PSNR', 'SSIM', 'failed/refused', 'seconds'];
  const f = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const withCi = (v: number, d: number, ci: Interval | undefined, scale = 1, unit = '') =>
    Number.isFinite(v) ? `${(v * scale).toFixed(d)}${unit}${ci ? ` [${(ci[0] * scale).toFixed(d)}, ${(ci[1] * scale).toFixed(d)}]` : ''}` : '-';
  const body = rows.map((r) => [r.label, withCi(r.fid, 2, r.ci?.fid), withCi(r.accuracy, 1, r.ci?.accuracy, 100, '%'), withCi(r.l2, 3, r.ci?.l2), withCi(r.psnr, 2, r.ci?.psnr), withCi(r.ssim, 3, r.ci?.ssim), String(r.failed), r.seconds.toFixed(0)]);
  const w = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [title, line(header), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...body.map(line), ''].join('\n');
}

/** A PNG grid: one row per image, columns source | SDEdit | ILVR | EGSDE (all in [0, 1]). */
async function grid(columns: Float32Array[], rows: number): Promise<Buffer> {
  const S = DEMO_SIZE;
  const pad = 2;
  const W = columns.length * (S + pad) + pad;
  const H = rows * (S + pad) + pad;
  const rgb = new Uint8Array(W * H * 3).fill(255);
  columns.forEach((col, c) => {
    for (let r = 0; r < rows; r++) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          for (let ch = 0; ch < 3; ch++) {
            const v = col[r * IMG + ch * S * S + y * S + x];
            rgb[((pad + r * (S + pad) + y) * W + pad + c * (S + pad) + x) * 3 + ch] = Math.round(255 * Math.min(1, Math.max(0, v)));
          }
        }
      }
    }
  });
  return rgbToPng(rgb, W, H);
}

export async function evaluate(opts: EvalOptions = {}): Promise<{ tables: string[]; results: Record<string, MethodScores[]> }> {
  const packDir = path.resolve(opts.packDir ?? 'models/demo');
  const n = opts.n ?? 64;
  const outDir = opts.outDir ?? path.join(packDir, 'eval');
  const log = opts.log ?? ((m: string) => console.log(m));
  // exactly the pack in packDir, whatever else its parent folder holds
  const core = await EngineCore.create({ modelsDir: path.dirname(packDir), packDirs: [packDir], maxBatch: 64 });
  const pack = core.packs()[0];
  const d = pack.defaults;
  const judge = await Judge.create(packDir, opts.references ?? 512);
  const sources = images('disc', n, SOURCE_SEED);
  const sources01 = sources.map((v) => (v + 1) / 2);
  const tables: string[] = [];
  const results: Record<string, MethodScores[]> = {};
  const run = async (label: string, params: Partial<RunParams>) => {
    const { out, ok, seconds } = await translate(core, sources, params, pack.name);
    const s = await judge.score(label, sources01, out, seconds, ok);
    log(`  ${label}: failed ${s.failed}, FID ${s.fid.toFixed(2)}, acc ${(100 * s.accuracy).toFixed(1)}%, L2 ${s.l2.toFixed(3)}, PSNR ${s.psnr.toFixed(2)}, SSIM ${s.ssim.toFixed(3)} (${seconds.toFixed(0)} s)`);
    return { s, out };
  };
  const section = (key: string, title: string, rows: MethodScores[]) => {
    results[key] = rows;
    const t = formatTable(rows, title);
    tables.push(t);
    log(`\n${t}`);
  };

  // calibration: real targets against the reference set, and the untranslated sources
  const realTargets = images('square', n, REFERENCE_SEED + 77);
  const floor = await judge.score('real squares (floor)', realTargets.map((v) => (v + 1) / 2), realTargets.map((v) => (v + 1) / 2), 0);
  floor.l2 = NaN;
  floor.seconds = 0;
  floor.psnr = NaN;
  floor.ssim = NaN;
  const ceiling = await judge.score('sources, untranslated', sources01, sources01, 0);

  const base = { M: d.M, steps: opts.steps ?? d.steps, lambdaS: d.lambdaS, lambdaI: d.lambdaI };
  /** Quality against respaced steps; returns the fewest steps as good as every step (chooseSteps). */
  const stepsTable = async (): Promise<number> => {
    const counts = stepCounts(d.M);
    // fewer steps enlarge beta_k: where the default lambda_i would diverge, take the largest stable one
    const lambdas = counts.map((steps) => stableLambdaI(pack, { ...base, sampler: 'egsde', steps }));
    const rows: MethodScores[] = [];
    for (const [k, steps] of counts.entries()) {
      const lambdaI = lambdas[k];
      const label = `${steps} steps${steps === d.M ? ' (every step)' : ''}${lambdaI !== base.lambdaI ? ` (lambda_i ${lambdaI}: ${base.lambdaI} diverges)` : ''}`;
      rows.push((await run(label, { ...base, sampler: 'egsde', steps, lambdaI })).s);
    }
    section('steps', `EGSDE: quality against respaced steps (M = ${d.M}, lambda_s = ${d.lambdaS}, lambda_i = ${d.lambdaI}, N = ${n})`, rows);
    // a default must be a valid run: rows that needed a smaller lambda_i are shown, not chosen
    const chosen = chooseSteps(counts, rows, lambdas.map((l) => l === base.lambdaI));
    log(`recommended steps: ${chosen} (the fewest that run with the pack's lambda_i and whose FID, target accuracy and L2 stay within the tolerance of every step's; the pack's default is ${d.steps})`);
    return chosen;
  };
  /**
   * The realism-faithfulness frontier: SDEdit, ILVR and EGSDE over start times M (at most 100
   * respaced steps each), and EGSDE over lambda_s at one M; every score with 95% bootstrap
   * intervals over the images; frontier.png plots FID against L2, one curve per method.
   */
  const frontier = async () => {
    judge.intervals = true;
    const Ms = FRONTIER_MS.filter((m) => m <= pack.numTimesteps);
    const paramsAt = (sampler: 'sdedit' | 'ilvr' | 'egsde', M: number, lambdaS = base.lambdaS): Partial<RunParams> => {
      const p: Partial<RunParams> = { ...base, sampler, M, steps: Math.min(FRONTIER_STEPS, M), lambdaS };
      return sampler === 'egsde' ? { ...p, lambdaI: stableLambdaI(pack, p) } : p;
    };
    const curves: FrontierCurve[] = [];
    for (const [sampler, name, color] of [['sdedit', 'SDEdit', '#d62728'], ['ilvr', 'ILVR', '#1f77b4'], ['egsde', 'EGSDE', '#2ca02c']] as const) {
      const rows: MethodScores[] = [];
      for (const M of Ms) {
        const p = paramsAt(sampler, M);
        rows.push((await run(`${name} M = ${M}${sampler === 'egsde' && p.lambdaI !== base.lambdaI ? ` (lambda_i ${p.lambdaI})` : ''}`, p)).s);
      }
      section(`frontier_${sampler}`, `${name} over M (at most ${FRONTIER_STEPS} respaced steps, N = ${n}, 95% bootstrap intervals)`, rows);
      curves.push({ name, color, points: rows.map((r, i) => ({ label: `M ${Ms[i]}`, l2: r.l2, fid: r.fid, l2Ci: r.ci?.l2, fidCi: r.ci?.fid })) });
    }
    const Mls = FRONTIER_LAMBDA_M;
    const rowsL: MethodScores[] = [];
    const lambdas = [0, base.lambdaS / 2, base.lambdaS, 2 * base.lambdaS, 4 * base.lambdaS];
    for (const ls of lambdas) rowsL.push((await run(`EGSDE M = ${Mls}, lambda_s = ${ls}`, paramsAt('egsde', Mls, ls))).s);
    section('frontier_lambdaS', `EGSDE over lambda_s at M = ${Mls} (N = ${n}, 95% bootstrap intervals)`, rowsL);
    curves.push({ name: `EGSDE, lambda_s at M ${Mls}`, color: '#9467bd', points: rowsL.map((r, i) => ({ label: `ls ${lambdas[i]}`, l2: r.l2, fid: r.fid, l2Ci: r.ci?.l2, fidCi: r.ci?.fid })) });
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'frontier.png'), await frontierPng(curves, `Realism against faithfulness (${pack.name}, N = ${n})`, floor.fid));
    judge.intervals = false;
  };
  if (opts.frontierOnly) {
    await frontier();
    fs.mkdirSync(outDir, { recursive: true });
    const keys = Object.keys(results).filter((k) => k.startsWith('frontier'));
    fs.writeFileSync(path.join(outDir, 'frontier.json'), `${JSON.stringify({ n, defaults: d, floorFid: floor.fid, results: Object.fromEntries(keys.map((k) => [k, results[k]])) }, null, 2)}\n`);
    fs.writeFileSync(path.join(outDir, 'frontier.md'), `${tables.join('\n')}\n`);
    await judge.release();
    await core.close();
    return { tables, results };
  }
  if (opts.stepsOnly) {
    const recommendedSteps = await stepsTable();
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'steps.json'), `${JSON.stringify({ n, defaults: d, recommendedSteps, rows: results.steps }, null, 2)}\n`);
    await judge.release();
    await core.close();
    return { tables, results };
  }
  log(`methods at M = ${d.M}, ${d.steps} steps, lambda_s = ${d.lambdaS}, lambda_i = ${d.lambdaI}, N = ${n}`);
  const sd = await run('SDEdit', { ...base, sampler: 'sdedit' });
  const il = await run('ILVR', { ...base, sampler: 'ilvr' });
  const eg = await run('EGSDE', { ...base, sampler: 'egsde' });
  section('methods', `Methods (M = ${d.M}, ${base.steps} respaced steps, N = ${n}, same seeds)`, [floor, ceiling, sd.s, il.s, eg.s]);
  fs.mkdirSync(outDir, { recursive: true });
  const rowsInGrid = Math.min(8, n);
  fs.writeFileSync(path.join(outDir, 'grid.png'), await grid([sources01, sd.out, il.out, eg.out], rowsInGrid));

  if (opts.sweeps === false) {
    fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify({ n, defaults: d, results }, null, 2)}\n`);
    await judge.release();
    await core.close();
    return { tables, results };
  }
  const quick = opts.quick ?? false;
  const lambdaS = quick ? [0, d.lambdaS, 4 * d.lambdaS] : [0, d.lambdaS / 4, d.lambdaS, 2 * d.lambdaS, 4 * d.lambdaS];
  const lambdaI = quick ? [0, d.lambdaI, 1.5 * d.lambdaI] : [0, d.lambdaI / 4, d.lambdaI / 2, d.lambdaI, 1.5 * d.lambdaI, 2 * d.lambdaI];
  const Ms = quick ? [Math.round(d.M * 0.6), d.M] : [Math.round(d.M * 0.6), Math.round(d.M * 0.8), d.M, Math.round(d.M * 1.2)].filter((m) => m <= pack.numTimesteps);
  const sweep = async (key: string, title: string, points: { label: string; params: Partial<RunParams> }[]) => {
    const rows: MethodScores[] = [];
    for (const p of points) rows.push((await run(p.label, { ...base, sampler: 'egsde', ...p.params })).s);
    section(key, title, rows);
  };
  await sweep('lambdaS', `EGSDE: realism weight lambda_s (lambda_i = ${d.lambdaI}, M = ${d.M})`, lambdaS.map((v) => ({ label: `lambda_s = ${v}`, params: { lambdaS: v } })));
  await sweep('lambdaI', `EGSDE: faithfulness weight lambda_i (lambda_s = ${d.lambdaS}, M = ${d.M})`, lambdaI.map((v) => ({ label: `lambda_i = ${v}`, params: { lambdaI: v } })));
  await sweep('M', `EGSDE: start time M (lambda_s = ${d.lambdaS}, lambda_i = ${d.lambdaI})`, Ms.map((m) => ({ label: `M = ${m}`, params: { M: m, steps: Math.min(d.steps, m) } })));
  const recommendedSteps = await stepsTable();
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify({ n, defaults: d, recommendedSteps, results }, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'results.md'), `${tables.join('\n')}\n`);
  await judge.release();
  await core.close();
  return { tables, results };
}
