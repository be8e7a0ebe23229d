/**
 * Persistence of runs and their events, behind the {@link RunStore} port.
 *
 * Lifecycle (a small explicit state machine, BullMQ/pg-boss style):
 *
 *   QUEUED ──claimNext──▶ RUNNING ──markSucceeded──▶ SUCCEEDED
 *     │                    │  │  └──markFailed─────▶ FAILED
 *     │                    │  └─────markCancelled──▶ CANCELLED
 *     └──requestCancel / markCancelled─────────────▶ CANCELLED
 *                          └──recoverInterrupted──▶ QUEUED (recovery only, attempts left)
 *
 * Every transition is one conditional update (`UPDATE ... WHERE id = ? AND status IN (from)`), so
 * of two racing transitions exactly one applies; the loser gets `{ applied: false, run }` with the
 * run as the winner left it (no exception: losing a race is an expected outcome for a worker).
 *
 * JSON columns (params, timings, metrics, event payloads) are stored as text and exposed parsed.
 */
import { randomUUID } from 'node:crypto';
import type { Prisma, PrismaClient, RunEventRow, RunRow } from '../db/client';
import { ServiceError } from './errors';

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_EVENT_TYPES = ['STEP', 'STATUS', 'RESULT', 'ERROR', 'CANCELLED'] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/** The allowed transitions. RUNNING -> QUEUED is taken only by {@link RunStore.recoverInterrupted}. */
export const RUN_TRANSITIONS: { readonly [S in RunStatus]: readonly RunStatus[] } = {
  QUEUED: ['RUNNING', 'CANCELLED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'QUEUED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
};

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export function isTerminal(status: RunStatus): boolean {
  switch (status) {
    case 'QUEUED':
    case 'RUNNING':
      return false;
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
      return true;
  }
}

export const TERMINAL_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter(isTerminal);

/** The error code stored on runs that recovery gives up on. */
export const RUN_INTERRUPTED = 'run/interrupted' as const;

export type JsonObject = Record<string, unknown>;

export interface RunRecord {
  readonly id: string;
  readonly status: RunStatus;
  readonly task: string;
  readonly sampler: string;
  /** All run parameters (stored as JSON text). */
  readonly params: JsonObject;
  readonly seed: bigint;
  readonly totalSteps: number;
  /** The seq of the newest event (0 before any). */
  readonly lastSeq: number;
  readonly stepsDone: number;
  /** How many times a worker claimed the run. */
  readonly attempts: number;
  /** Set by requestCancel on a RUNNING run; the worker acknowledges with markCancelled. */
  readonly cancelRequested: boolean;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly timings: JsonObject | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly sourceKey: string;
  readonly outputKey: string | null;
  readonly metrics: JsonObject | null;
}

export interface NewRun {
  /** Default: a random UUID. */
  readonly id?: string;
  readonly task: string;
  readonly sampler: string;
  readonly params: JsonObject;
  readonly seed: bigint | number;
  readonly totalSteps: number;
  readonly sourceKey: string;
  /** Default: the store's clock. */
  readonly createdAt?: Date;
}

export interface RunFilter {
  /** One status or any of several. */
  readonly status?: RunStatus | readonly RunStatus[];
  readonly task?: string;
  /** Inclusive lower bound on createdAt. */
  readonly createdAfter?: Date;
  /** Exclusive upper bound on createdAt. */
  readonly createdBefore?: Date;
}

export interface RunPage {
  /** Newest first: createdAt desc, then id desc. */
  readonly rows: RunRecord[];
  readonly hasNextPage: boolean;
  /** Cursor of the last row (pass as `after` for the next page); null when the page is empty. */
  readonly endCursor: string | null;
}

export interface RunResult {
  readonly outputKey: string;
  readonly timings?: JsonObject | null;
  readonly metrics?: JsonObject | null;
  /** Default: unchanged. */
  readonly stepsDone?: number;
}

export interface TransitionResult {
  /** False when the run was not in a state the transition starts from (a lost race). */
  readonly applied: boolean;
  /** The run after the attempt. */
  readonly run: RunRecord;
}

export interface RecoveryCounts {
  /** RUNNING runs with attempts left, back to QUEUED. */
  readonly requeued: number;
  /** RUNNING runs out of attempts, now FAILED with errorCode 'run/interrupted'. */
  readonly failed: number;
  /** RUNNING runs whose cancellation had been requested, now CANCELLED. */
  readonly cancelled: number;
}

export interface NewRunEvent {
  /** Positive, increasing per run; (runId, seq) is unique. */
  readonly seq: number;
  readonly type: RunEventType;
  readonly payload: unknown;
  /** Also record the run's progress in the same transaction. */
  readonly stepsDone?: number;
}

export interface RunEventRecord {
  readonly runId: string;
  readonly seq: number;
  readonly type: RunEventType;
  readonly payload: unknown;
  readonly createdAt: Date;
}

export type RunCounts = { readonly [S in RunStatus]: number };

export interface ClaimOptions {
  /** Only claim runs of these tasks (default: any). */
  readonly tasks?: readonly string[];
}

export interface RunStore {
  /** Inserts a QUEUED run. */
  create(run: NewRun): Promise<RunRecord>;
  /** The run, or null when there is none with that id. */
  get(id: string): Promise<RunRecord | null>;
  /**
   * One page of runs, newest first. `first`: 0..{@link MAX_PAGE_SIZE} (default 20); `after`: an
   * endCursor from a previous page (a malformed one throws 'input/bad_cursor').
   */
  list(filter?: RunFilter, first?: number, after?: string | null): Promise<RunPage>;
  /** The oldest QUEUED run, now RUNNING (attempts + 1, startedAt set); null when none is queued. */
  claimNext(options?: ClaimOptions): Promise<RunRecord | null>;
  /** RUNNING -> SUCCEEDED. */
  markSucceeded(id: string, result: RunResult): Promise<TransitionResult>;
  /** RUNNING -> FAILED with an error code and message. */
  markFailed(id: string, code: string, message: string): Promise<TransitionResult>;
  /** QUEUED | RUNNING -> CANCELLED (a worker acknowledging a requested cancel, or a direct cancel). */
  markCancelled(id: string): Promise<TransitionResult>;
  /**
   * A user's cancel: a QUEUED run becomes CANCELLED at once; a RUNNING one gets cancelRequested
   * (its worker stops and calls markCancelled); a CANCELLED one is returned as is; SUCCEEDED and
   * FAILED runs throw 'run/not_cancellable'. Unknown ids throw 'run/not_found'.
   */
  requestCancel(id: string): Promise<RunRecord>;
  /** Deletes a terminal run and its events ('run/not_deletable' otherwise, 'run/not_found'). */
  delete(id: string): Promise<void>;
  /**
   * After a restart, before any worker runs: every RUNNING run is requeued when
   * attempts < maxAttempts (progress reset, event seqs continue), cancelled when its cancel had
   * been requested, else FAILED with errorCode 'run/interrupted'. Not for use while workers run.
   */
  recoverInterrupted(maxAttempts: number): Promise<RecoveryCounts>;
  /**
   * RUNNING -> QUEUED for a run this process is giving back (graceful shutdown); the attempt is
   * not counted. Returns whether the transition applied.
   */
  requeue(id: string): Promise<boolean>;
  /**
   * Stores an event and raises the run's lastSeq (and stepsDone, if given) in one transaction.
   * Throws 'run/duplicate_event' for a seq already stored, 'run/not_found' for an unknown run.
   */
  appendEvent(runId: string, event: NewRunEvent): Promise<RunEventRecord>;
  /** The run's events with seq > afterSeq, by seq (empty for an unknown run). */
  eventsAfter(runId: string, afterSeq: number, limit?: number): Promise<RunEventRecord[]>;
  /** How many runs are in each status (zeros included). */
  countsByStatus(): Promise<RunCounts>;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 200;

// ---- cursors ------------------------------------------------------------------------------

export interface RunCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** Opaque cursor: base64url of the JSON `[createdAt epoch ms, id]`. */
export function encodeRunCursor(cursor: RunCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.getTime(), cursor.id]), 'utf8').toString('base64url');
}

