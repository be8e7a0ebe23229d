/**
 * The realism expert's energy between DSE features (docs/egsde-step.md §6; official
 * functions/denoising.py `cosine_similarity` / `mse`), as graph ops so its gradient can be taken
 * through the DSE network by the autodiff.
 */
import { GraphBuilder } from '../onnx/builder';

import type { RealismEnergyKind } from '../vocabulary';
export type { RealismEnergyKind };

/** F.normalize(t, dim=1, eps=1e-10): each position's C-vector over max(its L2 norm, 1e-10). */
function normalizeChannels(b: GraphBuilder, f: string): string {
  const norm = b.sqrt(b.reduceSum(b.mul(f, f), [1], true));
  return b.div(f, b.op('Max', [norm, b.scalar(1e-10)]));
}

/**
 * Official `cosine_similarity(X, Y)`: per position, the normalised C-vectors' dot product,
 * averaged over H*W; [N].
 */
export function cosineEnergy(b: GraphBuilder, a: string, c: string): string {
  const corr = b.mul(normalizeChannels(b, a), normalizeChannels(b, c));
  return b.reduceMean(b.reduceSum(corr, [1], false), [1, 2], false);
}

/**
 * Per-sample energy [N] for features [N, C, H, W].
 * cosine: sum over C of normalised products, averaged over H*W.
 * neg_l2: -sum over C, H, W of (F(y) - F(xt))^2.
 */
export function realismEnergy(b: GraphBuilder, fy: string, fxt: string, kind: RealismEnergyKind): string {
  switch (kind) {
    case 'cosine':
      return cosineEnergy(b, fy, fxt);
    case 'neg_l2': {
      const d = b.sub(fy, fxt);
      return b.neg(b.reduceSum(b.mul(d, d), [1, 2, 3], false));
    }
  }
}
