/**
 * The engine itself, on whichever thread hosts it (the embedded worker thread, or a scale-out
 * worker process): packs, step graphs and sessions, the batcher and its loop, run events.
 * onnxruntime's session.run blocks this thread while it runs.
 */
import * as fs from 'fs';
import { randomUUID } from 'crypto';
import { EngineError, isEngineError } from '../errors';
import { LoadedPack, discoverPacks, duplicatePackError, findPack, loadPack } from '../packs';
import { packInfoOf } from '../packs/info';
import { resolveParams } from '../params';
import { cachedSchedule, Schedule } from '../sampling/schedule';
import { RecordedNoise } from '../sampling/noise';
import { createRun } from '../sampling/sample';
import type { EngineStatus, PackInfo, RunEvent, RunParams, TranslateRequest } from '../types';
import { Batcher } from './batcher';
import { previewImage } from './preview';
import { chooseProvider, EngineLog } from './providers';
import { ExecutionProvider, GraphSession, SessionOptions } from './session';
import { StepGraphCache } from './step-graph-cache';
import type { StepGraphJob } from './step-graph-files';
import { StepExecutor } from './step-executor';

export interface EngineOptions {
  /** Directory whose subfolders are model packs. Required. */
  modelsDir: string;
  /** Serve exactly these pack folders instead of discovering modelsDir's (tools: `eval --pack DIR`). */
  packDirs?: string[];
  /** Let packs reference ONNX files elsewhere under `packsRoot` (default: modelsDir). Default false. */
  allowSharedFiles?: boolean;
  packsRoot?: string;
  /** Execution providers in order of preference. Default ['cpu']. */
  providers?: ExecutionProvider[];
  /** Largest batch per session run. Default 8. */
  maxBatch?: number;
  /** 'measured' (default): batch size from measured cost per sample; 'max': always fill to maxBatch. */
  batching?: 'measured' | 'max';
  /** onnxruntime intra-op threads. Default: onnxruntime's choice. */
  intraOpThreads?: number;
  /** Previews are downscaled to at most this many pixels a side. Default 64. */
  previewSize?: number;
  /**
   * Folder of built step graphs kept across restarts (step-graph-cache.ts). Default: a private
   * temporary folder, removed at close.
   */
  stepGraphCacheDir?: string | null;
  /**
   * onnxruntime graph optimisation level. Default by model size: 'all' for packs under 64 MB of
   * model files (the demo steps 1.4x faster at batch 8 than with 'extended'), 'extended' above
   * (at 256 px the NCHWc layout transform of 'all' copies every convolution's weights, 4.7
   * instead of 2.1 GB peak at batch 1, and steps no faster).
   */
  optimization?: SessionOptions['optimization'];
  /** The networks' precision: 'fp32' (default) or 'fp16' (float16 weights and activations, float32 update; for GPUs). */
  precision?: 'fp32' | 'fp16';
}

/** Model files at least this big (together) get optimisation level 'extended' (see EngineOptions.optimization). */
const BIG_MODEL_BYTES = 64 * 2 ** 20;

interface LiveRun {
  id: string;
  seq: number;
  startedAt: number;
  firstStepAt: number | null;
  emit(e: RunEvent): void;
}

export class EngineCore {
  private readonly batcher: Batcher;
  private readonly executors = new Map<string, Promise<StepExecutor>>();
  private readonly cache: StepGraphCache;
  private readonly runs = new Map<string, LiveRun>();
  private wake: (() => void) | null = null;
  private closed = false;
  private readonly loopDone: Promise<void>;

  private constructor(
    private readonly opts: EngineOptions,
    readonly provider: ExecutionProvider,
    private readonly packList: LoadedPack[],
    private readonly packErrors: EngineError[],
    private readonly log: EngineLog,
  ) {
    this.batcher = new Batcher({ maxBatch: opts.maxBatch ?? 8, batching: opts.batching, executorFor: (key) => this.executorFor(key) });
    this.cache = new StepGraphCache(opts.stepGraphCacheDir ?? null);
    this.loopDone = this.loop();
  }

