/**
 * The state a page that starts translations keeps: the pack (its parameters reset to the pack's
 * defaults when it changes), the parameters, the source image, and a submit that runs one request
 * at a time with the busy flag and the last error.
 */
import { useCallback, useState } from 'react';
import type { ApiError } from './api';
import { defaultParams, paramsValid } from './components/ParamsForm';
import type { Source } from './components/SourcePicker';
import type { Pack, ParamsValue } from './types';

export interface TranslationForm {
  pack: Pack | null;
  params: ParamsValue | null;
  source: Source | null;
  /** picks a pack and resets the parameters to its defaults (the same function on every render) */
  choosePack(pack: Pack): void;
  setParams(params: ParamsValue): void;
  setSource(source: Source): void;
  /** a pack, valid parameters and a source image are all there */
  ready: boolean;
  busy: boolean;
  error: ApiError | null;
  /** Runs `start` with the form's pack, parameters and source (when ready), setting busy meanwhile and error if it throws. */
  submit(start: (pack: Pack, params: ParamsValue, source: Source) => Promise<void>): Promise<void>;
}

export function useTranslationForm(packs: Pack[]): TranslationForm {
  const [pack, setPack] = useState<Pack | null>(packs[0] ?? null);
  const [params, setParams] = useState<ParamsValue | null>(packs[0] ? defaultParams(packs[0]) : null);
  const [source, setSource] = useState<Source | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const choosePack = useCallback((p: Pack) => {
    setPack(p);
    setParams(defaultParams(p));
  }, []);

  const submit = async (start: (pack: Pack, params: ParamsValue, source: Source) => Promise<void>) => {
    if (!pack || !params || !source) return;
    setBusy(true);
    setError(null);
    try {
      await start(pack, params, source);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return { pack, params, source, choosePack, setParams, setSource, ready: !!source && !!pack && !!params && paramsValid(params), busy, error, submit };
}
