/** Translate one image: pack, source, sampler and parameters; then the run, live. */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, Grid, Stack, Text } from '@mantine/core';
import { gql, type ApiError } from '../api';
import { PackPicker } from '../components/PackPicker';
import { ParamsForm, defaultParams, paramsValid, toInput } from '../components/ParamsForm';
import { RunPanel } from '../components/RunPanel';
import { SourcePicker, type Source } from '../components/SourcePicker';
import type { Pack, ParamsValue } from '../types';
import { AppTranslateDocument } from '../../../shared/gql/graphql';

export function TranslatePage({ packs }: { packs: Pack[] }) {
  const [pack, setPack] = useState<Pack | null>(packs[0] ?? null);
  const [params, setParams] = useState<ParamsValue | null>(packs[0] ? defaultParams(packs[0]) : null);
  const [source, setSource] = useState<Source | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    if (!pack && packs[0]) {
      setPack(packs[0]);
      setParams(defaultParams(packs[0]));
    }
  }, [packs, pack]);

  const submit = async () => {
    if (!pack || !params || !source) return;
    setBusy(true);
    setError(null);
    try {
      const d = await gql(AppTranslateDocument, { input: { task: pack.name, image: source.dataUrl, params: toInput(params) } });
      setRunId(d.translate.id);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Grid gutter="lg">
      <Grid.Col span={{ base: 12, md: 5 }}>
        <Card withBorder radius="md" padding="md">
          <Stack gap="sm">
            <PackPicker
              packs={packs}
              value={pack}
              onChange={(p) => {
                setPack(p);
                setParams(defaultParams(p));
              }}
            />
            <SourcePicker value={source} onChange={setSource} showSamples={pack?.name === 'demo'} />
            {pack && params && <ParamsForm pack={pack} value={params} onChange={setParams} />}
            <Button onClick={submit} loading={busy} disabled={!source || !pack || !params || !paramsValid(params)} data-testid="translate">
              Translate
            </Button>
            {!source && (
              <Text size="xs" c="dimmed">
                Pick a source image first.
              </Text>
            )}
            {error && (
              <Alert color="red" title={error.code ?? 'error'} data-testid="translate-error">
                {error.message}
              </Alert>
            )}
          </Stack>
        </Card>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 7 }}>
        {runId ? (
          <RunPanel key={runId} runId={runId} />
        ) : (
          <Card withBorder radius="md" padding="xl">
            <Text c="dimmed">The run appears here: the preview every N steps, progress, the energies, then the result and its metrics.</Text>
          </Card>
        )}
      </Grid.Col>
    </Grid>
  );
}
