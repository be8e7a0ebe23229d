/**
 * The run state machine (a small explicit one, BullMQ/pg-boss style):
 *
 *   QUEUED ──claim──▶ RUNNING ──succeed──▶ SUCCEEDED
 *     │                 │  │  └──fail────▶ FAILED
 *     │                 │  └────cancel───▶ CANCELLED
 *     ├──cancel─────────┼────────────────▶ CANCELLED
 *     └──no worker──────┼────────────────▶ FAILED (run/no_worker: no live worker has its pack)
 *                       └──requeue / recover──▶ QUEUED (shutdown, or a crash with attempts left)
 *
 * Every status change of every adapter goes through {@link transition}: it names the edge, and the
 * adapter applies it as one conditional update (`... WHERE id = ? AND status IN (from)`), so of two
 * racing changes exactly one applies.
 */
import { CodedError } from '../errors';

export const RUN_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_EVENT_TYPES = ['STEP', 'STATUS', 'RESULT', 'ERROR', 'CANCELLED'] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/** The allowed transitions. RUNNING -> QUEUED is taken only by requeue (shutdown) and recovery. */
export const RUN_TRANSITIONS: { readonly [S in RunStatus]: readonly RunStatus[] } = {
  QUEUED: ['RUNNING', 'CANCELLED', 'FAILED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'QUEUED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
};

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

/** One edge (or several with one target) of the state machine, checked. */
export interface Transition {
  readonly from: readonly RunStatus[];
  readonly to: RunStatus;
}

/** The one gate every status change passes: throws a programming error for an edge that is not in the machine. */
export function transition(from: RunStatus | readonly RunStatus[], to: RunStatus): Transition {
  const froms: readonly RunStatus[] = typeof from === 'string' ? [from] : from;
  for (const f of froms) {
    if (!canTransition(f, to)) throw new Error(`run state machine: ${f} -> ${to} is not a transition`);
  }
  return { from: froms, to };
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

export function isRunStatus(s: unknown): s is RunStatus {
  return typeof s === 'string' && (RUN_STATUSES as readonly string[]).includes(s);
}

export function isRunEventType(s: unknown): s is RunEventType {
  return typeof s === 'string' && (RUN_EVENT_TYPES as readonly string[]).includes(s);
}

/** The error code stored on runs that recovery gives up on. */
export const RUN_INTERRUPTED = 'run/interrupted' as const;

/** The error code of a queued run that no live worker could take in time. */
export const RUN_NO_WORKER = 'run/no_worker' as const;

export function runNotFound(id: string): CodedError {
  return new CodedError('run/not_found', `no run ${id}`, { id });
}