export function decodeRunCursor(cursor: string): RunCursor {
  const bad = (why: string): ServiceError =>
    new ServiceError('input/bad_cursor', `Malformed cursor ${JSON.stringify(cursor.slice(0, 100))}: ${why}`, {
      cursor: cursor.slice(0, 100),
    });
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 1000 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw bad('not a base64url string');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor returned by this API');
  }
  if (
    !Array.isArray(decoded) ||
    decoded.length !== 2 ||
    !Number.isSafeInteger(decoded[0]) ||
    typeof decoded[1] !== 'string' ||
    decoded[1].length === 0
  ) {
    throw bad('not a cursor returned by this API');
  }
  const createdAt = new Date(decoded[0] as number);
  if (Number.isNaN(createdAt.getTime())) throw bad('timestamp out of range');
  return { createdAt, id: decoded[1] };
}

// ---- the Prisma implementation ---------------------------------------------------------------

export interface PrismaRunStoreOptions {
  /** Clock for createdAt/startedAt/finishedAt (default: `() => new Date()`). */
  now?: () => Date;
}

function notFound(id: string): ServiceError {
  return new ServiceError('run/not_found', `Run ${id} not found`, { id });
}

/** The Prisma error code (P2002, ...) of a Prisma error, if it is one. */
function prismaCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^P\d{4}$/.test(code) ? code : undefined;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ServiceError('db/failed', `Stored ${what} is not valid JSON`);
  }
}

