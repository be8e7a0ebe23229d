/**
 * The on-disk cache of built step graphs, one folder per pack version and configuration:
 *   <dir>/<pack>-<where>-<sampler>-<s1>-<s2>-<precision>-<hash>/{step.onnx, step.weights, meta.json}
 * (<where>: a hash of the model files' paths; <hash>: of everything the graph is built from).
 * The hash covers the build job (model files by path, size and mtime; energies; image size;
 * low-pass size), the builder's own code and the onnxruntime version, so a changed pack, a new
 * release or a new onnxruntime builds afresh. Big models are built in a child process (its memory returns to the
 * system when it exits). A restart loads the folder straight into onnxruntime (no decoding,
 * no autodiff). Entries appear atomically (built in a staging folder, renamed into place; the
 * first of several processes to finish wins); an entry whose files do not match its meta.json
 * is rebuilt; building an entry removes the older versions of the same pack files and configuration.
 * With no folder configured, entries live in a private temporary folder removed at close.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomUUID } from 'crypto';
import { fork } from 'child_process';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../errors';
import { STEP_MODEL_FILE, STEP_WEIGHTS_FILE, StepGraphJob, WrittenStepGraph, writeStepGraph } from './step-graph-files';
import { workerEntry } from './worker-entry';
import type { CodedErrorData } from '../../errors';
import { processIsAlive } from '../../util/process-alive';

/** The entry layout (folder and meta.json); the builder's code is hashed separately. */
export const STEP_GRAPH_FORMAT = 1;
const META_FILE = 'meta.json';

interface Meta {
  format: number;
  job: StepGraphJob;
  fingerprint: unknown;
  nodes: number;
  weightBytes: number;
  buildMs: number;
  createdAt: string;
}

export interface CachedStepGraph {
  /** step.onnx inside the entry (its weights beside it) */
  modelPath: string;
  /** whether the entry was already there */
  hit: boolean;
  nodes: number;
  /** time to build it now (0 on a hit) */
  buildMs: number;
}

let codeHash: string | null = null;
/**
 * A hash of the code that builds step graphs (the engine's sampling, autodiff and ONNX modules,
 * source or compiled), so that a changed builder never serves a graph its predecessor built.
 */
export function builderCodeHash(): string {
  if (codeHash) return codeHash;
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (/\.(ts|js)$/.test(e.name) && !/\.test\.(ts|js)$/.test(e.name)) h.update(e.name).update(fs.readFileSync(f));
    }
  };
  for (const d of ['sampling', 'autodiff', 'onnx']) walk(path.join(__dirname, '..', d));
  h.update(fs.readFileSync(path.join(__dirname, 'step-graph-files' + path.extname(__filename))));
  codeHash = h.digest('hex').slice(0, 16);
  return codeHash;
}

function fileFingerprint(file: string): { file: string; size: number; mtimeMs: number } {
  const st = fs.statSync(file);
  return { file: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs };
}

function slug(s: string): string {
  return s.replace(/[^\w.-]+/g, '_').slice(0, 48);
}

/** Model files at least this big (together) are built in a child process. */
const CHILD_BUILD_MIN_BYTES = 64 * 2 ** 20;

