/** A run's parameters within their limits, starting from the pack's defaults. */
import { Button, Group, NumberInput, SegmentedControl, Select, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { ENERGIES, SAMPLERS, type Energy, type Pack, type ParamsValue, type RunParamsInput, type Sampler } from '../types';

export const MAX_SEED = 2 ** 32 - 1;

export function randomSeed(): string {
  return String(Math.floor(Math.random() * MAX_SEED));
}

export function defaultParams(pack: Pack): ParamsValue {
  const d = pack.defaults;
  return { sampler: d.sampler, M: d.M, steps: d.steps, lambdaS: d.lambdaS, lambdaI: d.lambdaI, s1: d.s1, s2: d.s2, repeats: d.repeats, seed: '', previewEvery: 10 };
}

/** The translate input's params: the seed only when given. */
export function toInput(p: ParamsValue, over: Partial<ParamsValue> = {}): RunParamsInput {
  const q = { ...p, ...over };
  const { seed, ...rest } = q;
  return seed.trim() === '' ? rest : { ...rest, seed: seed.trim() };
}

const int = (v: string | number, d: number) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : d);

export function ParamsForm({ pack, value, onChange, hideSampler = false }: { pack: Pack; value: ParamsValue; onChange(p: ParamsValue): void; hideSampler?: boolean }) {
  const set = (patch: Partial<ParamsValue>) => {
    const next = { ...value, ...patch };
    if (next.steps > next.M) next.steps = next.M;
    onChange(next);
  };
  const egsde = hideSampler || value.sampler === 'EGSDE';
  const seedOk = value.seed.trim() === '' || (/^\d+$/.test(value.seed.trim()) && Number(value.seed) <= MAX_SEED);
  return (
    <Stack gap="xs">
      {!hideSampler && (
        <div>
          <Text size="sm" fw={500} mb={4}>
            Sampler
          </Text>
          <SegmentedControl data-testid="sampler" fullWidth value={value.sampler} onChange={(v) => set({ sampler: v as Sampler })} data={SAMPLERS.map((s) => ({ value: s, label: s === 'SDEDIT' ? 'SDEdit' : s }))} />
        </div>
      )}
      <SimpleGrid cols={2} spacing="xs">
        <NumberInput label="start time M" description={`1..${pack.numTimesteps}`} min={1} max={pack.numTimesteps} value={value.M} onChange={(v) => set({ M: int(v, value.M) })} clampBehavior="strict" data-testid="param-M" />
        <NumberInput label="steps" description={`2..M (${value.M})`} min={2} max={value.M} value={value.steps} onChange={(v) => set({ steps: int(v, value.steps) })} clampBehavior="strict" data-testid="param-steps" />
        {egsde && (
          <>
            <NumberInput label="λs (realism)" description="≥ 0" min={0} decimalScale={3} value={value.lambdaS} onChange={(v) => set({ lambdaS: typeof v === 'number' ? v : value.lambdaS })} data-testid="param-lambdaS" />
            <NumberInput label="λi (faithfulness)" description="≥ 0" min={0} decimalScale={3} value={value.lambdaI} onChange={(v) => set({ lambdaI: typeof v === 'number' ? v : value.lambdaI })} data-testid="param-lambdaI" />
            <Select label="s1 (realism energy)" data={ENERGIES} value={value.s1} onChange={(v) => v && set({ s1: v as Energy })} allowDeselect={false} />
            <Select label="s2 (faithfulness energy)" data={ENERGIES} value={value.s2} onChange={(v) => v && set({ s2: v as Energy })} allowDeselect={false} />
          </>
        )}
        <NumberInput label="repeats" description="1..100" min={1} max={100} value={value.repeats} onChange={(v) => set({ repeats: int(v, value.repeats) })} clampBehavior="strict" />
        <NumberInput label="preview every" description="steps; 0: none" min={0} max={value.steps} value={value.previewEvery} onChange={(v) => set({ previewEvery: int(v, value.previewEvery) })} clampBehavior="strict" data-testid="param-previewEvery" />
      </SimpleGrid>
      <Group align="flex-end" gap="xs" wrap="nowrap">
        <TextInput style={{ flex: 1 }} label="seed" description={`0..${MAX_SEED}; empty: random`} value={value.seed} error={seedOk ? undefined : 'an integer 0 .. 2^32 - 1'} onChange={(e) => set({ seed: e.currentTarget.value })} data-testid="param-seed" />
        <Button variant="default" onClick={() => set({ seed: randomSeed() })} data-testid="random-seed">
          random
        </Button>
      </Group>
      <Button variant="subtle" size="xs" onClick={() => onChange(defaultParams(pack))}>
        reset to the pack's defaults
      </Button>
    </Stack>
  );
}

export function paramsValid(p: ParamsValue): boolean {
  return p.seed.trim() === '' || (/^\d+$/.test(p.seed.trim()) && Number(p.seed) <= MAX_SEED);
}