function parseObject(text: string | null, what: string): JsonObject | null {
  if (text === null) return null;
  const value = parseJson(text, what);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ServiceError('db/failed', `Stored ${what} is not a JSON object`);
  }
  return value as JsonObject;
}

function asStatus(status: string): RunStatus {
  if ((RUN_STATUSES as readonly string[]).includes(status)) return status as RunStatus;
  throw new ServiceError('db/failed', `Stored run status ${JSON.stringify(status)} is unknown`);
}

function asEventType(type: string): RunEventType {
  if ((RUN_EVENT_TYPES as readonly string[]).includes(type)) return type as RunEventType;
  throw new ServiceError('db/failed', `Stored event type ${JSON.stringify(type)} is unknown`);
}

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    status: asStatus(row.status),
    task: row.task,
    sampler: row.sampler,
    params: parseObject(row.params, 'params') ?? {},
    seed: row.seed,
    totalSteps: row.totalSteps,
    lastSeq: row.lastSeq,
    stepsDone: row.stepsDone,
    attempts: row.attempts,
    cancelRequested: row.cancelRequested,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    timings: parseObject(row.timings, 'timings'),
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    sourceKey: row.sourceKey,
    outputKey: row.outputKey,
    metrics: parseObject(row.metrics, 'metrics'),
  };
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

function jsonText(value: JsonObject | null | undefined): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

