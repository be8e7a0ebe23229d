/** One run, live or replayed: source, preview / result, progress, ETA, energies, metrics, cancel. */
import { useState } from 'react';
import { Alert, Badge, Button, Card, Group, Image, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { gql, type ApiError } from '../api';
import { useRun } from '../useRun';
import { EnergyChart } from './EnergyChart';
import type { RunStatus } from '../types';
import { AppCancelRunDocument, AppDeleteRunDocument } from '../../../shared/gql/graphql';

const STATUS_COLOR: Record<RunStatus, string> = { QUEUED: 'gray', RUNNING: 'blue', SUCCEEDED: 'green', FAILED: 'red', CANCELLED: 'orange' };

export function StatusBadge({ status }: { status: RunStatus | null }) {
  return (
    <Badge data-testid="run-status" color={status ? STATUS_COLOR[status] : 'gray'} variant="light">
      {status ?? '…'}
    </Badge>
  );
}

export function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '–';
  if (s < 60) return `${Math.ceil(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function Picture({ src, label, testid, size }: { src: string | null | undefined; label: string; testid: string; size: number }) {
  return (
    <Stack gap={4} align="center">
      {src ? (
        <Image src={src} alt={label} data-testid={testid} w={size} h={size} radius="sm" style={{ imageRendering: 'pixelated', border: '1px solid var(--mantine-color-gray-3)' }} />
      ) : (
        <div data-testid={`${testid}-empty`} style={{ width: size, height: size, borderRadius: 4, background: 'var(--mantine-color-gray-1)', border: '1px dashed var(--mantine-color-gray-4)' }} />
      )}
      <Text size="xs" c="dimmed">
        {label}
      </Text>
    </Stack>
  );
}

export function RunPanel({ runId, title, compact = false, onDeleted }: { runId: string; title?: string; compact?: boolean; onDeleted?: () => void }) {
  const live = useRun(runId);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const queued = live.status === 'QUEUED' && !live.terminal;
  const queuePosition = live.run?.queuePosition ?? null;
  const pct = live.totalSteps ? Math.round((100 * live.step) / live.totalSteps) : 0;
  const size = compact ? 112 : 160;
  const sampler = live.run?.sampler;

  const cancel = async () => {
    setBusy(true);
    setActionError(null);
    try {
      await gql(AppCancelRunDocument, { id: runId });
    } catch (e) {
      setActionError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    setActionError(null);
    try {
      await gql(AppDeleteRunDocument, { id: runId });
      onDeleted?.();
    } catch (e) {
      setActionError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card withBorder padding="md" radius="md" data-testid="run-panel" data-run-id={runId} data-sampler={sampler ?? ''} data-terminal={live.terminal ? 'yes' : 'no'} data-gaps={live.gaps} data-last-seq={live.lastSeq}>
      <Stack gap="sm">
        <Group justify="space-between" wrap="nowrap">
          <Group gap="xs">
            <Title order={compact ? 5 : 4}>{title ?? sampler ?? 'Run'}</Title>
            <StatusBadge status={live.status} />
          </Group>
          <Group gap="xs">
            {!live.terminal && (
              <Button size="xs" color="red" variant="light" onClick={cancel} loading={busy} disabled={live.run?.cancelRequested} data-testid="cancel-run">
                Cancel
              </Button>
            )}
            {live.terminal && onDeleted && (
              <Button size="xs" color="red" variant="subtle" onClick={remove} loading={busy} data-testid="delete-run">
                Delete
              </Button>
            )}
          </Group>
        </Group>
        <Text size="xs" c="dimmed" ff="monospace">
          {runId}
          {live.run && ` · ${live.run.task} · seed ${live.run.seed} · M ${live.run.params.M} · ${live.run.params.steps} steps`}
          {live.run && live.run.sampler === 'EGSDE' && ` · λs ${live.run.params.lambdaS} · λi ${live.run.params.lambdaI}`}
        </Text>

        <Group gap="md" align="flex-start" wrap="nowrap">
          <Picture src={live.run?.sourceUrl} label="source" testid="source-img" size={size} />
          {live.outputUrl ? (
            <Picture src={live.outputUrl} label="result" testid="result-img" size={size} />
          ) : (
            <Picture src={live.previewUrl} label={live.previewUrl ? `preview (step ${live.step})` : 'preview'} testid="preview-img" size={size} />
          )}
        </Group>

        <div>
          <Progress value={pct} animated={!live.terminal && live.status === 'RUNNING'} color={live.status === 'CANCELLED' ? 'orange' : live.status === 'FAILED' ? 'red' : 'blue'} data-testid="progress" data-value={pct} />
          <Group justify="space-between" mt={4}>
            <Text size="sm" data-testid="progress-text">
              step {live.step} / {live.totalSteps || '?'} · {pct} %
            </Text>
            <Text size="sm" c="dimmed" data-testid="eta">
              {queued ? `queued${queuePosition !== null ? ` · position ${queuePosition} in the queue` : ''}` : live.terminal ? (live.run?.timings ? `${(live.run.timings.runMs / 1000).toFixed(1)} s, ${live.run.timings.msPerStep.toFixed(0)} ms/step` : '') : `ETA ${formatEta(live.etaSeconds)}${live.stepsPerSecond ? ` · ${live.stepsPerSecond.toFixed(1)} steps/s` : ''}`}
            </Text>
          </Group>
        </div>

        {sampler === 'EGSDE' || live.energies.length > 0 ? (
          <EnergyChart points={live.energies} width={compact ? 300 : 460} height={compact ? 140 : 180} />
        ) : (
          sampler && (
            <Text size="xs" c="dimmed">
              {sampler} uses no energy guidance: no energies to chart.
            </Text>
          )
        )}

        {live.run?.metrics && (
          <Table withTableBorder withColumnBorders data-testid="metrics" fz="sm">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>L2</Table.Th>
                <Table.Th>PSNR</Table.Th>
                <Table.Th>SSIM</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              <Table.Tr>
                <Table.Td data-testid="metric-l2">{live.run.metrics.l2.toFixed(4)}</Table.Td>
                <Table.Td data-testid="metric-psnr">{live.run.metrics.psnr.toFixed(2)} dB</Table.Td>
                <Table.Td data-testid="metric-ssim">{live.run.metrics.ssim.toFixed(4)}</Table.Td>
              </Table.Tr>
            </Table.Tbody>
          </Table>
        )}
        {live.run?.error && (
          <Alert color="red" title={live.run.error.code} data-testid="run-error">
            {live.run.error.message}
          </Alert>
        )}
        {(live.error || actionError) && (
          <Alert color="red" title={(live.error ?? actionError)!.code ?? 'error'} data-testid="api-error">
            {(live.error ?? actionError)!.message}
          </Alert>
        )}
      </Stack>
    </Card>
  );
}
