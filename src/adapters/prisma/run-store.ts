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
  Lease,
  LeaseRenewal,
  NewRun,
  NewRunEvent,
  RunCounts,
  RunEventAppend,
  RunEventAppendOutcome,
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
  StoredCheckpoint,
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

const duplicateEvent = (runId: string, seq: number) => new CodedError('run/duplicate_event', `Run ${runId} already has an event with seq ${seq}`, { runId, seq });

/** The checks every appended event passes before any write. */
function checkNewEvent(e: Pick<NewRunEvent, 'seq' | 'type' | 'stepsDone'>): void {
  requireInt(e.seq, 'seq', 1, 2 ** 31 - 1);
  if (!isRunEventType(e.type)) throw new CodedError('input/invalid', `Unknown event type ${JSON.stringify(e.type)}`);
  if (e.stepsDone !== undefined) requireInt(e.stepsDone, 'stepsDone', 0);
}

/** Why a lease-conditional append wrote nothing: its seq is taken (the writer still holds the run), or the lease is gone. */
function leaseRefusal(runId: string, seq: number, owner: string, run: { status: string; leaseOwner: string | null }): CodedError {
  if (run.status === 'RUNNING' && run.leaseOwner === owner) return duplicateEvent(runId, seq);
  return new CodedError('run/lease_lost', `Run ${runId} is no longer held by ${owner}`, { runId, owner, status: run.status });
}

/** The lease columns of a run nobody holds (queued again, or finished). */
const NO_LEASE = { leaseOwner: null, leaseExpiresAt: null } as const;

/** The condition of a worker's write: the run is held under its lease (no condition without an owner). */
function ownedBy(owner: string | undefined): Prisma.RunWhereInput {
  return owner === undefined ? {} : { leaseOwner: owner };
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

function toRecord(row: Omit<RunRow, 'checkpoint'>): RunRecord {
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
    leaseOwner: row.leaseOwner,
    leaseExpiresAt: row.leaseExpiresAt,
    checkpointStep: row.checkpointStep,
    ownerId: row.ownerId,
  };
}

/** The image keys an event payload references: a STEP's preview (a run's output is referenced by markSucceeded). */
function artifactKeysOf(payload: unknown): string[] {
  const key = payload && typeof payload === 'object' ? (payload as { step?: { previewKey?: unknown } }).step?.previewKey : undefined;
  return typeof key === 'string' ? [key] : [];
}

type RefWriter = Pick<PrismaClient, 'artifactRef'>;

/** Records that `runId` references `keys` (idempotent). */
async function addArtifactRefs(tx: RefWriter, runId: string, keys: readonly string[]): Promise<void> {
  for (const key of keys) await tx.artifactRef.upsert({ where: { key_runId: { key, runId } }, create: { key, runId }, update: {} });
}

/** Reads of a run never load its checkpoint bytes. */
const RUN_COLUMNS = {
  id: true, status: true, task: true, sampler: true, params: true, seed: true, totalSteps: true, lastSeq: true, stepsDone: true,
  attempts: true, cancelRequested: true, createdAt: true, startedAt: true, finishedAt: true, timings: true, errorCode: true,
  errorMessage: true, sourceKey: true, outputKey: true, metrics: true, leaseOwner: true, leaseExpiresAt: true, checkpointStep: true,
  ownerId: true,
} as const;


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