function requireInt(value: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ServiceError('input/invalid', `${what} must be an integer in [${min}, ${max}], got ${value}`, {
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
      if (e instanceof ServiceError) throw e;
      const code = prismaCode(e);
      throw new ServiceError('db/failed', `Database error in ${what}: ${(e as Error)?.message ?? String(e)}`, {
        ...(code ? { prismaCode: code } : {}),
      });
    }
  }

  async create(run: NewRun): Promise<RunRecord> {
    requireInt(run.totalSteps, 'totalSteps', 0);
    if (typeof run.seed === 'number' && !Number.isSafeInteger(run.seed)) {
      throw new ServiceError('input/invalid', `seed must be an integer, got ${run.seed}`, { seed: run.seed });
    }
    const id = run.id ?? randomUUID();
    return this.guard('create', async () => {
      try {
        const row = await this.prisma.run.create({
          data: {
            id,
            status: 'QUEUED',
            task: run.task,
            sampler: run.sampler,
            params: JSON.stringify(run.params),
            seed: BigInt(run.seed),
            totalSteps: run.totalSteps,
            sourceKey: run.sourceKey,
            createdAt: run.createdAt ?? this.now(),
          },
        });
        return toRecord(row);
      } catch (e) {
        if (prismaCode(e) === 'P2002') {
          throw new ServiceError('input/invalid', `A run with id ${id} already exists`, { id });
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

  async claimNext(options: ClaimOptions = {}): Promise<RunRecord | null> {
    return this.guard('claimNext', async () => {
      // Each failed conditional update means another claimer took that run: try the next one.
      for (;;) {
        const next = await this.prisma.run.findFirst({
          where: { status: 'QUEUED', ...(options.tasks ? { task: { in: [...options.tasks] } } : {}) },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
          select: { id: true },
        });
        if (!next) return null;
        const { count } = await this.prisma.run.updateMany({
          where: { id: next.id, status: 'QUEUED' },
          data: { status: 'RUNNING', attempts: { increment: 1 }, startedAt: this.now() },
        });
        if (count === 1) {
          const row = await this.prisma.run.findUnique({ where: { id: next.id } });
          if (row) return toRecord(row);
        }
      }
    });
  }

  /** One conditional update `from -> to`; reports whether it applied and the run afterwards. */
  private async transition(
    what: string,
    id: string,
    from: readonly RunStatus[],
    to: RunStatus,
    data: Omit<Prisma.RunUpdateManyMutationInput, 'status'>,
  ): Promise<TransitionResult> {
    for (const f of from) {
      if (!canTransition(f, to)) throw new Error(`run-store: ${f} -> ${to} is not a transition`);
    }
    return this.guard(what, async () => {
      const { count } = await this.prisma.run.updateMany({
        where: { id, status: { in: [...from] } },
        data: { ...data, status: to },
      });
      const row = await this.prisma.run.findUnique({ where: { id } });
      if (!row) throw notFound(id);
      return { applied: count === 1, run: toRecord(row) };
    });
  }

  async markSucceeded(id: string, result: RunResult): Promise<TransitionResult> {
    if (result.stepsDone !== undefined) requireInt(result.stepsDone, 'stepsDone', 0);
    return this.transition('markSucceeded', id, ['RUNNING'], 'SUCCEEDED', {
      finishedAt: this.now(),
      outputKey: result.outputKey,
      timings: jsonText(result.timings),
      metrics: jsonText(result.metrics),
      ...(result.stepsDone !== undefined ? { stepsDone: result.stepsDone } : {}),
    });
  }

  async markFailed(id: string, code: string, message: string): Promise<TransitionResult> {
    return this.transition('markFailed', id, ['RUNNING'], 'FAILED', {
      finishedAt: this.now(),
      errorCode: code,
      errorMessage: message,
    });
  }

  async markCancelled(id: string): Promise<TransitionResult> {
    return this.transition('markCancelled', id, ['QUEUED', 'RUNNING'], 'CANCELLED', { finishedAt: this.now() });
  }

  async requestCancel(id: string): Promise<RunRecord> {
    return this.guard('requestCancel', async () => {
      // Re-read and retry when the run moved between the read and the conditional update.
      for (;;) {
        const row = await this.prisma.run.findUnique({ where: { id } });
        if (!row) throw notFound(id);
        const status = asStatus(row.status);
        switch (status) {
          case 'QUEUED': {
            const { count } = await this.prisma.run.updateMany({
              where: { id, status: 'QUEUED' },
              data: { status: 'CANCELLED', cancelRequested: true, finishedAt: this.now() },
            });
            if (count === 1) break;
            continue;
          }
          case 'RUNNING': {
            if (row.cancelRequested) return toRecord(row);
            const { count } = await this.prisma.run.updateMany({
              where: { id, status: 'RUNNING' },
              data: { cancelRequested: true },
            });
            if (count === 1) break;
            continue;
          }
          case 'CANCELLED':
            return toRecord(row);
          case 'SUCCEEDED':
          case 'FAILED':
            throw new ServiceError('run/not_cancellable', `Run ${id} is ${status} and cannot be cancelled`, {
              id,
              status,
            });
        }
        const after = await this.prisma.run.findUnique({ where: { id } });
        if (!after) throw notFound(id);
        return toRecord(after);
      }
    });
  }

  async delete(id: string): Promise<void> {
    return this.guard('delete', async () => {
      const { count } = await this.prisma.run.deleteMany({
        where: { id, status: { in: [...TERMINAL_STATUSES] } },
      });
      if (count === 1) return;
      const row = await this.prisma.run.findUnique({ where: { id }, select: { status: true } });
      if (!row) throw notFound(id);
      throw new ServiceError('run/not_deletable', `Run ${id} is ${row.status}; only finished runs can be deleted`, {
        id,
        status: row.status,
      });
    });
  }

  async recoverInterrupted(maxAttempts: number): Promise<RecoveryCounts> {
    requireInt(maxAttempts, 'maxAttempts', 1);
    const now = this.now();
    return this.guard('recoverInterrupted', async () => {
      const [cancelled, requeued, failed] = await this.prisma.$transaction([
        this.prisma.run.updateMany({
          where: { status: 'RUNNING', cancelRequested: true },
          data: { status: 'CANCELLED', finishedAt: now },
        }),
        this.prisma.run.updateMany({
          where: { status: 'RUNNING', attempts: { lt: maxAttempts } },
          data: { status: 'QUEUED', stepsDone: 0 },
        }),
        this.prisma.run.updateMany({
          where: { status: 'RUNNING' },
          data: {
            status: 'FAILED',
            finishedAt: now,
            errorCode: RUN_INTERRUPTED,
            errorMessage:
              `The run was interrupted (the server stopped while it was running) and had used all ` +
              `${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}; it was not retried.`,
          },
        }),
      ]);
      return { requeued: requeued.count, failed: failed.count, cancelled: cancelled.count };
    });
  }

  async requeue(id: string): Promise<boolean> {
    return this.guard('requeue', async () => {
      const r = await this.prisma.run.updateMany({
        where: { id, status: 'RUNNING', attempts: { gt: 0 } },
        data: { status: 'QUEUED', stepsDone: 0, attempts: { decrement: 1 } },
      });
      return r.count === 1;
    });
  }

  async appendEvent(runId: string, event: NewRunEvent): Promise<RunEventRecord> {
    requireInt(event.seq, 'seq', 1, 2 ** 31 - 1);
    if (!(RUN_EVENT_TYPES as readonly string[]).includes(event.type)) {
      throw new ServiceError('input/invalid', `Unknown event type ${JSON.stringify(event.type)}`);
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
            throw new ServiceError('run/duplicate_event', `Run ${runId} already has an event with seq ${event.seq}`, {
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
