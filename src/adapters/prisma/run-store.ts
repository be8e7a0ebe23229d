/**
 * The run store on Prisma: SQLite (embedded) and PostgreSQL, one schema each (prisma/). Every
 * status change is the run domain's transition() applied as one conditional update. JSON columns
 * (params, timings, metrics, event payloads) are stored as text and exposed parsed and checked.
 */
import { randomUUID } from 'node:crypto';
import type { Prisma, PrismaClient, RunEventRow, RunRow } from '../../db/client';
import { CodedError } from '../../errors';
import { runParamsSchema } from '../../engine';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  RUN_INTERRUPTED,
  TERMINAL_STATUSES,
  decodeRunCursor,
  encodeRunCursor,
  isRunEventType,
  isRunStatus,
  runNotFound,
  transition,
} from '../../runs';
import type {
  ClaimOptions,
  NewRun,
  NewRunEvent,
  RunCounts,
  RunEventRecord,
  RunEventType,
  RunFilter,
  RunMetrics,
  RunPage,
  RunRecord,
  RunResult,
  RunSettings,
  RunStatus,
  RunStore,
  Transition,
  TransitionResult,
} from '../../runs';
import type { RunTimings } from '../../engine';

const settingsSchema = runParamsSchema.omit({ seed: true });


export interface PrismaRunStoreOptions {
  /** Clock for createdAt/startedAt/finishedAt (default: `() => new Date()`). */
  now?: () => Date;
}

const notFound = runNotFound;

/** The Prisma error code (P2002, ...) of a Prisma error, if it is one. */
function prismaCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^P\d{4}$/.test(code) ? code : undefined;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CodedError('db/failed', `Stored ${what} is not valid JSON`);
  }
}

type JsonObject = Record<string, unknown>;

function parseObject(text: string | null, what: string): JsonObject | null {
  if (text === null) return null;
  const value = parseJson(text, what);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CodedError('db/failed', `Stored ${what} is not a JSON object`);
  }
  return value as JsonObject;
}

function asStatus(status: string): RunStatus {
  if (isRunStatus(status)) return status;
  throw new CodedError('db/failed', `Stored run status ${JSON.stringify(status)} is unknown`);
}

function asEventType(type: string): RunEventType {
  if (isRunEventType(type)) return type;
  throw new CodedError('db/failed', `Stored event type ${JSON.stringify(type)} is unknown`);
}

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    status: asStatus(row.status),
    task: row.task,
    params: parseSettings(row.params),
    seed: Number(row.seed),
    totalSteps: row.totalSteps,
    lastSeq: row.lastSeq,
    stepsDone: row.stepsDone,
    attempts: row.attempts,
    cancelRequested: row.cancelRequested,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    timings: parseObject(row.timings, 'timings') as RunTimings | null,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    sourceKey: row.sourceKey,
    outputKey: row.outputKey,
    metrics: parseMetrics(row.metrics),
  };
}