  static async create(opts: EngineOptions, log: EngineLog = () => {}): Promise<EngineCore> {
    const provider = await chooseProvider(opts.providers ?? ['cpu'], log);
    const { packs, errors } = opts.packDirs
      ? { packs: await Promise.all(opts.packDirs.map((d) => loadPack(d, { root: opts.packsRoot, allowSharedFiles: opts.allowSharedFiles }))), errors: [] as EngineError[] }
      : fs.existsSync(opts.modelsDir)
        ? await discoverPacks(opts.modelsDir, { root: opts.packsRoot, allowSharedFiles: opts.allowSharedFiles })
        : { packs: [], errors: [new EngineError('pack/not_found', `the models directory ${opts.modelsDir} does not exist`)] };
    // two packs of one name: a run's pack would be a guess, so the engine does not start
    const duplicate = duplicatePackError(errors);
    if (duplicate) throw duplicate;
    for (const e of errors) log('warn', `skipping a model pack: ${e.message}`, { code: e.code });
    log('info', `model packs: ${packs.map((p) => p.manifest.name).join(', ') || '(none)'}`);
    return new EngineCore(opts, provider, packs, errors, log);
  }

  /** The packs as the public API describes them (derived once). */
  packs(): PackInfo[] {
    this.packInfos ??= this.packList.map(({ manifest }) => packInfoOf(manifest));
    return this.packInfos;
  }

  private packInfos: PackInfo[] | null = null;

  /**
   * Validate a request and queue its run; events go to `emit` (steps, then exactly one of
   * result | error | cancelled). Invalid requests throw before anything is queued.
   */
  start(req: TranslateRequest, emit: (e: RunEvent) => void): { runId: string; params: RunParams } {
    if (this.closed) throw new EngineError('engine/closed', 'the engine is closed');
    const pack = findPack(this.packList, req.pack);
    const m = pack.manifest;
    const params = resolveParams(this.packs().find((p) => p.name === m.name)!, req.params);
    const S = m.imageSize;
    if (!(req.image instanceof Float32Array) || req.image.length !== 3 * S * S) {
      throw new EngineError('engine/invalid_input', `image: pack ${m.name} takes [3, ${S}, ${S}] (${3 * S * S} values), got ${req.image?.length ?? 0} values`, { field: 'image' });
    }
    const runId = req.runId ?? randomUUID();
    if (this.runs.has(runId)) throw new EngineError('engine/invalid_input', `runId ${runId} is already running`, { field: 'runId' });
    const state = createRun({
      source: req.image,
      shape: [3, S, S],
      schedule: this.scheduleOf(pack),
      plan: { M: params.M, steps: params.steps, repeats: params.repeats },
      weights: { lambdaS: params.lambdaS, lambdaI: params.lambdaI },
      noise: req.recordedNoise && new RecordedNoise(req.recordedNoise.e, req.recordedNoise.z),
      seed: params.seed,
    });
    if (req.resume) {
      try {
        state.restore(req.resume);
      } catch (e) {
        throw new EngineError('engine/invalid_input', `resume: ${(e as Error).message}`, { field: 'resume' });
      }
    }
    const checkpointEvery = req.checkpointEvery ?? 0;
    const resumedAt = state.stepsCompleted;
    const live: LiveRun = { id: runId, seq: 0, startedAt: Date.now(), firstStepAt: null, emit };
    const finish = (e: RunEvent) => {
      this.runs.delete(runId);
      emit(e);
    };
    this.runs.set(runId, live);
    const key = [m.name, params.sampler, params.s1, params.s2].join('|');
    this.batcher.admit({
      id: runId,
      key,
      state,
      onStep: (rec, out) => {
        live.firstStepAt ??= Date.now();
        const wantPreview = params.previewEvery > 0 && (rec.step % params.previewEvery === 0 || rec.step === rec.totalSteps);
        emit({
          type: 'step',
          runId,
          seq: ++live.seq,
          step: rec.step,
          totalSteps: rec.totalSteps,
          t: rec.t,
          energies: out.energies,
          preview: wantPreview ? previewImage(out.x0Pred, S, this.opts.previewSize ?? 64) : null,
          checkpoint: checkpointEvery > 0 && rec.step % checkpointEvery === 0 && rec.step < rec.totalSteps ? state.checkpoint() : null,
        });
      },
      onDone: () => {
        const now = Date.now();
        const first = live.firstStepAt ?? now;
        finish({
          type: 'result',
          runId,
          seq: ++live.seq,
          image: state.output(),
          size: S,
          timings: { queuedMs: first - live.startedAt, runMs: now - first, steps: state.totalSteps - resumedAt, msPerStep: (now - first) / Math.max(1, state.totalSteps - resumedAt) },
        });
      },
      onCancelled: () => finish({ type: 'cancelled', runId, seq: ++live.seq }),
      onError: (err) => {
        this.log('warn', `run ${runId} failed: ${err.message}`, { code: err.code });
        finish({ type: 'error', runId, seq: ++live.seq, code: err.code, message: err.message });
      },
    });
    this.wake?.();
    return { runId, params };
  }

