/** EGSDE, SDEdit and ILVR on one image with one seed: three translations, three live panels. */
import { useState } from 'react';
import { Alert, Button, Card, Grid, SimpleGrid, Stack, Text } from '@mantine/core';
import { gql } from '../api';
import { randomSeed, toInput } from '../components/ParamsForm';
import { RunPanel } from '../components/RunPanel';
import { TranslationFields } from '../components/TranslationFields';
import { SAMPLERS, type Pack, type Sampler } from '../types';
import { useTranslationForm } from '../useTranslationForm';
import { AppTranslateDocument } from '../../../shared/gql/graphql';

export function ComparePage({ packs }: { packs: Pack[] }) {
  const form = useTranslationForm(packs);
  const [runs, setRuns] = useState<{ sampler: Sampler; id: string }[]>([]);
  const [seed, setSeed] = useState<string | null>(null);

  const submit = () =>
    form.submit(async (pack, params, source) => {
      const s = params.seed.trim() || randomSeed();
      const ids = await Promise.all(
        SAMPLERS.map((sampler) => gql(AppTranslateDocument, { input: { task: pack.name, image: source.dataUrl, params: toInput(params, { sampler, seed: s }) } }).then((d) => ({ sampler, id: d.translate.id }))),
      );
      setRuns(ids);
      setSeed(s);
    });

  return (
    <Grid gutter="lg">
      <Grid.Col span={{ base: 12, lg: 3 }}>
        <Card withBorder radius="md" padding="md">
          <Stack gap="sm">
            <TranslationFields packs={packs} form={form} hideSampler />
            <Button onClick={submit} loading={form.busy} disabled={!form.ready} data-testid="compare">
              Compare EGSDE · SDEdit · ILVR
            </Button>
            {form.error && (
              <Alert color="red" title={form.error.code ?? 'error'} data-testid="compare-error">
                {form.error.message}
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
