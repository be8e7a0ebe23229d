/** npm run eval [-- --n 64 --quick --steps-only | --frontier [--ms 90,120,200] [--lambda-s 100,200] --pack models/demo --data heldout|procedural] */
import { Command } from 'commander';
import { evaluate } from '../training/evaluate';
import { intListOption, nonNegativeListOption } from './translate';

new Command('eval')
  .description('EGSDE vs SDEdit vs ILVR on held-out images: FID, accuracy, L2, PSNR, SSIM, sweeps, grid')
  .option('--pack <dir>', 'pack folder', 'models/demo')
  .option('--data <kind>', 'procedural (fresh demo draws; the default for disc-to-square packs) | heldout (the pack\'s split from egsde train)')
  .option('--n <n>', 'source images per configuration', (v) => Number(v), 64)
  .option('--quick', 'fewer sweep points', false)
  .option('--frontier', 'only the realism-faithfulness frontier (SDEdit, ILVR, EGSDE over M; EGSDE over lambda_s; bootstrap intervals; frontier.png)', false)
  .option('--ms <list>', 'the frontier\'s start times M, comma-separated (default 40,60,90,120,200,400)', intListOption('--ms'))
  .option('--lambda-s <list>', 'the frontier\'s lambda_s sweep, comma-separated (default 0, 0.5, 1, 2 and 4 times the pack\'s)', nonNegativeListOption('--lambda-s'))
  .option('--methods-only', 'only the methods table and grid.png (no sweeps)', false)
  .option('--steps-only', 'only the quality-versus-steps table (500, 200, 100, 50, 25 respaced steps)', false)
  .option('--out <dir>', 'where grid.png and results go (default <pack>/eval)')
  .action(async (o: { pack: string; n: number; quick: boolean; stepsOnly: boolean; methodsOnly: boolean; frontier: boolean; ms?: number[]; lambdaS?: number[]; data?: 'heldout' | 'procedural'; out?: string }) => {
    await evaluate({ packDir: o.pack, n: o.n, quick: o.quick, stepsOnly: o.stepsOnly, frontierOnly: o.frontier, sweeps: !o.methodsOnly, frontier: { Ms: o.ms, lambdaS: o.lambdaS }, data: o.data, outDir: o.out });
  })
  .parseAsync(process.argv)
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
