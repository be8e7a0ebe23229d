/**
 * The app: a header (API key, connection state) and four views by URL hash:
 *   #/ translate · #/compare · #/history · #/runs/<id> (one run, replayed or live)
 */
import { useEffect, useState } from 'react';
import { Alert, AppShell, Badge, Button, Group, Loader, PasswordInput, Popover, Stack, Tabs, Text, Title } from '@mantine/core';
import { connState, getApiKey, gql, onConnState, setApiKey, type ApiError, type ConnState } from './api';
import { RunPanel } from './components/RunPanel';
import { ComparePage } from './pages/ComparePage';
import { HistoryPage } from './pages/HistoryPage';
import { TranslatePage } from './pages/TranslatePage';
import type { Pack } from './types';
import { AppPacksDocument } from '../../shared/gql/graphql';

function useHash(): [string, (h: string) => void] {
  const [hash, setHash] = useState(() => location.hash.replace(/^#/, '') || '/');
  useEffect(() => {
    const f = () => setHash(location.hash.replace(/^#/, '') || '/');
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return [hash, (h) => (location.hash = h)];
}

function ConnectionBadge() {
  const [s, setS] = useState<ConnState>(connState());
  useEffect(() => onConnState(setS), []);
  if (s === 'reconnecting')
    return (
      <Badge color="orange" variant="filled" data-testid="reconnecting" leftSection={<Loader size={10} color="white" />}>
        reconnecting
      </Badge>
    );
  return (
    <Badge color={s === 'connected' ? 'green' : 'gray'} variant="dot" data-testid="conn-state" data-state={s}>
      {s === 'connected' ? 'live' : s}
    </Badge>
  );
}

function ApiKeyButton({ onChange }: { onChange(): void }) {
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState(getApiKey());
  const saved = getApiKey();
  return (
    <Popover opened={open} onChange={setOpen} position="bottom-end" width={340} withArrow>
      <Popover.Target>
        <Button size="xs" variant={saved ? 'light' : 'default'} onClick={() => setOpen((o) => !o)} data-testid="api-key-button">
          {saved ? 'API key ✓' : 'API key'}
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs">
          <Text size="xs" c="dimmed">
            Needed only when the service has keys (egsde keys create). Kept in this browser (localStorage) and sent as Authorization: Bearer.
          </Text>
          <PasswordInput placeholder="egsde_…" value={key} onChange={(e) => setKey(e.currentTarget.value)} data-testid="api-key-input" />
          <Group justify="flex-end" gap="xs">
            <Button
              size="xs"
              variant="default"
              onClick={() => {
                setKey('');
                setApiKey('');
                setOpen(false);
                onChange();
              }}
            >
              Forget
            </Button>
            <Button
              size="xs"
              onClick={() => {
                setApiKey(key);
                setOpen(false);
                onChange();
              }}
              data-testid="api-key-save"
            >
              Save
            </Button>
          </Group>
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}

export function App() {
  const [hash, go] = useHash();
  const [packs, setPacks] = useState<Pack[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [session, setSession] = useState(0);

  useEffect(() => {
    setError(null);
    gql(AppPacksDocument, {})
      .then((d) => setPacks(d.packs))
      .catch((e: ApiError) => setError(e));
  }, [session]);

  const runMatch = /^\/runs\/([^/]+)$/.exec(hash);
  const tab = runMatch ? 'history' : hash === '/compare' ? 'compare' : hash === '/history' ? 'history' : 'translate';

  return (
    <AppShell header={{ height: 56 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="xs">
            <Title order={3}>EGSDE</Title>
            <Text size="sm" c="dimmed">
              energy-guided image translation
            </Text>
          </Group>
          <Group gap="xs">
            <ConnectionBadge />
            <ApiKeyButton onChange={() => setSession((n) => n + 1)} />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Main>
        <Tabs value={tab} onChange={(v) => go(v === 'translate' ? '/' : `/${v}`)} keepMounted mb="md">
          <Tabs.List mb="md">
            <Tabs.Tab value="translate" data-testid="tab-translate">
              Translate
            </Tabs.Tab>
            <Tabs.Tab value="compare" data-testid="tab-compare">
              Compare samplers
            </Tabs.Tab>
            <Tabs.Tab value="history" data-testid="tab-history">
              History
            </Tabs.Tab>
          </Tabs.List>
          {error && (
            <Alert color="red" title={error.code ?? 'error'} mb="md" data-testid="app-error">
              {error.message}
              {error.code?.startsWith('auth/') && ' — set an API key (top right).'}
            </Alert>
          )}
          {!packs && !error && <Loader />}
          {packs && (
            <div key={session} data-testid="app-ready">
              <Tabs.Panel value="translate">
                <TranslatePage packs={packs} />
              </Tabs.Panel>
              <Tabs.Panel value="compare">
                <ComparePage packs={packs} />
              </Tabs.Panel>
              <Tabs.Panel value="history">
                {runMatch ? (
                  <Stack gap="sm">
                    <Group>
                      <Button variant="subtle" size="xs" onClick={() => go('/history')} data-testid="back-to-history">
                        ← history
                      </Button>
                    </Group>
                    <RunPanel key={runMatch[1]} runId={runMatch[1]} onDeleted={() => go('/history')} />
                  </Stack>
                ) : (
                  <HistoryPage packs={packs} active={tab === 'history' && !runMatch} open={(id) => go(`/runs/${id}`)} />
                )}
              </Tabs.Panel>
            </div>
          )}
        </Tabs>
      </AppShell.Main>
    </AppShell>
  );
}