/** The where-conditions of a history filter (list and count read the same runs). */
function filterConditions(filter: RunFilter): Prisma.RunWhereInput[] {
  const and: Prisma.RunWhereInput[] = [];
  if (filter.status !== undefined) {
    const statuses: readonly RunStatus[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
    and.push({ status: { in: [...statuses] } });
  }
  if (filter.task !== undefined) and.push({ task: filter.task });
  if (filter.ownerId !== undefined) and.push({ ownerId: filter.ownerId });
  if (filter.createdAfter !== undefined) and.push({ createdAt: { gte: filter.createdAfter } });
  if (filter.createdBefore !== undefined) and.push({ createdAt: { lt: filter.createdBefore } });
  return and;
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
        const row = await this.prisma.$transaction(async (tx) => {
          const created = await tx.run.create({
            data: {
              id,
              status: 'QUEUED',
              task: run.task,
              sampler: params.data.sampler,
              params: JSON.stringify(params.data),
              seed: BigInt(run.seed),
              totalSteps: run.totalSteps,
              sourceKey: run.sourceKey,
              ownerId: run.ownerId ?? null,
              createdAt: run.createdAt ?? this.now(),
            },
            select: RUN_COLUMNS,
          });
          await addArtifactRefs(tx, id, [run.sourceKey]);
          return created;
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
      const row = await this.prisma.run.findUnique({ where: { id }, select: RUN_COLUMNS });
      return row ? toRecord(row) : null;
    });
  }

  async list(filter: RunFilter = {}, first: number = DEFAULT_PAGE_SIZE, after?: string | null): Promise<RunPage> {
    requireInt(first, 'first', 0, MAX_PAGE_SIZE);
    const cursor = after === undefined || after === null ? undefined : decodeRunCursor(after);
    const and = filterConditions(filter);
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
        select: RUN_COLUMNS,
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

  async count(filter: RunFilter = {}): Promise<number> {
    const and = filterConditions(filter);
    return this.guard('count', () => this.prisma.run.count({ where: and.length > 0 ? { AND: and } : {} }));
  }

  async queuePosition(id: string): Promise<number | null> {
    return this.guard('queuePosition', async () => {
      const run = await this.prisma.run.findUnique({ where: { id }, select: { status: true, task: true, createdAt: true } });
      if (!run || run.status !== 'QUEUED') return null;
      // ahead of it: older QUEUED runs of the task, and those of the same instant with a smaller id (claim order)
      const ahead = await this.prisma.run.count({
        where: { status: 'QUEUED', task: run.task, OR: [{ createdAt: { lt: run.createdAt } }, { createdAt: run.createdAt, id: { lt: id } }] },
      });
      return ahead + 1;
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

  async claim(id: string, lease?: Lease): Promise<TransitionResult> {
    if (lease) requireInt(lease.ttlMs, 'ttlMs', 1);
    const now = this.now();
    return this.apply('claim', id, transition('QUEUED', 'RUNNING'), {
      attempts: { increment: 1 },
      startedAt: now,
      ...(lease ? { leaseOwner: lease.owner, leaseExpiresAt: new Date(now.getTime() + lease.ttlMs) } : NO_LEASE),
    });
  }

  async claimNext(options: ClaimOptions = {}, lease?: Lease): Promise<RunRecord | null> {
    // Each lost claim means another claimer took that run: try the next one.
    for (;;) {
      const id = await this.oldestQueuedId(options);
      if (id === null) return null;
      const { applied, run } = await this.claim(id, lease).catch((e) => {
        if (e instanceof CodedError && e.code === 'run/not_found') return { applied: false, run: null };
        throw e;
      });
      if (applied && run) return run;
    }
  }

  async renewLeases(owner: string, ids: readonly string[], ttlMs: number): Promise<LeaseRenewal[]> {
    requireInt(ttlMs, 'ttlMs', 1);
    if (ids.length === 0) return [];
    return this.guard('renewLeases', async () => {
      // one row per statement: a renewal never holds two row locks at once, so it cannot deadlock
      // with a batch of event writes (appendEvents) locking the same runs in its own order
      const until = new Date(this.now().getTime() + ttlMs);
      for (const id of [...ids].sort()) {
        await this.prisma.run.updateMany({ where: { id, status: 'RUNNING', leaseOwner: owner }, data: { leaseExpiresAt: until } });
      }
      const rows = await this.prisma.run.findMany({ where: { id: { in: [...ids] } }, select: { id: true, status: true, leaseOwner: true, cancelRequested: true } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => {
        const r = byId.get(id);
        return { id, held: r !== undefined && r.status === 'RUNNING' && r.leaseOwner === owner, cancelRequested: r?.cancelRequested ?? false };
      });
    });
  }

  async expiredLeaseIds(now: Date, limit: number = MAX_PAGE_SIZE): Promise<string[]> {
    requireInt(limit, 'limit', 1);
    return this.guard('expiredLeaseIds', async () => {
      const rows = await this.prisma.run.findMany({
        where: { status: 'RUNNING', OR: [{ leaseExpiresAt: null }, { leaseExpiresAt: { lt: now } }] },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
        select: { id: true },
      });
      return rows.map((r) => r.id);
    });
  }

  async saveCheckpoint(id: string, owner: string, checkpoint: StoredCheckpoint): Promise<boolean> {
    requireInt(checkpoint.step, 'step', 1);
    return this.guard('saveCheckpoint', async () => {
      const { count } = await this.prisma.run.updateMany({
        where: { id, status: 'RUNNING', leaseOwner: owner },
        data: { checkpoint: new Uint8Array(checkpoint.bytes), checkpointStep: checkpoint.step },
      });
      return count === 1;
    });
  }

  async loadCheckpoint(id: string): Promise<StoredCheckpoint | null> {
    return this.guard('loadCheckpoint', async () => {
      const row = await this.prisma.run.findUnique({ where: { id }, select: { checkpoint: true, checkpointStep: true } });
      if (!row?.checkpoint || row.checkpointStep === 0) return null;
      return { step: row.checkpointStep, bytes: new Uint8Array(row.checkpoint) };
    });
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
      const row = await this.prisma.run.findUnique({ where: { id }, select: RUN_COLUMNS });
      if (!row) throw notFound(id);
      return { applied: count === 1, run: toRecord(row) };
    });
  }

  async markSucceeded(id: string, result: RunResult, owner?: string): Promise<TransitionResult> {
    if (result.stepsDone !== undefined) requireInt(result.stepsDone, 'stepsDone', 0);
    const r = await this.apply(
      'markSucceeded',
      id,
      transition('RUNNING', 'SUCCEEDED'),
      {
        finishedAt: this.now(),
        outputKey: result.outputKey,
        timings: jsonText(result.timings),
        metrics: jsonText(result.metrics),
        ...(result.stepsDone !== undefined ? { stepsDone: result.stepsDone } : {}),
        ...NO_LEASE,
      },
      ownedBy(owner),
    );
    if (r.applied) await this.guard('markSucceeded', () => addArtifactRefs(this.prisma, id, [result.outputKey]));
    return r;
  }

  async markFailed(id: string, code: string, message: string, owner?: string): Promise<TransitionResult> {
    return this.apply('markFailed', id, transition('RUNNING', 'FAILED'), { finishedAt: this.now(), errorCode: code, errorMessage: message, ...NO_LEASE }, ownedBy(owner));
  }

  async markCancelled(id: string, owner?: string): Promise<TransitionResult> {
    return this.apply('markCancelled', id, transition(['QUEUED', 'RUNNING'], 'CANCELLED'), { finishedAt: this.now(), ...NO_LEASE }, ownedBy(owner));
  }

  async failQueued(id: string, code: string, message: string): Promise<TransitionResult> {
    return this.apply('failQueued', id, transition('QUEUED', 'FAILED'), { finishedAt: this.now(), errorCode: code, errorMessage: message });
  }

  async requestCancel(id: string): Promise<RunRecord> {
    // Re-read and retry when the run moved between the read and the conditional update.
    for (;;) {
      const row = await this.guard('requestCancel', () => this.prisma.run.findUnique({ where: { id }, select: RUN_COLUMNS }));
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

  async delete(id: string): Promise<string[]> {
    return this.guard('delete', async () => {
      const orphaned = await this.prisma.$transaction(async (tx) => {
        const { count } = await tx.run.deleteMany({ where: { id, status: { in: [...TERMINAL_STATUSES] } } });
        if (count === 0) return null;
        const refs = await tx.artifactRef.findMany({ where: { runId: id }, select: { key: true } });
        await tx.artifactRef.deleteMany({ where: { runId: id } });
        const keys = refs.map((r) => r.key);
        const still = await tx.artifactRef.findMany({ where: { key: { in: keys } }, select: { key: true }, distinct: ['key'] });
        const kept = new Set(still.map((r) => r.key));
        return keys.filter((k) => !kept.has(k));
      });
      if (orphaned) return orphaned;
      const row = await this.prisma.run.findUnique({ where: { id }, select: { status: true } });
      if (!row) throw notFound(id);
      throw new CodedError('run/not_deletable', `Run ${id} is ${row.status}; only finished runs can be deleted`, {
        id,
        status: row.status,
      });
    });
  }

  async recoverRun(id: string, maxAttempts: number, options: { leaseExpiredBy?: Date } = {}): Promise<TransitionResult> {
    requireInt(maxAttempts, 'maxAttempts', 1);
    const now = this.now();
    const expired: Prisma.RunWhereInput = options.leaseExpiredBy ? { OR: [{ leaseExpiresAt: null }, { leaseExpiresAt: { lt: options.leaseExpiredBy } }] } : {};
    const cancelled = await this.apply('recoverRun', id, transition('RUNNING', 'CANCELLED'), { finishedAt: now, ...NO_LEASE }, { ...expired, cancelRequested: true });
    if (cancelled.applied || cancelled.run.status !== 'RUNNING') return cancelled;
    const requeued = await this.apply('recoverRun', id, transition('RUNNING', 'QUEUED'), { stepsDone: 0, ...NO_LEASE }, { ...expired, attempts: { lt: maxAttempts } });
    if (requeued.applied || requeued.run.status !== 'RUNNING') return requeued;
    return this.apply(
      'recoverRun',
      id,
      transition('RUNNING', 'FAILED'),
      {
        finishedAt: now,
        errorCode: RUN_INTERRUPTED,
        errorMessage:
          `The run was interrupted (its worker stopped while it was running and its lease expired) and had used all ` +
          `${maxAttempts} attempt${maxAttempts === 1 ? '' : 's'}; it was not retried.`,
        ...NO_LEASE,
      },
      expired,
    );
  }

  async requeue(id: string, owner?: string): Promise<boolean> {
    const r = await this.apply('requeue', id, transition('RUNNING', 'QUEUED'), { stepsDone: 0, attempts: { decrement: 1 }, ...NO_LEASE }, { ...ownedBy(owner), attempts: { gt: 0 } }).catch((e) => {
      if (e instanceof CodedError && e.code === 'run/not_found') return { applied: false };
      throw e;
    });
    return r.applied;
  }

  async appendEvent(runId: string, event: NewRunEvent): Promise<RunEventRecord> {
    checkNewEvent(event);
    return this.guard('appendEvent', async () => {
      try {
        const row = await this.prisma.$transaction(async (tx) => {
          // the run's row first: under a lease, a writer that lost it is refused before it writes
          const { count } = await tx.run.updateMany({
            where: { id: runId, lastSeq: { lt: event.seq }, ...(event.owner !== undefined ? { status: 'RUNNING', leaseOwner: event.owner } : {}) },
            data: { lastSeq: event.seq, ...(event.stepsDone !== undefined ? { stepsDone: event.stepsDone } : {}) },
          });
          if (count === 0 && event.owner !== undefined) {
            const run = await tx.run.findUnique({ where: { id: runId }, select: { lastSeq: true, status: true, leaseOwner: true } });
            if (!run) throw notFound(runId);
            throw leaseRefusal(runId, event.seq, event.owner, run);
          }
          await addArtifactRefs(tx, runId, artifactKeysOf(event.payload));
          return tx.runEvent.create({
            data: { runId, seq: event.seq, type: event.type, payload: JSON.stringify(event.payload ?? null), createdAt: this.now() },
          });
        });
        return toEventRecord(row);
      } catch (e) {
        switch (prismaCode(e)) {
          case 'P2002':
            throw duplicateEvent(runId, event.seq);
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

  async referencedKeys(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    return this.guard('referencedKeys', async () => {
      const rows = await this.prisma.artifactRef.findMany({ where: { key: { in: [...keys] } }, select: { key: true }, distinct: ['key'] });
      return new Set(rows.map((r) => r.key));
    });
  }

  async countActive(ownerId: string | null): Promise<number> {
    return this.guard('countActive', () => this.prisma.run.count({ where: { ownerId, status: { in: ['QUEUED', 'RUNNING'] } } }));
  }

  async countsByStatus(): Promise<RunCounts> {
    return this.guard('countsByStatus', async () => {
      const groups = await this.prisma.run.groupBy({ by: ['status'], _count: { _all: true } });
      const counts: { [S in RunStatus]: number } = { QUEUED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0 };
      for (const g of groups) counts[asStatus(g.status)] = g._count._all;
      return counts;
    });
  }

  /**
   * Several events in one transaction (the embedded database commits once for a whole batched
   * step rather than once per run), each checked and written as appendEvent does it; a refused
   * event is skipped and its error returned in its place. Should the batch trip over a write
   * racing it (a key violation its checks did not foresee, a deadlock), each event is retried
   * alone through appendEvent.
   */
  async appendEvents(events: readonly RunEventAppend[]): Promise<RunEventAppendOutcome[]> {
    type Outcome = RunEventAppendOutcome;
    const out: (Outcome | undefined)[] = events.map((e) => {
      try {
        checkNewEvent(e);
        return undefined;
      } catch (error) {
        return { ok: false, error: error as Error };
      }
    });
    const todo = events.map((e, i) => ({ e, i })).filter(({ i }) => out[i] === undefined);
    if (todo.length === 0) return out as Outcome[];
    // one lock order for every writer (PostgreSQL row locks): by run, a run's events as given
    todo.sort((a, b) => (a.e.runId < b.e.runId ? -1 : a.e.runId > b.e.runId ? 1 : a.i - b.i));
    return this.guard('appendEvents', async () => {
      let done: [number, Outcome][];
      try {
        done = await this.prisma.$transaction(async (tx) => {
          const rows: RunEventRow[] = [];
          const results: [number, Outcome][] = [];
          for (const { e, i } of todo) {
            const { runId, seq, owner } = e;
            const { count } = await tx.run.updateMany({
              where: { id: runId, lastSeq: { lt: seq }, ...(owner !== undefined ? { status: 'RUNNING', leaseOwner: owner } : {}) },
              data: { lastSeq: seq, ...(e.stepsDone !== undefined ? { stepsDone: e.stepsDone } : {}) },
            });
            if (count === 0) {
              const run = await tx.run.findUnique({ where: { id: runId }, select: { status: true, leaseOwner: true } });
              if (!run) {
                results.push([i, { ok: false, error: notFound(runId) }]);
                continue;
              }
              if (owner !== undefined) {
                results.push([i, { ok: false, error: leaseRefusal(runId, seq, owner, run) }]);
                continue;
              }
              // without an owner, appendEvent writes the event all the same unless its seq is taken
              if (rows.some((r) => r.runId === runId && r.seq === seq) || (await tx.runEvent.findUnique({ where: { runId_seq: { runId, seq } }, select: { seq: true } }))) {
                results.push([i, { ok: false, error: duplicateEvent(runId, seq) }]);
                continue;
              }
            }
            await addArtifactRefs(tx, runId, artifactKeysOf(e.payload));
            const row: RunEventRow = { runId, seq, type: e.type, payload: JSON.stringify(e.payload ?? null), createdAt: this.now() };
            rows.push(row);
            results.push([i, { ok: true, event: toEventRecord(row) }]);
          }
          if (rows.length > 0) await tx.runEvent.createMany({ data: rows });
          return results;
        });
      } catch (err) {
        // P2002/P2003: a write raced the batch past its checks. P2034: PostgreSQL broke a deadlock
        // by aborting this transaction: it holds several runs' rows at once, and another one
        // (renewLeases' multi-row update) may take the same rows in another order. Either way,
        // each event alone, one row lock at a time, as appendEvent has it.
        const code = prismaCode(err);
        if (code !== 'P2002' && code !== 'P2003' && code !== 'P2034') throw err;
        done = [];
        for (const { e, i } of todo) {
          done.push([i, await this.appendEvent(e.runId, e).then((event): Outcome => ({ ok: true, event }), (error: Error): Outcome => ({ ok: false, error }))]);
        }
      }
      for (const [i, o] of done) out[i] = o;
      return out as Outcome[];
    });
  }
}
