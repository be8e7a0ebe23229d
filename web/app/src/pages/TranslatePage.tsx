/** Translate one image: pack, source, sampler and parameters; then the run, live. */
import { useEffect, useState } from 'react';
import { Alert, Button, Card, Grid, Stack, Text } from '@mantine/core';
import { gql } from '../api';
import { toInput } from '../components/ParamsForm';
import { RunPanel } from '../components/RunPanel';
import { TranslationFields } from '../components/TranslationFields';
import type { Pack } from '../types';
import { useTranslationForm } from '../useTranslationForm';
import { AppTranslateDocument } from '../../../shared/gql/graphql';

export function TranslatePage({ packs }: { packs: Pack[] }) {
  const form = useTranslationForm(packs);
  const [runId, setRunId] = useState<string | null>(null);

  const { pack, choosePack } = form;
  useEffect(() => {
    if (!pack && packs[0]) choosePack(packs[0]);
  }, [packs, pack, choosePack]);

  const submit = () =>
    form.submit(async (p, params, source) => {
      const d = await gql(AppTranslateDocument, { input: { task: p.name, image: source.dataUrl, params: toInput(params) } });
      setRunId(d.translate.id);
    });

  return (
    <Grid gutter="lg">
      <Grid.Col span={{ base: 12, md: 5 }}>
        <Card withBorder radius="md" padding="md">
          <Stack gap="sm">
            <TranslationFields packs={packs} form={form} />
            <Button onClick={submit} loading={form.busy} disabled={!form.ready} data-testid="translate">
              Translate
            </Button>
            {!form.source && (
              <Text size="xs" c="dimmed">
                Pick a source image first.
              </Text>
            )}
            {form.error && (
              <Alert color="red" title={form.error.code ?? 'error'} data-testid="translate-error">
                {form.error.message}
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
