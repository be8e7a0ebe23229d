/** EGSDE, SDEdit and ILVR on one image with one seed: three translations, three live panels. */
import { useState } from 'react';
import { Alert, Button, Card, Grid, SimpleGrid, Stack, Text } from '@mantine/core';
import { gql, type ApiError } from '../api';
import { PackPicker } from '../components/PackPicker';
import { ParamsForm, defaultParams, paramsValid, randomSeed, toInput } from '../components/ParamsForm';
import { RunPanel } from '../components/RunPanel';
import { SourcePicker, type Source } from '../components/SourcePicker';
import { SAMPLERS, type Pack, type ParamsValue, type Sampler } from '../types';
import { AppTranslateDocument } from '../../../shared/gql/graphql';

export function ComparePage({ packs }: { packs: Pack[] }) {
  const [pack, setPack] = useState<Pack | null>(packs[0] ?? null);
  const [params, setParams] = useState<ParamsValue | null>(packs[0] ? defaultParams(packs[0]) : null);
  const [source, setSource] = useState<Source | null>(null);
  const [runs, setRuns] = useState<{ sampler: Sampler; id: string }[]>([]);
  const [seed, setSeed] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async () => {
    if (!pack || !params || !source) return;
    setBusy(true);
    setError(null);
    const s = params.seed.trim() || randomSeed();
    try {
      const ids = await Promise.all(
        SAMPLERS.map((sampler) => gql(AppTranslateDocument, { input: { task: pack.name, image: source.dataUrl, params: toInput(params, { sampler, seed: s }) } }).then((d) => ({ sampler, id: d.translate.id }))),
      );
      setRuns(ids);
      setSeed(s);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Grid gutter="lg">
      <Grid.Col span={{ base: 12, lg: 3 }}>
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
            {pack && params && <ParamsForm pack={pack} value={params} onChange={setParams} hideSampler />}
            <Button onClick={submit} loading={busy} disabled={!source || !pack || !params || !paramsValid(params)} data-testid="compare">
              Compare EGSDE · SDEdit · ILVR
            </Button>
            {error && (
              <Alert color="red" title={error.code ?? 'error'} data-testid="compare-error">
                {error.message}
              </Alert>
            )}
          </Stack>
        </Card>
      </Grid.Col>
      <Grid.Col span={{ base: 12, lg: 9 }}>
        {runs.length ? (
          <Stack gap="xs">
            <Text size="sm" c="dimmed" data-testid="compare-seed">
              seed {seed} for all three
            </Text>
            <SimpleGrid cols={{ base: 1, md: 3 }} spacing="md" data-testid="compare-panels">
              {runs.map((r) => (
                <RunPanel key={r.id} runId={r.id} title={r.sampler === 'SDEDIT' ? 'SDEdit' : r.sampler} compact />
              ))}
            </SimpleGrid>
          </Stack>
        ) : (
          <Card withBorder radius="md" padding="xl">
            <Text c="dimmed">One source, one seed, three samplers: EGSDE (energy-guided), SDEdit (no guidance) and ILVR (low-pass replacement), side by side.</Text>
          </Card>
        )}
      </Grid.Col>
    </Grid>
  );
}
