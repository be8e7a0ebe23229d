/**
 * What a run's event log holds and what subscribers receive: one shape for the persisted log
 * (replay by seq) and the live bus.
 */
import type { RunEventRecord, RunEventType, RunStatus } from '../runs';

export interface StepPayload {
  step: number;
  totalSteps: number;
  t: number;
  energies: { realism: number; faithfulness: number } | null;
  previewKey: string | null;
}

export interface RunEventView {
  runId: string;
  seq: number;
  type: RunEventType;
  createdAt: Date;
  status?: RunStatus;
  step?: StepPayload;
  outputKey?: string;
  error?: { code: string; message: string };
}

export type EventPayload =
  | { type: 'STATUS'; status: RunStatus }
  | { type: 'STEP'; step: StepPayload }
  | { type: 'RESULT'; outputKey: string }
  | { type: 'ERROR'; error: { code: string; message: string } }
  | { type: 'CANCELLED' };

export function isTerminalEvent(type: RunEventType): boolean {
  return type === 'RESULT' || type === 'ERROR' || type === 'CANCELLED';
}

export function viewOf(runId: string, seq: number, createdAt: Date, p: EventPayload): RunEventView {
  const { type, ...rest } = p;
  return { runId, seq, type, createdAt, ...rest };
}

export function viewOfRecord(r: RunEventRecord): RunEventView {
  return viewOf(r.runId, r.seq, r.createdAt, { type: r.type, ...(r.payload as object) } as EventPayload);
}
