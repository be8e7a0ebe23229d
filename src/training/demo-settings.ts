/**
 * The demo pack's default run parameters (pack.json `defaults`), chosen from `npm run eval`'s
 * sweep on held-out images (see README, "Quality").
 */
export const DEMO_PACK_DEFAULTS = {
  M: 500,
  lambdaS: 500,
  lambdaI: 2,
  s1: 'cosine' as const,
  s2: 'neg_l2' as const,
  downN: 4,
  steps: 100,
  sampler: 'egsde' as const,
};
