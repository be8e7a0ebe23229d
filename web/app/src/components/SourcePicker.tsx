/** The source image: drop a file, choose one, or pick one of the chosen pack's samples (GET /samples/PACK/index.json). */
import { useEffect, useRef, useState } from 'react';
import { Button, Group, Image, Stack, Text, UnstyledButton } from '@mantine/core';

interface Sample {
  file: string;
  title: string;
}

function readAsDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}

export interface Source {
  dataUrl: string;
  name: string;
}

export function SourcePicker({ value, onChange, pack }: { value: Source | null; onChange(s: Source): void; pack: string | null }) {
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setSamples([]);
    if (!pack) return;
    let live = true;
    fetch(`/samples/${encodeURIComponent(pack)}/index.json`)
      .then((r) => (r.ok ? r.json() : []))
      .then((s: Sample[]) => live && setSamples(Array.isArray(s) ? s : []))
      .catch(() => live && setSamples([]));
    return () => {
      live = false;
    };
  }, [pack]);

  const take = async (f: File | Blob | undefined, name: string) => {
    if (!f) return;
    if (!/^image\/(png|jpeg|webp)$/.test(f.type)) {
      setError(`${name}: only PNG, JPEG and WebP images`);
      return;
    }
    setError(null);
    onChange({ dataUrl: await readAsDataUrl(f), name });
  };

  const pickSample = async (s: Sample) => {
    const r = await fetch(`/samples/${encodeURIComponent(pack!)}/${s.file}`);
    await take(await r.blob(), s.file);
  };

  return (
    <Stack gap="xs">
      <div
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const f = e.dataTransfer.files[0];
          void take(f, f?.name ?? 'dropped');
        }}
        style={{
          border: `2px dashed var(--mantine-color-${over ? 'blue-5' : 'gray-4'})`,
          borderRadius: 8,
          padding: 12,
          background: over ? 'var(--mantine-color-blue-0)' : undefined,
        }}
      >
        <Group wrap="nowrap">
          {value ? (
            <Image src={value.dataUrl} alt="source" w={72} h={72} radius="sm" style={{ imageRendering: 'pixelated' }} data-testid="picked-source" />
          ) : (
            <div style={{ width: 72, height: 72, borderRadius: 4, background: 'var(--mantine-color-gray-1)' }} />
          )}
          <Stack gap={4}>
            <Text size="sm">{value ? value.name : 'Drop a PNG, JPEG or WebP here'}</Text>
            <Group gap="xs">
              <Button size="xs" variant="default" onClick={() => input.current?.click()}>
                Choose file…
              </Button>
            </Group>
          </Stack>
        </Group>
        <input
          ref={input}
          type="file"
          accept="image/png,image/jpeg,image/webp"
          data-testid="file-input"
          style={{ display: 'none' }}
          onChange={(e) => {
            const f = e.currentTarget.files?.[0];
            void take(f, f?.name ?? 'file');
            e.currentTarget.value = '';
          }}
        />
      </div>
      {error && (
        <Text size="xs" c="red">
          {error}
        </Text>
      )}
      {pack && samples.length > 0 && (
        <Group gap="xs" data-testid="samples">
          <Text size="xs" c="dimmed">
            samples:
          </Text>
          {samples.map((s) => (
            <UnstyledButton key={s.file} onClick={() => void pickSample(s)} title={s.title} data-testid={`sample-${s.file}`}>
              <Image src={`/samples/${encodeURIComponent(pack)}/${s.file}`} alt={s.title} w={36} h={36} radius="sm" style={{ imageRendering: 'pixelated' }} />
            </UnstyledButton>
          ))}
        </Group>
      )}
    </Stack>
  );
}
