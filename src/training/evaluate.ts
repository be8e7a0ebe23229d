/**
 * `npm run eval` / `egsde eval`: translates held-out source images with EGSDE, SDEdit and ILVR
 * through the engine (same M, same seeds), scores realism (FID on the pack's independent
 * evaluation classifier's features against held-out target images, target accuracy) and
 * faithfulness (L2, PSNR, SSIM to the source), sweeps lambda_s, lambda_i and M, compares
 * respaced steps, draws the realism-faithfulness frontier, and writes a PNG grid
 * (source | SDEdit | ILVR | EGSDE). The images: a pack's held-out split (written by
 * `egsde train`, heldout/) or, for the demo, fresh draws of its procedural domains.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel, EngineCore, GraphSession, Rng } from '../engine/toolkit';
import type { PackInfo, RunEvent, RunParams } from '../engine';
import { isCodedError, resolveParams } from '../engine';
import { pngToTensor, rgbToPng } from '../images';
import { CodedError } from '../errors';
import { HELDOUT_DIR, HELDOUT_INDEX } from './train-pack';
import { DEMO_SIZE, EVAL_FEATURES } from './pack-models';
import { frechetDistance, l2Distance, psnr, ssim } from '../metrics/image-metrics';
import { bootstrapInterval, Interval, meanOf } from '../metrics/bootstrap';
import { FrontierCurve, frontierPng } from './frontier-plot';
import { renderShape, sampleShapeParams, ShapeDomain } from './shapes';

/** held-out seed streams, disjoint from training's (seeds 2022..2035 drive training) */
export const SOURCE_SEED = 9_000_001;
const REFERENCE_SEED = 8_000_001;

export interface EvalOptions {
  /** the pack folder. Default models/demo */
  packDir?: string;
  /**
   * the images: the pack's held-out split (heldout/, written by egsde train) or fresh draws of the
   * demo's procedural domains (32 px disc to square packs only). Default: procedural for the
   * demo's domains, heldout otherwise
   */
  data?: EvalDataKind;
  /** the frontier's start times, steps per run at most, and its lambda_s sweep's values (default 0, 0.5, 1, 2 and 4 times the pack's) */
  frontier?: { Ms?: number[]; steps?: number; lambdaS?: number[] };
  /** source images translated per configuration. Default 64 */
  n?: number;
  /** procedural data: target images for the FID reference. Default 512 */
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
  /** start time of the methods table (default: the pack's) */
  M?: number;
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
  const img = 3 * DEMO_SIZE * DEMO_SIZE;
  const rng = new Rng(seed);
  const out = new Float32Array(n * img);
  for (let i = 0; i < n; i++) renderShape(domain, sampleShapeParams(rng, DEMO_SIZE), DEMO_SIZE, out.subarray(i * img, (i + 1) * img));
  return out;
}

export type EvalDataKind = 'heldout' | 'procedural';

/** What an evaluation translates and scores against; every tensor [n, 3, size, size] in [-1, 1]. */
export interface EvalData {
  kind: EvalDataKind;
  size: number;
  /** source images to translate */
  sources: Float32Array;
  /** target images: the FID reference set */
  references: Float32Array;
  /** other target images, scored against the reference: the metric's floor */
  realTargets: Float32Array;
  /** where the images came from, for the tables */
  description: string;
}

async function readPngs(dir: string, files: string[], size: number): Promise<Float32Array> {
  const img = 3 * size * size;
  const out = new Float32Array(files.length * img);
  for (const [i, f] of files.entries()) {
    const { tensor, width, height } = await pngToTensor(fs.readFileSync(path.join(dir, f)));
    if (width !== size || height !== size) throw new CodedError('train/mixed_sizes', `${path.join(dir, f)} is ${width}x${height}, not the pack's ${size}x${size}`, { file: path.join(dir, f) });
    out.set(tensor.map((v) => 2 * v - 1), i * img);
  }
  return out;
}

/**
 * The pack's held-out split: the first n held-out sources; the held-out targets split in two
 * halves, the FID reference and the floor's real targets.
 */
