/** The pack, source image and parameter pickers of a translation form (see useTranslationForm). */
import { PackPicker } from './PackPicker';
import { ParamsForm } from './ParamsForm';
import { SourcePicker } from './SourcePicker';
import type { Pack } from '../types';
import type { TranslationForm } from '../useTranslationForm';

export function TranslationFields({ packs, form, hideSampler = false }: { packs: Pack[]; form: TranslationForm; hideSampler?: boolean }) {
  const { pack, params, source } = form;
  return (
    <>
      <PackPicker packs={packs} value={pack} onChange={form.choosePack} />
      <SourcePicker value={source} onChange={form.setSource} pack={pack?.name ?? null} />
      {pack && params && <ParamsForm pack={pack} value={params} onChange={form.setParams} hideSampler={hideSampler} />}
    </>
  );
}
