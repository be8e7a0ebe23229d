/**
 * A run, live: its record (AppRun), then its events from seq 0 (a finished run replays its whole
 * log), step by step: progress, ETA (from the STEP events' timestamps), the newest preview, the
 * energies. Re-reads the record when the run ends (metrics, output URL).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, followRun, gql } from './api';
import { AppRunDocument } from '../../shared/gql/graphql';
import type { EnergyPoint } from './components/EnergyChart';
import { TERMINAL, type Run, type RunEvent, type RunStatus } from './types';

export interface LiveRun {
  run: Run | null;
  status: RunStatus | null;
  step: number;
  totalSteps: number;
  previewUrl: string | null;
  /** distinct preview frames seen, in order */
  previews: string[];
  energies: EnergyPoint[];
  outputUrl: string | null;
  etaSeconds: number | null;
  stepsPerSecond: number | null;
  lastSeq: number;
  /** seqs that never arrived (always 0 unless the service broke its promise) */
  gaps: number;
  events: number;
  terminal: boolean;
  error: ApiError | null;
  reload(): void;
}

export function useRun(id: string | null): LiveRun {
  const [run, setRun] = useState<Run | null>(null);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [ended, setEnded] = useState(false);
  const [reloads, setReloads] = useState(0);
  const gaps = useRef(0);

  useEffect(() => {
    setRun(null);
    setEvents([]);
    setError(null);
    setEnded(false);
    gaps.current = 0;
    if (!id) return;
    let alive = true;
    let last = 0;
    const refresh = () =>
      gql(AppRunDocument, { id })
        .then((d) => alive && setRun(d.run))
        .catch((e: ApiError) => alive && setError(e));
    void refresh();
    // while it waits, its place in the queue (Run.queuePosition)
    let queued = true;
    const queuePoll = setInterval(() => {
      if (queued) void refresh();
    }, 1500);
    // batch the events of one tick (a replay brings hundreds at once)
    let pending: RunEvent[] = [];
    let flush: number | null = null;
    const stop = followRun(id, 0, {
      event: (e) => {
        if (e.status && e.status !== 'QUEUED') queued = false;
        if (e.type === 'STEP') queued = false;
        if (e.seq !== last + 1) gaps.current += e.seq - last - 1;
        last = e.seq;
        pending.push(e);
        if (flush === null)
          flush = requestAnimationFrame(() => {
            flush = null;
            const batch = pending;
            pending = [];
            if (alive) setEvents((prev) => prev.concat(batch));
          });
        if (e.terminal) void refresh();
      },
      done: () => {
        if (!alive) return;
        setEnded(true);
        void refresh();
      },
      error: (e) => alive && setError(e),
    });
    return () => {
      alive = false;
      clearInterval(queuePoll);
      if (flush !== null) cancelAnimationFrame(flush);
      stop();
    };
  }, [id, reloads]);

  return useMemo(() => {
    let status: RunStatus | null = run?.status ?? null;
    let step = 0;
    let totalSteps = run?.totalSteps ?? 0;
    let previewUrl: string | null = null;
    let outputUrl: string | null = null;
    let terminal = false;
    const previews: string[] = [];
    const energies: EnergyPoint[] = [];
    const steps: { step: number; at: number }[] = [];
    for (const e of events) {
      if (e.status) status = e.status;
      if (e.type === 'STEP' && e.step != null) {
        step = e.step;
        if (e.totalSteps) totalSteps = e.totalSteps;
        steps.push({ step: e.step, at: Date.parse(e.createdAt) });
        if (e.energies) energies.push({ step: e.step, realism: e.energies.realism, faithfulness: e.energies.faithfulness });
        if (e.previewUrl) {
          previewUrl = e.previewUrl;
          previews.push(e.previewUrl);
        }
      }
      if (e.type === 'RESULT') {
        status = 'SUCCEEDED';
        outputUrl = e.outputUrl;
        step = totalSteps;
      }
      if (e.type === 'CANCELLED') status = 'CANCELLED';
      if (e.type === 'ERROR') status = 'FAILED';
      if (e.terminal) terminal = true;
    }
    if (run && TERMINAL.includes(run.status)) {
      terminal = true;
      status = run.status;
      if (run.status === 'SUCCEEDED') step = totalSteps;
    }
    if (ended) terminal = true;
    // ETA: the rate over the last 20 steps, in the service's clock
    let etaSeconds: number | null = null;
    let stepsPerSecond: number | null = null;
    const w = steps.slice(-20);
    if (w.length < 2 && !terminal && run?.progress.etaSeconds != null) etaSeconds = run.progress.etaSeconds;
    if (w.length >= 2 && !terminal) {
      const dt = (w[w.length - 1].at - w[0].at) / 1000;
      const ds = w[w.length - 1].step - w[0].step;
      if (dt > 0 && ds > 0) {
        stepsPerSecond = ds / dt;
        etaSeconds = Math.max(0, (totalSteps - step) / stepsPerSecond);
      }
    }
    return {
      run,
      status,
      step,
      totalSteps,
      previewUrl,
      previews,
      energies,
      outputUrl: outputUrl ?? run?.outputUrl ?? null,
      etaSeconds,
      stepsPerSecond,
      lastSeq: events.length ? events[events.length - 1].seq : 0,
      gaps: gaps.current,
      events: events.length,
      terminal,
      error,
      reload: () => setReloads((n) => n + 1),
    };
  }, [run, events, error, ended]);
}
