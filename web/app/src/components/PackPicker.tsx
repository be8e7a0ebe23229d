/** Choose the model pack; shows its domains, image size and defaults. */
import { Badge, Group, Select, Stack, Text } from '@mantine/core';
import type { Pack } from '../types';

export function PackPicker({ packs, value, onChange }: { packs: Pack[]; value: Pack | null; onChange(p: Pack): void }) {
  return (
    <Stack gap={6}>
      <Select
        label="Pack"
        data-testid="pack-select"
        data={packs.map((p) => ({ value: p.name, label: p.name }))}
        value={value?.name ?? null}
        onChange={(name) => {
          const p = packs.find((x) => x.name === name);
          if (p) onChange(p);
        }}
        allowDeselect={false}
      />
      {value && (
        <Stack gap={4} data-testid="pack-info">
          {value.description && (
            <Text size="xs" c="dimmed">
              {value.description}
            </Text>
          )}
          <Group gap={6}>
            {value.sourceDomains.map((d) => (
              <Badge key={d} variant="light" color="grape">
                {d}
              </Badge>
            ))}
            <Text size="sm">→</Text>
            <Badge variant="light" color="teal">
              {value.targetDomain}
            </Badge>
            <Text size="xs" c="dimmed">
              {value.imageSize} px · T = {value.numTimesteps}
            </Text>
          </Group>
          <Text size="xs" c="dimmed" ff="monospace" data-testid="pack-defaults">
            defaults: {value.defaults.sampler} M {value.defaults.M} steps {value.defaults.steps} λs {value.defaults.lambdaS} λi {value.defaults.lambdaI} {value.defaults.s1}/{value.defaults.s2} repeats {value.defaults.repeats} downN {value.defaults.downN}
          </Text>
        </Stack>
      )}
    </Stack>
  );
}
