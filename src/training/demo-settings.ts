/**
 * The demo pack's default run parameters (pack.json `defaults`), chosen from `npm run eval`'s
 * sweeps and frontier on held-out images (see README, "Quality"). M = 200: where the frontier
 * shows EGSDE both more realistic and more faithful than SDEdit at equal M (at M = 400 every
 * method sits at the FID floor). At 32 px the paper's 256 px settings do not
 * transfer: M = 500 leaves almost no signal (SDEdit alone then ignores colour and position), and
 * lambda_s = 500 drives samples away from the source's colours too. The low-pass keeps 4x4
 * (down_N = 8; the paper keeps 8x8 of 256). lambda_i * beta_k / sqrt(alpha_k) must stay below
 * about 1 for the explicit faithfulness step to contract, which caps lambda_i at 100 steps.
 */
export const DEMO_PACK_DEFAULTS = {
  M: 200,
  lambdaS: 100,
  lambdaI: 30,
  s1: 'cosine' as const,
  s2: 'neg_l2' as const,
  downN: 8,
  steps: 100,
  sampler: 'egsde' as const,
};

/**
 * The demo-cat2dog pack's (64 px cartoon cats to dogs) default run parameters. The low-pass keeps 8x8 of
 * 64 px (down_N = 8, the paper's 8x8 of 256); the other values start from the 32 px demo's and
 * were measured by `egsde eval --pack models/demo-cat2dog --methods-only` (README, "Train on your
 * own two domains": EGSDE ahead of SDEdit on both axes, the pack itself undertrained).
 */
export const CAT2DOG_PACK_DEFAULTS = {
  ...DEMO_PACK_DEFAULTS,
  downN: 8,
};