  cancel(runId: string): boolean {
    const known = this.batcher.cancel(runId);
    this.wake?.();
    return known;
  }

  status(): EngineStatus {
    const s = this.batcher.status();
    return {
      provider: this.provider,
      activeRuns: s.activeRuns,
      lastBatchSizes: s.lastBatchSizes,
      stepsPerSecond: s.stepsPerSecond,
      maxBatch: this.opts.maxBatch ?? 8,
      packs: this.packList.map((p) => p.manifest.name),
      packErrors: this.packErrors.map((e) => ({ code: e.code, message: e.message })),
    };
  }

  /** Stop stepping; runs still going end with engine/closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    await this.loopDone;
    for (const id of [...this.runs.keys()]) this.batcher.cancel(id);
    for (const r of [...this.runs.values()]) {
      this.runs.delete(r.id);
      r.emit({ type: 'error', runId: r.id, seq: ++r.seq, code: 'engine/closed', message: 'the engine closed before the run finished' });
    }
    for (const e of this.executors.values()) await e.then((x) => x.release()).catch(() => {});
    this.cache.close();
  }

  private scheduleOf(pack: LoadedPack): Schedule {
    const m = pack.manifest.schedule;
    return cachedSchedule({ betaSchedule: m.betaSchedule, betaStart: m.betaStart, betaEnd: m.betaEnd, numDiffusionTimesteps: m.numTimesteps, varType: m.varType });
  }

  private executorFor(key: string): Promise<StepExecutor> {
    let e = this.executors.get(key);
    if (!e) {
      e = this.buildExecutor(key);
      this.executors.set(key, e);
      // a failed build is retried by the next run rather than cached
      e.catch(() => this.executors.delete(key));
    }
    return e;
  }

  private async buildExecutor(key: string): Promise<StepExecutor> {
    const [name, sampler, s1, s2] = key.split('|') as [string, RunParams['sampler'], RunParams['s1'], RunParams['s2']];
    const pack = findPack(this.packList, name);
    const m = pack.manifest;
    const job: StepGraphJob = {
      pack: name,
      sampler,
      s1,
      s2,
      imageSize: m.imageSize,
      downN: m.defaults.downN,
      score: { file: pack.scorePath, input: m.score.input, timestep: m.score.timestep, output: m.score.output, kind: m.score.kind },
      dse: sampler === 'egsde' ? { file: pack.dsePath, input: m.dse.input, timestep: m.dse.timestep, output: m.dse.featureOutput } : undefined,
      precision: this.opts.precision ?? 'fp32',
    };
    const t0 = Date.now();
    const modelBytes = fs.statSync(pack.scorePath).size + (job.dse ? fs.statSync(pack.dsePath).size : 0);
    const sessionOptions: SessionOptions = {
      providers: [this.provider],
      intraOpThreads: this.opts.intraOpThreads,
      optimization: this.opts.optimization ?? (modelBytes >= BIG_MODEL_BYTES ? 'extended' : 'all'),
      // the plan is kept per batch size on top of the arena; without it the arena is reused
      memoryPattern: false,
    };
    const refused = (e: Error) => new EngineError('engine/invalid_model', `pack ${name}: onnxruntime rejected the ${sampler} step graph: ${e.message.split('\n')[0]}`);
    let ready = await this.cache.get(job);
    let session: GraphSession;
    try {
      session = await GraphSession.open(ready.modelPath, sessionOptions);
    } catch (e) {
      if (!ready.hit) throw refused(e as Error);
      // cached files onnxruntime refuses (damaged on disk): build them once more
      this.log('warn', `step graph ${key}: onnxruntime refused the cached files, rebuilding: ${(e as Error).message.split('\n')[0]}`);
      this.cache.evict(job);
      ready = await this.cache.get(job);
      session = await GraphSession.open(ready.modelPath, sessionOptions).catch((e2: Error) => {
        throw refused(e2);
      });
    }
    const source = ready.hit ? 'from the cache' : `built in ${ready.buildMs} ms`;
    this.log('info', `step graph ready: ${key} (${ready.nodes} nodes, ${source}, ${Date.now() - t0} ms in all)`, { key, cached: ready.hit, ms: Date.now() - t0 });
    return new StepExecutor(session, sampler === 'egsde');
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      if (this.batcher.idle) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      try {
        await this.batcher.stepOnce();
      } catch (e) {
        this.log('error', `engine step failed: ${(e as Error).message}`);
      }
      // let start/cancel messages in between steps
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