function parseSettings(text: string): RunSettings {
  const parsed = settingsSchema.safeParse(parseJson(text, 'params'));
  if (!parsed.success) throw new CodedError('db/failed', `Stored run params are not valid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

function parseMetrics(text: string | null): RunMetrics | null {
  const m = parseObject(text, 'metrics');
  if (m === null) return null;
  // JSON has no Infinity: a perfect PSNR is stored as null
  return { l2: Number(m.l2), psnr: m.psnr === null ? Infinity : Number(m.psnr), ssim: Number(m.ssim) };
}

function toEventRecord(row: RunEventRow): RunEventRecord {
  return {
    runId: row.runId,
    seq: row.seq,
    type: asEventType(row.type),
    payload: parseJson(row.payload, 'event payload'),
    createdAt: row.createdAt,
  };
}

function jsonText(value: object | null | undefined): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function requireInt(value: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CodedError('input/invalid', `${what} must be an integer in [${min}, ${max}], got ${value}`, {
      [what]: value,
    });
  }
}

export class PrismaRunStore implements RunStore {
  private readonly now: () => Date;

  constructor(
    private readonly prisma: PrismaClient,
    options: PrismaRunStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Runs a database operation, turning driver/Prisma failures into 'db/failed'. */
  private async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof CodedError) throw e;
      const code = prismaCode(e);
      throw new CodedError('db/failed', `Database error in ${what}: ${(e as Error)?.message ?? String(e)}`, {
        ...(code ? { prismaCode: code } : {}),
      });
    }
  }

  async create(run: NewRun): Promise<RunRecord> {
    requireInt(run.totalSteps, 'totalSteps', 0);
    if (!Number.isSafeInteger(run.seed) || run.seed < 0) {
      throw new CodedError('input/invalid', `seed must be a non-negative integer, got ${run.seed}`, { seed: run.seed });
    }
    const params = settingsSchema.safeParse(run.params);
    if (!params.success) throw new CodedError('input/invalid', `params.${params.error.issues[0]?.path.join('.')}: ${params.error.issues[0]?.message}`);
    const id = run.id ?? randomUUID();
    return this.guard('create', async () => {
      try {
        const row = await this.prisma.run.create({
          data: {
            id,
            status: 'QUEUED',
            task: run.task,
            sampler: params.data.sampler,
            params: JSON.stringify(params.data),
            seed: BigInt(run.seed),
            totalSteps: run.totalSteps,
            sourceKey: run.sourceKey,
            createdAt: run.createdAt ?? this.now(),
          },
        });
        return toRecord(row);
      } catch (e) {
        if (prismaCode(e) === 'P2002') {
          throw new CodedError('input/invalid', `A run with id ${id} already exists`, { id });
        }
        throw e;
      }
    });
  }

  async get(id: string): Promise<RunRecord | null> {
    return this.guard('get', async () => {
      const row = await this.prisma.run.findUnique({ where: { id } });
      return row ? toRecord(row) : null;
    });
  }

  async list(filter: RunFilter = {}, first: number = DEFAULT_PAGE_SIZE, after?: string | null): Promise<RunPage> {
    requireInt(first, 'first', 0, MAX_PAGE_SIZE);
    const cursor = after === undefined || after === null ? undefined : decodeRunCursor(after);
    const and: Prisma.RunWhereInput[] = [];
    if (filter.status !== undefined) {
      const statuses: readonly RunStatus[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
      and.push({ status: { in: [...statuses] } });
    }
    if (filter.task !== undefined) and.push({ task: filter.task });
    if (filter.createdAfter !== undefined) and.push({ createdAt: { gte: filter.createdAfter } });
    if (filter.createdBefore !== undefined) and.push({ createdAt: { lt: filter.createdBefore } });
    if (cursor) {
      and.push({
        OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
      });
    }
    if (first === 0) return { rows: [], hasNextPage: false, endCursor: null };
    return this.guard('list', async () => {
      const rows = await this.prisma.run.findMany({
        where: and.length > 0 ? { AND: and } : {},
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: first + 1,
      });
      const page = rows.slice(0, first).map(toRecord);
      const last = page[page.length - 1];
      return {
        rows: page,
        hasNextPage: rows.length > first,
        endCursor: last ? encodeRunCursor(last) : null,
      };
    });
  }

  async oldestQueuedId(options: ClaimOptions = {}): Promise<string | null> {
    return this.guard('oldestQueuedId', async () => {
      const next = await this.prisma.run.findFirst({
        where: { status: 'QUEUED', ...(options.tasks ? { task: { in: [...options.tasks] } } : {}) },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: { id: true },
      });
      return next?.id ?? null;
    });
  }

  async claim(id: string): Promise<TransitionResult> {
    return this.apply('claim', id, transition('QUEUED', 'RUNNING'), { attempts: { increment: 1 }, startedAt: this.now() });
  }

  async claimNext(options: ClaimOptions = {}): Promise<RunRecord | null> {
    // Each lost claim means another claimer took that run: try the next one.
    for (;;) {
      const id = await this.oldestQueuedId(options);
      if (id === null) return null;
      const { applied, run } = await this.claim(id).catch((e) => {
        if (e instanceof CodedError && e.code === 'run/not_found') return { applied: false, run: null };
        throw e;
      });
      if (applied && run) return run;
    }
  }

  /** One conditional update along a transition; reports whether it applied and the run afterwards. */
  private async apply(
    what: string,
    id: string,
    t: Transition,
    data: Omit<Prisma.RunUpdateManyMutationInput, 'status'>,
    where: Omit<Prisma.RunWhereInput, 'id' | 'status'> = {},
  ): Promise<TransitionResult> {
    return this.guard(what, async () => {
      const { count } = await this.prisma.run.updateMany({
        where: { ...where, id, status: { in: [...t.from] } },
        data: { ...data, status: t.to },
      });
      const row = await this.prisma.run.findUnique({ where: { id } });
      if (!row) throw notFound(id);
      return { applied: count === 1, run: toRecord(row) };
    });
  }

  async markSucceeded(id: string, result: RunResult): Promise<TransitionResult> {
    if (result.stepsDone !== undefined) requireInt(result.stepsDone, 'stepsDone', 0);
    return this.apply('markSucceeded', id, transition('RUNNING', 'SUCCEEDED'), {
      finishedAt: this.now(),
      outputKey: result.outputKey,
      timings: jsonText(result.timings),
      metrics: jsonText(result.metrics),
      ...(result.stepsDone !== undefined ? { stepsDone: result.stepsDone } : {}),
    });
  }

  async markFailed(id: string, code: string, message: string): Promise<TransitionResult> {
    return this.apply('markFailed', id, transition('RUNNING', 'FAILED'), {
      finishedAt: this.now(),
      errorCode: code,
      errorMessage: message,
    });
  }

  async markCancelled(id: string): Promise<TransitionResult> {
    return this.apply('markCancelled', id, transition(['QUEUED', 'RUNNING'], 'CANCELLED'), { finishedAt: this.now() });
  }

  async requestCancel(id: string): Promise<RunRecord> {
    // Re-read and retry when the run moved between the read and the conditional update.
    for (;;) {
      const row = await this.guard('requestCancel', () => this.prisma.run.findUnique({ where: { id } }));
      if (!row) throw notFound(id);
      const status = asStatus(row.status);
      switch (status) {
        case 'QUEUED': {
          const r = await this.apply('requestCancel', id, transition('QUEUED', 'CANCELLED'), { cancelRequested: true, finishedAt: this.now() });
          if (r.applied) return r.run;
          continue;
        }
        case 'RUNNING': {
          if (row.cancelRequested) return toRecord(row);
          // not a status change: the worker acknowledges with markCancelled
          const { count } = await this.guard('requestCancel', () =>
            this.prisma.run.updateMany({ where: { id, status: 'RUNNING' }, data: { cancelRequested: true } }),
          );
          if (count === 1) {
            const after = await this.get(id);
            if (!after) throw notFound(id);
            return after;
          }
          continue;
        }
        case 'CANCELLED':
          return toRecord(row);
        case 'SUCCEEDED':
        case 'FAILED':
          throw new CodedError('run/not_cancellable', `Run ${id} is ${status} and cannot be cancelled`, { id, status });
      }
    }
  }

  async delete(id: string): Promise<void> {
    return this.guard('delete', async () => {
      const { count } = await this.prisma.run.deleteMany({
        where: { id, status: { in: [...TERMINAL_STATUSES] } },
      });
      if (count === 1) return;
      const row = await this.prisma.run.findUnique({ where: { id }, select: { status: true } });
      if (!row) throw notFound(id);
      throw new CodedError('run/not_deletable', `Run ${id} is ${row.status}; only finished runs can be deleted`, {
        id,
        status: row.status,
      });
    });
  }

  async recoverRun(id: string, maxAttempts: number): Promise<TransitionResult> {
    requireInt(maxAttempts, 'maxAttempts', 1);
    const now = this.now();
    const cancelled = await this.apply('recoverRun', id, transition('RUNNING', 'CANCELLED'), { finishedAt: now }, { cancelRequested: true });
    if (cancelled.applied || cancelled.run.status !== 'RUNNING') return cancelled;
    const requeued = await this.apply('recoverRun', id, transition('RUNNING', 'QUEUED'), { stepsDone: 0 }, { attempts: { lt: maxAttempts } });
    if (requeued.applied || requeued.run.status !== 'RUNNING') return requeued;
    return this.apply('recoverRun', id, transition('RUNNING', 'FAILED'), {
      finishedAt: now,
      errorCode: RUN_INTERRUPTED,
      errorMessage:
        `The run was interrupted (the server stopped while it was running) and had used all ` +
        `${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}; it was not retried.`,
    });
  }

  async requeue(id: string): Promise<boolean> {
    const r = await this.apply('requeue', id, transition('RUNNING', 'QUEUED'), { stepsDone: 0, attempts: { decrement: 1 } }, { attempts: { gt: 0 } }).catch((e) => {
      if (e instanceof CodedError && e.code === 'run/not_found') return { applied: false };
      throw e;
    });
    return r.applied;
  }

  async appendEvent(runId: string, event: NewRunEvent): Promise<RunEventRecord> {
    requireInt(event.seq, 'seq', 1, 2 ** 31 - 1);
    if (!isRunEventType(event.type)) {
      throw new CodedError('input/invalid', `Unknown event type ${JSON.stringify(event.type)}`);
    }
    if (event.stepsDone !== undefined) requireInt(event.stepsDone, 'stepsDone', 0);
    return this.guard('appendEvent', async () => {
      try {
        const [row] = await this.prisma.$transaction([
          this.prisma.runEvent.create({
            data: {
              runId,
              seq: event.seq,
              type: event.type,
              payload: JSON.stringify(event.payload ?? null),
              createdAt: this.now(),
            },
          }),
          this.prisma.run.updateMany({
            where: { id: runId, lastSeq: { lt: event.seq } },
            data: { lastSeq: event.seq, ...(event.stepsDone !== undefined ? { stepsDone: event.stepsDone } : {}) },
          }),
        ]);
        return toEventRecord(row);
      } catch (e) {
        switch (prismaCode(e)) {
          case 'P2002':
            throw new CodedError('run/duplicate_event', `Run ${runId} already has an event with seq ${event.seq}`, {
              runId,
              seq: event.seq,
            });
          case 'P2003':
            throw notFound(runId);
          default:
            throw e;
        }
      }
    });
  }

  async eventsAfter(runId: string, afterSeq: number, limit?: number): Promise<RunEventRecord[]> {
    requireInt(afterSeq, 'afterSeq', 0);
    if (limit !== undefined) requireInt(limit, 'limit', 1);
    return this.guard('eventsAfter', async () => {
      const rows = await this.prisma.runEvent.findMany({
        where: { runId, seq: { gt: afterSeq } },
        orderBy: { seq: 'asc' },
        ...(limit !== undefined ? { take: limit } : {}),
      });
      return rows.map(toEventRecord);
    });
  }

  async countsByStatus(): Promise<RunCounts> {
    return this.guard('countsByStatus', async () => {
      const groups = await this.prisma.run.groupBy({ by: ['status'], _count: { _all: true } });
      const counts: { [S in RunStatus]: number } = { QUEUED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0 };
      for (const g of groups) counts[asStatus(g.status)] = g._count._all;
      return counts;
    });
  }
}