/** Build `job` into `dir` in a child process, so that its JavaScript copies go with it. */
function buildInChild(job: StepGraphJob, dir: string): Promise<WrittenStepGraph> {
  const { file, execArgv } = workerEntry(__dirname, 'step-graph-build-child', __filename.endsWith('.ts'));
  return new Promise((resolve, reject) => {
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (m: { ok: true; written: WrittenStepGraph } | { ok: false; error: CodedErrorData }) => {
      settled = true;
      if (m.ok) resolve(m.written);
      else reject(EngineError.fromData(m.error));
    });
    child.once('error', (e) => {
      settled = true;
      reject(new EngineError('engine/invalid_model', `pack ${job.pack}: the step graph builder did not start: ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      if (!settled) reject(new EngineError('engine/invalid_model', `pack ${job.pack}: the step graph builder exited (${signal ?? `code ${code}`})`));
    });
    child.send({ job, dir });
  });
}

/** Small models build here (a child's start-up would cost more than it saves); big ones in a child. */
async function build(job: StepGraphJob, dir: string, childMinBytes: number): Promise<WrittenStepGraph> {
  const bytes = fs.statSync(job.score.file).size + (job.dse ? fs.statSync(job.dse.file).size : 0);
  return bytes >= childMinBytes ? buildInChild(job, dir) : writeStepGraph(job, dir);
}

export class StepGraphCache {
  private readonly dir: string;
  private readonly temporary: boolean;

  /**
   * `dir`: the cache folder (created if missing); null: a private temporary folder.
   * `childBuildMinBytes`: model files at least this big (together) build in a child process.
   */
  constructor(
    dir: string | null,
    private readonly childBuildMinBytes = CHILD_BUILD_MIN_BYTES,
  ) {
    this.temporary = dir === null;
    this.dir = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-step-graphs-'));
    fs.mkdirSync(this.dir, { recursive: true });
    this.removeDeadStaging();
  }

  get folder(): string {
    return this.dir;
  }

  entryName(job: StepGraphJob): string {
    const fingerprint = this.fingerprint(job);
    const hash = createHash('sha256').update(JSON.stringify(fingerprint)).digest('hex').slice(0, 16);
    return `${this.prefix(job)}${hash}`;
  }

  /** The entry for `job`: found on disk, or built now (in a worker thread) and published. */
  async get(job: StepGraphJob): Promise<CachedStepGraph> {
    const name = this.entryName(job);
    const entry = path.join(this.dir, name);
    const found = this.read(entry);
    if (found) return { modelPath: path.join(entry, STEP_MODEL_FILE), hit: true, nodes: found.nodes, buildMs: 0 };
    fs.rmSync(entry, { recursive: true, force: true });
    const staging = path.join(this.dir, `.staging-${name}-${process.pid}-${randomUUID().slice(0, 8)}`);
    fs.mkdirSync(staging, { recursive: true });
    try {
      const written = await build(job, staging, this.childBuildMinBytes);
      const meta: Meta = { format: STEP_GRAPH_FORMAT, job, fingerprint: this.fingerprint(job), ...written, createdAt: new Date().toISOString() };
      fs.writeFileSync(path.join(staging, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
      try {
        fs.renameSync(staging, entry);
      } catch (e) {
        // another process published the same entry first: use theirs
        if (!this.read(entry)) throw e;
        fs.rmSync(staging, { recursive: true, force: true });
      }
      this.removeOlderVersions(job, name);
      return { modelPath: path.join(entry, STEP_MODEL_FILE), hit: false, nodes: written.nodes, buildMs: written.buildMs };
    } catch (e) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw e;
    }
  }

  /** Remove one entry (a file onnxruntime refused). */
  evict(job: StepGraphJob): void {
    fs.rmSync(path.join(this.dir, this.entryName(job)), { recursive: true, force: true });
  }

  close(): void {
    if (this.temporary) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Same pack files (by path) and configuration; the hash after it tells versions apart. */
  private prefix(job: StepGraphJob): string {
    const where = createHash('sha256').update(JSON.stringify([path.resolve(job.score.file), job.dse ? path.resolve(job.dse.file) : null])).digest('hex').slice(0, 6);
    return `${slug(job.pack)}-${where}-${job.sampler}-${job.s1}-${job.s2}-${job.precision ?? 'fp32'}-`;
  }

  private fingerprint(job: StepGraphJob): unknown {
    return {
      format: STEP_GRAPH_FORMAT,
      code: builderCodeHash(),
      ort: ort.env.versions.common,
      job: { ...job, score: { ...job.score, file: undefined }, dse: job.dse && { ...job.dse, file: undefined } },
      score: fileFingerprint(job.score.file),
      dse: job.dse ? fileFingerprint(job.dse.file) : null,
    };
  }

  /** The entry's meta if its files are all there and the right size, else null. */
  private read(entry: string): Meta | null {
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(entry, META_FILE), 'utf8')) as Meta;
      if (meta.format !== STEP_GRAPH_FORMAT) return null;
      if (!fs.statSync(path.join(entry, STEP_MODEL_FILE)).isFile()) return null;
      if (fs.statSync(path.join(entry, STEP_WEIGHTS_FILE)).size < meta.weightBytes) return null;
      return meta;
    } catch {
      return null;
    }
  }

  /** Staging folders of builders that died (killed mid-build) on this machine. */
  private removeDeadStaging(): void {
    for (const name of fs.readdirSync(this.dir)) {
      const m = /^\.staging-.*-(\d+)-[0-9a-f]{8}$/.exec(name);
      if (!m) continue;
      if (!processIsAlive(Number(m[1]))) fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
    }
  }

  private removeOlderVersions(job: StepGraphJob, keep: string): void {
    const prefix = this.prefix(job);
    for (const name of fs.readdirSync(this.dir)) {
      if (name !== keep && name.startsWith(prefix) && /^[0-9a-f]{16}$/.test(name.slice(prefix.length))) {
        fs.rmSync(path.join(this.dir, name), { recursive: true, force: true });
      }
    }
  }
}