export async function heldoutData(packDir: string, size: number, n: number): Promise<EvalData> {
  const indexFile = path.join(packDir, HELDOUT_DIR, HELDOUT_INDEX);
  if (!fs.existsSync(indexFile)) throw new CodedError('train/invalid_option', `${packDir} has no held-out split (${HELDOUT_DIR}/${HELDOUT_INDEX}, written by egsde train); evaluate it with --data procedural if it is a disc-to-square pack`, { packDir });
  const index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as { source: { files: string[] }; target: { files: string[] } };
  const t = index.target.files;
  const half = Math.ceil(t.length / 2);
  return {
    kind: 'heldout',
    size,
    sources: await readPngs(path.join(packDir, HELDOUT_DIR, 'source'), index.source.files.slice(0, n), size),
    references: await readPngs(path.join(packDir, HELDOUT_DIR, 'target'), t.slice(0, half), size),
    realTargets: await readPngs(path.join(packDir, HELDOUT_DIR, 'target'), t.slice(half), size),
    description: `the pack's held-out split (${Math.min(n, index.source.files.length)} sources; ${half} + ${t.length - half} targets)`,
  };
}

/** Fresh draws of the demo's domains, from seed streams training never uses. */
export function proceduralData(n: number, references: number): EvalData {
  return {
    kind: 'procedural',
    size: DEMO_SIZE,
    sources: images('disc', n, SOURCE_SEED),
    references: images('square', references, REFERENCE_SEED),
    realTargets: images('square', n, REFERENCE_SEED + 77),
    description: `procedural draws (${n} discs, ${references} reference squares)`,
  };
}

export class Judge {
  private reference: Float32Array = new Float32Array(0);
  /** add bootstrap intervals to every score */
  intervals = false;

  private constructor(private readonly session: GraphSession, readonly size: number, readonly nRef: number) {}

  /** The pack's evaluation classifier, with the features of `references` (target images in [-1, 1]) as the FID reference. */
  static async create(packDir: string, references: Float32Array, size: number): Promise<Judge> {
    const s = await GraphSession.create(decodeModel(fs.readFileSync(path.join(packDir, 'eval-classifier.onnx')), 'eval-classifier.onnx'));
    const nRef = references.length / (3 * size * size);
    const j = new Judge(s, size, nRef);
    j.reference = (await j.classify(references)).features;
    return j;
  }

