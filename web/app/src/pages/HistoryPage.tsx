/** Run history: Query.runs with cursor paging, filters by status and pack; open or delete a run. */
import { useCallback, useEffect, useState } from 'react';
import { Alert, Button, Card, Group, Image, Select, Stack, Table, Text } from '@mantine/core';
import { gql, type ApiError } from '../api';
import { StatusBadge } from '../components/RunPanel';
import { STATUSES, TERMINAL, type Pack, type RunStatus, type RunSummary } from '../types';
import { AppDeleteRunDocument, AppRunsDocument, type RunFilter } from '../../../shared/gql/graphql';

const PAGE = 20;

export function HistoryPage({ packs, active, open }: { packs: Pack[]; active: boolean; open(id: string): void }) {
  const [status, setStatus] = useState<RunStatus | null>(null);
  const [task, setTask] = useState<string | null>(null);
  const [rows, setRows] = useState<RunSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const [total, setTotal] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      setLoading(true);
      setError(null);
      try {
        const filter: RunFilter = {};
        if (status) filter.status = status;
        if (task) filter.task = task;
        const d = await gql(AppRunsDocument, { filter, first: PAGE, after });
        const nodes = d.runs.edges.map((e) => e.node);
        setRows((prev) => (after ? prev.concat(nodes) : nodes));
        setCursor(d.runs.pageInfo.endCursor);
        setMore(d.runs.pageInfo.hasNextPage);
        setTotal(d.runs.totalCount);
      } catch (e) {
        setError(e as ApiError);
      } finally {
        setLoading(false);
      }
    },
    [status, task],
  );

  useEffect(() => {
    if (active) void load(null);
  }, [active, load]);

  const remove = async (id: string) => {
    try {
      await gql(AppDeleteRunDocument, { id });
      setRows((r) => r.filter((x) => x.id !== id));
    } catch (e) {
      setError(e as ApiError);
    }
  };

  return (
    <Card withBorder radius="md" padding="md">
      <Stack gap="sm">
        <Group align="flex-end">
          <Select label="Status" placeholder="any" clearable data={STATUSES} value={status} onChange={(v) => setStatus(v as RunStatus | null)} data-testid="filter-status" w={180} />
          <Select label="Pack" placeholder="any" clearable data={packs.map((p) => p.name)} value={task} onChange={setTask} data-testid="filter-pack" w={180} />
          <Button variant="default" onClick={() => void load(null)} loading={loading} data-testid="history-refresh">
            Refresh
          </Button>
          {total !== null && (
            <Text size="sm" c="dimmed" data-testid="history-count">
              {rows.length} of {total} runs
            </Text>
          )}
        </Group>
        {error && (
          <Alert color="red" title={error.code ?? 'error'}>
            {error.message}
          </Alert>
        )}
        <Table highlightOnHover data-testid="history-table" verticalSpacing={4}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>created</Table.Th>
              <Table.Th>pack</Table.Th>
              <Table.Th>sampler</Table.Th>
              <Table.Th>status</Table.Th>
              <Table.Th>steps</Table.Th>
              <Table.Th>source → result</Table.Th>
              <Table.Th>PSNR / SSIM</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.id} data-testid="history-row" data-run-id={r.id} style={{ cursor: 'pointer' }} onClick={() => open(r.id)}>
                <Table.Td>
                  <Text size="xs">{new Date(r.createdAt).toLocaleString()}</Text>
                  <Text size="xs" c="dimmed" ff="monospace">
                    {r.id.slice(0, 8)}
                  </Text>
                </Table.Td>
                <Table.Td>{r.task}</Table.Td>
                <Table.Td>{r.sampler}</Table.Td>
                <Table.Td>
                  <StatusBadge status={r.status} />
                </Table.Td>
                <Table.Td>
                  {r.stepsDone} / {r.totalSteps}
                </Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Image src={r.sourceUrl} w={32} h={32} style={{ imageRendering: 'pixelated' }} alt="source" />
                    {r.outputUrl && <Image src={r.outputUrl} w={32} h={32} style={{ imageRendering: 'pixelated' }} alt="result" />}
                  </Group>
                </Table.Td>
                <Table.Td>{r.metrics ? `${r.metrics.psnr.toFixed(1)} dB / ${r.metrics.ssim.toFixed(3)}` : '–'}</Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Button size="compact-xs" variant="light" onClick={(e) => (e.stopPropagation(), open(r.id))} data-testid="history-open">
                      Open
                    </Button>
                    {TERMINAL.includes(r.status) && (
                      <Button size="compact-xs" variant="subtle" color="red" onClick={(e) => (e.stopPropagation(), void remove(r.id))} data-testid="history-delete">
                        Delete
                      </Button>
                    )}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {rows.length === 0 && !loading && (
          <Text c="dimmed" size="sm" data-testid="history-empty">
            No runs{status || task ? ' match the filters' : ' yet'}.
          </Text>
        )}
        {more && (
          <Button variant="default" onClick={() => void load(cursor)} loading={loading} data-testid="history-more">
            Load more
          </Button>
        )}
      </Stack>
    </Card>
  );
}