  /** images in [-1, 1] -> features [n, 64] and P(target) */
  async classify(x: Float32Array): Promise<{ features: Float32Array; pTarget: Float32Array }> {
    const n = x.length / (3 * this.size * this.size);
    const out = await this.session.run({ x: { data: x, dims: [n, 3, this.size, this.size] } });
    const logits = out.logits.data as Float32Array;
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) p[i] = 1 / (1 + Math.exp(logits[2 * i] - logits[2 * i + 1]));
    return { features: out.features.data as Float32Array, pTarget: p };
  }

  /** FID of the images `idx` (rows of `features`) against the reference set. */
  fid(features: Float32Array, idx: Int32Array | number[]): number {
    const f = new Float32Array(idx.length * EVAL_FEATURES);
    idx.forEach((j, k) => f.set(features.subarray(j * EVAL_FEATURES, (j + 1) * EVAL_FEATURES), k * EVAL_FEATURES));
    return frechetDistance(f, idx.length, this.reference, this.nRef, EVAL_FEATURES);
  }

  async score(label: string, sources01All: Float32Array, outputs01All: Float32Array, seconds: number, ok?: boolean[]): Promise<MethodScores> {
    const IMG = 3 * this.size * this.size;
    const keep = (a: Float32Array) => (ok ? Float32Array.from(ok.flatMap((good, i) => (good ? Array.from(a.subarray(i * IMG, (i + 1) * IMG)) : []))) : a);
    const sources01 = keep(sources01All);
    const outputs01 = keep(outputs01All);
    const n = outputs01.length / IMG;
    const failed = ok ? ok.filter((g) => !g).length : 0;
    if (n < 2) return { label, failed, fid: NaN, accuracy: NaN, l2: NaN, psnr: NaN, ssim: NaN, seconds };
    const { features, pTarget } = await this.classify(outputs01.map((v) => 2 * v - 1));
    const l2s = new Float64Array(n);
    const pss = new Float64Array(n);
    const sss = new Float64Array(n);
    const hits = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = sources01.subarray(i * IMG, (i + 1) * IMG);
      const b = outputs01.subarray(i * IMG, (i + 1) * IMG);
      l2s[i] = l2Distance(a, b);
      pss[i] = Math.min(psnr(a, b), 100);
      sss[i] = ssim(a, b, this.size);
      hits[i] = pTarget[i] > 0.5 ? 1 : 0;
    }
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const fidOf = (idx: Int32Array) => this.fid(features, idx);
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

  /**
   * FID(a) - FID(b) for two translations of the same source images (same seeds) over the images
   * both finished, with a 95% paired bootstrap interval: each resample draws image indices once
   * and scores both methods on them, so the shared variation of the sources cancels.
   */
  async pairedFidDifference(a01: Float32Array, okA: boolean[], b01: Float32Array, okB: boolean[]): Promise<{ n: number; difference: number; ci: Interval }> {
    const fa = (await this.classify(a01.map((v) => 2 * v - 1))).features;
    const fb = (await this.classify(b01.map((v) => 2 * v - 1))).features;
    const shared = okA.flatMap((ok, i) => (ok && okB[i] ? [i] : []));
    const diff = (idx: Int32Array | number[]) => {
      const rows = Array.from(idx, (k) => shared[k]);
      return this.fid(fa, rows) - this.fid(fb, rows);
    };
    return { n: shared.length, difference: diff(shared.map((_, k) => k)), ci: bootstrapInterval(shared.length, diff, { seed: 777 }) };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Translate every source image through the engine (batched), seeds 1000 + i. */
export async function translate(core: EngineCore, sources: Float32Array, params: Partial<RunParams>, pack = 'demo', size = DEMO_SIZE): Promise<{ out: Float32Array; ok: boolean[]; seconds: number }> {
  const IMG = 3 * size * size;
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
async function grid(columns: Float32Array[], rows: number, S: number): Promise<Buffer> {
  const IMG = 3 * S * S;
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

interface FrontierRun {
  M: number;
  scores: MethodScores;
  out: Float32Array;
  ok: boolean[];
}

/** How close SDEdit's L2 must be to EGSDE's for the two to count as equally faithful. */
export const MATCH_L2 = 0.02;

export interface Comparison {
  egsde: string;
  egsdeL2: number;
  egsdeFid: number;
  sdedit: string;
  sdeditL2: number;
  sdeditFid: number;
  /** 1 - FID(EGSDE) / FID(SDEdit) */
  fidReduction: number;
  /** FID(EGSDE) - FID(SDEdit), paired over the images, and its 95% interval */
  difference: number;
  ci: Interval;
  /** ILVR's FID at EGSDE's L2, interpolated on its curve (log FID, linear in L2); NaN outside it */
  ilvrFidAtL2: number;
  /** the two ILVR runs it lies between, and the paired difference to the nearer one */
  ilvrNearest: string;
  ilvrDifference: number;
  ilvrCi: Interval;
  /** ILVR at EGSDE's M (the paper's Table 1 comparison: same M, same steps), and the paired difference */
  ilvrSameM: string;
  ilvrSameMDifference: number;
  ilvrSameMCi: Interval;
  /** whether EGSDE's per-method FID interval lies wholly apart from SDEdit's, and from ILVR's at the same M */
  apart: { sdedit: boolean; ilvrSameM: boolean };
}

/** Two intervals that share no point. */
export function intervalsApart(a: Interval | undefined, b: Interval | undefined): boolean {
  return !!a && !!b && (a[1] < b[0] || b[1] < a[0]);
}

/** ILVR's FID at a given L2 on its curve (points sorted by L2), interpolating log FID; NaN outside. */
export function interpolateFid(points: { l2: number; fid: number }[], l2: number): number {
  const pts = points.filter((p) => Number.isFinite(p.l2) && p.fid > 0).sort((a, b) => a.l2 - b.l2);
  for (let i = 0; i + 1 < pts.length; i++) {
    const [a, b] = [pts[i], pts[i + 1]];
    if (l2 >= a.l2 && l2 <= b.l2) {
      const t = b.l2 === a.l2 ? 0 : (l2 - a.l2) / (b.l2 - a.l2);
      return Math.exp((1 - t) * Math.log(a.fid) + t * Math.log(b.fid));
    }
  }
  return NaN;
}

/** Every EGSDE run that has an SDEdit run within MATCH_L2 of its L2, compared pairwise, and with ILVR's curve. */
async function matchedComparisons(judge: Judge, egsde: FrontierRun[], sdedit: FrontierRun[], ilvr: FrontierRun[]): Promise<Comparison[]> {
  const out: Comparison[] = [];
  for (const e of egsde) {
    for (const s of sdedit) {
      if (!(Math.abs(e.scores.l2 - s.scores.l2) <= MATCH_L2 * s.scores.l2)) continue;
      const vsS = await judge.pairedFidDifference(e.out, e.ok, s.out, s.ok);
      const nearest = [...ilvr].sort((a, b) => Math.abs(a.scores.l2 - e.scores.l2) - Math.abs(b.scores.l2 - e.scores.l2))[0];
      const vsI = await judge.pairedFidDifference(e.out, e.ok, nearest.out, nearest.ok);
      const sameM = ilvr.find((r) => r.M === e.M);
      const vsM = sameM ? await judge.pairedFidDifference(e.out, e.ok, sameM.out, sameM.ok) : { difference: NaN, ci: [NaN, NaN] as Interval };
      out.push({
        egsde: e.scores.label,
        egsdeL2: e.scores.l2,
        egsdeFid: e.scores.fid,
        sdedit: s.scores.label,
        sdeditL2: s.scores.l2,
        sdeditFid: s.scores.fid,
        fidReduction: 1 - e.scores.fid / s.scores.fid,
        difference: vsS.difference,
        ci: vsS.ci,
        ilvrFidAtL2: interpolateFid(ilvr.map((r) => r.scores), e.scores.l2),
        ilvrNearest: `${nearest.scores.label} (L2 ${nearest.scores.l2.toFixed(3)}, FID ${nearest.scores.fid.toFixed(2)})`,
        ilvrDifference: vsI.difference,
        ilvrCi: vsI.ci,
        ilvrSameM: sameM ? `${sameM.scores.label} (L2 ${sameM.scores.l2.toFixed(3)}, FID ${sameM.scores.fid.toFixed(2)})` : '-',
        ilvrSameMDifference: vsM.difference,
        ilvrSameMCi: vsM.ci,
        apart: { sdedit: intervalsApart(e.scores.ci?.fid, s.scores.ci?.fid), ilvrSameM: intervalsApart(e.scores.ci?.fid, sameM?.scores.ci?.fid) },
      });
    }
  }
  return out;
}

export function formatComparisons(rows: Comparison[], title: string): string {
  if (rows.length === 0) return `${title}\n(no SDEdit run within ${100 * MATCH_L2}% of an EGSDE run's L2)\n`;
  const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const ci = (c: Interval) => `[${f(c[0])}, ${f(c[1])}]`;
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const header = ['EGSDE', 'L2', 'FID', 'SDEdit', 'L2', 'FID', 'FID lower by', 'FID(EGSDE) - FID(SDEdit)', 'ILVR FID at that L2', 'vs nearest ILVR run: difference', 'vs ILVR at the same M: difference', 'FID intervals apart: SDEdit, ILVR same M'];
  const body = rows.map((r) => [r.egsde, f(r.egsdeL2, 3), f(r.egsdeFid), r.sdedit, f(r.sdeditL2, 3), f(r.sdeditFid), `${f(100 * r.fidReduction, 0)}%`, `${f(r.difference)} ${ci(r.ci)}`, f(r.ilvrFidAtL2), `${r.ilvrNearest}: ${f(r.ilvrDifference)} ${ci(r.ilvrCi)}`, `${r.ilvrSameM}: ${f(r.ilvrSameMDifference)} ${ci(r.ilvrSameMCi)}`, `${yes(r.apart.sdedit)}, ${yes(r.apart.ilvrSameM)}`]);
  const w = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [title, line(header), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...body.map(line), ''].join('\n');
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
  const size = pack.imageSize;
  if (opts.data !== undefined && opts.data !== 'heldout' && opts.data !== 'procedural') {
    await core.close();
    throw new CodedError('train/invalid_option', `--data must be heldout or procedural, got ${JSON.stringify(opts.data)}`, { option: '--data', value: opts.data });
  }
  const demoDomains = size === DEMO_SIZE && pack.sourceDomains.length === 1 && pack.sourceDomains[0] === 'disc' && pack.targetDomain === 'square';
  // the demo's domains can be drawn afresh (more images than any split holds); other packs have their split
  const kind = opts.data ?? (demoDomains ? 'procedural' : 'heldout');
  if (kind === 'procedural' && !demoDomains) {
    await core.close();
    throw new CodedError('train/invalid_option', `procedural data are the demo's 32 px discs and squares; ${pack.name} translates ${pack.sourceDomains.join(', ')} to ${pack.targetDomain} at ${size} px: evaluate it on its held-out split`, { pack: pack.name });
  }
  const data = kind === 'heldout' ? await heldoutData(packDir, size, n) : proceduralData(n, opts.references ?? 512);
  const judge = await Judge.create(packDir, data.references, size);
  const sources = data.sources;
  const nSources = sources.length / (3 * size * size);
  const sources01 = sources.map((v) => (v + 1) / 2);
  log(`${pack.name}: ${data.description}`);
  if (judge.nRef <= EVAL_FEATURES) log(`warning: ${judge.nRef} reference images for ${EVAL_FEATURES}-d FID features: the FIDs are unstable (hold out more target images: egsde train --holdout)`);
  const tables: string[] = [];
  const results: Record<string, MethodScores[]> = {};
  // one translation per distinct configuration (the defaults recur in the methods table, every sweep and the steps table; the seeds are fixed)
  const translations = new Map<string, Promise<Awaited<ReturnType<typeof translate>>>>();
  const run = async (label: string, params: Partial<RunParams>) => {
    const key = JSON.stringify(Object.entries(params).sort(([a], [b]) => a.localeCompare(b)));
    if (!translations.has(key)) translations.set(key, translate(core, sources, params, pack.name, size));
    const { out, ok, seconds } = await translations.get(key)!;
    const s = await judge.score(label, sources01, out, seconds, ok);
    log(`  ${label}: failed ${s.failed}, FID ${s.fid.toFixed(2)}, acc ${(100 * s.accuracy).toFixed(1)}%, L2 ${s.l2.toFixed(3)}, PSNR ${s.psnr.toFixed(2)}, SSIM ${s.ssim.toFixed(3)} (${seconds.toFixed(0)} s)`);
    return { s, out, ok };
  };
  const section = (key: string, title: string, rows: MethodScores[]) => {
    results[key] = rows;
    const t = formatTable(rows, title);
    tables.push(t);
    log(`\n${t}`);
  };

  // calibration: real targets against the reference set, and the untranslated sources
  const realTargets01 = data.realTargets.map((v) => (v + 1) / 2);
  const floor = await judge.score('real targets (floor)', realTargets01, realTargets01, 0);
  floor.l2 = NaN;
  floor.seconds = 0;
  floor.psnr = NaN;
  floor.ssim = NaN;
  const ceiling = await judge.score('sources, untranslated', sources01, sources01, 0);

  const M = opts.M ?? d.M;
  const base = { M, steps: Math.min(opts.steps ?? d.steps, M), lambdaS: d.lambdaS, lambdaI: d.lambdaI };
  /** Quality against respaced steps; returns the fewest steps as good as every step (chooseSteps). */
  const stepsTable = async (): Promise<number> => {
    const counts = stepCounts(base.M);
    // fewer steps enlarge beta_k: where the default lambda_i would diverge, take the largest stable one
    const lambdas = counts.map((steps) => stableLambdaI(pack, { ...base, sampler: 'egsde', steps }));
    const rows: MethodScores[] = [];
    for (const [k, steps] of counts.entries()) {
      const lambdaI = lambdas[k];
      const label = `${steps} steps${steps === base.M ? ' (every step)' : ''}${lambdaI !== base.lambdaI ? ` (lambda_i ${lambdaI}: ${base.lambdaI} diverges)` : ''}`;
      rows.push((await run(label, { ...base, sampler: 'egsde', steps, lambdaI })).s);
    }
    section('steps', `EGSDE: quality against respaced steps (M = ${base.M}, lambda_s = ${d.lambdaS}, lambda_i = ${d.lambdaI}, N = ${nSources})`, rows);
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
    const Ms = (opts.frontier?.Ms ?? FRONTIER_MS).filter((m) => m <= pack.numTimesteps);
    const maxSteps = opts.frontier?.steps ?? FRONTIER_STEPS;
    const paramsAt = (sampler: 'sdedit' | 'ilvr' | 'egsde', M: number, lambdaS = base.lambdaS): Partial<RunParams> => {
      const p: Partial<RunParams> = { ...base, sampler, M, steps: Math.min(maxSteps, M), lambdaS };
      return sampler === 'egsde' ? { ...p, lambdaI: stableLambdaI(pack, p) } : p;
    };
    const curves: FrontierCurve[] = [];
    const outputs: Record<'sdedit' | 'ilvr' | 'egsde' | 'lambdaS', FrontierRun[]> = { sdedit: [], ilvr: [], egsde: [], lambdaS: [] };
    for (const [sampler, name, color] of [['sdedit', 'SDEdit', '#d62728'], ['ilvr', 'ILVR', '#1f77b4'], ['egsde', 'EGSDE', '#2ca02c']] as const) {
      const rows: MethodScores[] = [];
      for (const M of Ms) {
        const p = paramsAt(sampler, M);
        const r = await run(`${name} M = ${M}${sampler === 'egsde' && p.lambdaI !== base.lambdaI ? ` (lambda_i ${p.lambdaI})` : ''}`, p);
        rows.push(r.s);
        outputs[sampler].push({ M, scores: r.s, out: r.out, ok: r.ok });
      }
      section(`frontier_${sampler}`, `${name} over M (at most ${maxSteps} respaced steps, N = ${nSources}, 95% bootstrap intervals)`, rows);
      curves.push({ name, color, points: rows.map((r, i) => ({ label: `M ${Ms[i]}`, l2: r.l2, fid: r.fid, l2Ci: r.ci?.l2, fidCi: r.ci?.fid })) });
    }
    const Mls = Ms.includes(FRONTIER_LAMBDA_M) ? FRONTIER_LAMBDA_M : Ms[Math.floor(Ms.length / 2)];
    const rowsL: MethodScores[] = [];
    const lambdas = opts.frontier?.lambdaS ?? [0, 0.5, 1, 2, 4].map((k) => k * base.lambdaS);
    for (const ls of lambdas) {
      const r = await run(`EGSDE M = ${Mls}, lambda_s = ${ls}`, paramsAt('egsde', Mls, ls));
      rowsL.push(r.s);
      outputs.lambdaS.push({ M: Mls, scores: r.s, out: r.out, ok: r.ok });
    }
    section('frontier_lambdaS', `EGSDE over lambda_s at M = ${Mls} (N = ${nSources}, 95% bootstrap intervals)`, rowsL);
    curves.push({ name: `EGSDE, lambda_s at M ${Mls}`, color: '#9467bd', points: rowsL.map((r, i) => ({ label: `ls ${lambdas[i]}`, l2: r.l2, fid: r.fid, l2Ci: r.ci?.l2, fidCi: r.ci?.fid })) });
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'frontier.png'), await frontierPng(curves, `Realism against faithfulness (${pack.name}, N = ${nSources})`, floor.fid));
    judge.intervals = false;
    comparisons = await matchedComparisons(judge, [...outputs.egsde, ...outputs.lambdaS], outputs.sdedit, outputs.ilvr);
    const t = formatComparisons(comparisons, `EGSDE against SDEdit at equal faithfulness (SDEdit's L2 within ${100 * MATCH_L2}%), and against ILVR's curve at that L2 (N = ${nSources}, paired 95% bootstrap intervals of the FID difference)`);
    tables.push(t);
    log(`\n${t}`);
  };
  let comparisons: Comparison[] = [];
  if (opts.frontierOnly) {
    await frontier();
    fs.mkdirSync(outDir, { recursive: true });
    const keys = Object.keys(results).filter((k) => k.startsWith('frontier'));
    fs.writeFileSync(path.join(outDir, 'frontier.json'), `${JSON.stringify({ n: nSources, data: data.description, defaults: d, floorFid: floor.fid, results: Object.fromEntries(keys.map((k) => [k, results[k]])), comparisons }, null, 2)}\n`);
    fs.writeFileSync(path.join(outDir, 'frontier.md'), `${tables.join('\n')}\n`);
    await judge.release();
    await core.close();
    return { tables, results };
  }
  if (opts.stepsOnly) {
    const recommendedSteps = await stepsTable();
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'steps.json'), `${JSON.stringify({ n: nSources, data: data.description, defaults: d, recommendedSteps, rows: results.steps }, null, 2)}\n`);
    await judge.release();
    await core.close();
    return { tables, results };
  }
  log(`methods at M = ${base.M}, ${d.steps} steps, lambda_s = ${d.lambdaS}, lambda_i = ${d.lambdaI}, N = ${nSources}`);
  const sd = await run('SDEdit', { ...base, sampler: 'sdedit' });
  const il = await run('ILVR', { ...base, sampler: 'ilvr' });
  const eg = await run('EGSDE', { ...base, sampler: 'egsde' });
  section('methods', `Methods (M = ${base.M}, ${base.steps} respaced steps, N = ${nSources}, same seeds)`, [floor, ceiling, sd.s, il.s, eg.s]);
  fs.mkdirSync(outDir, { recursive: true });
  const rowsInGrid = Math.min(8, nSources);
  fs.writeFileSync(path.join(outDir, 'grid.png'), await grid([sources01, sd.out, il.out, eg.out], rowsInGrid, size));

  if (opts.sweeps === false) {
    fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify({ n: nSources, data: data.description, defaults: d, results }, null, 2)}\n`);
    fs.writeFileSync(path.join(outDir, 'results.md'), `${tables.join('\n')}\n`);
    await judge.release();
    await core.close();
    return { tables, results };
  }
  const quick = opts.quick ?? false;
  const lambdaS = quick ? [0, d.lambdaS, 4 * d.lambdaS] : [0, d.lambdaS / 4, d.lambdaS, 2 * d.lambdaS, 4 * d.lambdaS];
  const lambdaI = quick ? [0, d.lambdaI, 1.5 * d.lambdaI] : [0, d.lambdaI / 4, d.lambdaI / 2, d.lambdaI, 1.5 * d.lambdaI, 2 * d.lambdaI];
  const Ms = quick ? [Math.round(base.M * 0.6), base.M] : [Math.round(base.M * 0.6), Math.round(base.M * 0.8), base.M, Math.round(base.M * 1.2)].filter((m) => m <= pack.numTimesteps);
  const sweep = async (key: string, title: string, points: { label: string; params: Partial<RunParams> }[]) => {
    const rows: MethodScores[] = [];
    for (const p of points) rows.push((await run(p.label, { ...base, sampler: 'egsde', ...p.params })).s);
    section(key, title, rows);
  };
  await sweep('lambdaS', `EGSDE: realism weight lambda_s (lambda_i = ${d.lambdaI}, M = ${base.M})`, lambdaS.map((v) => ({ label: `lambda_s = ${v}`, params: { lambdaS: v } })));
  await sweep('lambdaI', `EGSDE: faithfulness weight lambda_i (lambda_s = ${d.lambdaS}, M = ${base.M})`, lambdaI.map((v) => ({ label: `lambda_i = ${v}`, params: { lambdaI: v } })));
  await sweep('M', `EGSDE: start time M (lambda_s = ${d.lambdaS}, lambda_i = ${d.lambdaI})`, Ms.map((m) => ({ label: `M = ${m}`, params: { M: m, steps: Math.min(d.steps, m) } })));
  const recommendedSteps = await stepsTable();
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify({ n: nSources, data: data.description, defaults: d, recommendedSteps, results }, null, 2)}\n`);
  fs.writeFileSync(path.join(outDir, 'results.md'), `${tables.join('\n')}\n`);
  await judge.release();
  await core.close();
  return { tables, results };
}
