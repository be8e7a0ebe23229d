/** npm run train:demo [-- --threads N --out models/demo --work .cache/train-demo] */
import { Command } from 'commander';
import { trainDemo } from '../training/train-demo';

const program = new Command('train-demo')
  .description('train the demo pack (discs to squares) on the CPU and write models/demo')
  .option('--out <dir>', 'pack folder', 'models/demo')
  .option('--work <dir>', 'checkpoint folder (resumable)', '.cache/train-demo')
  .option('--threads <n>', 'onnxruntime threads', (v) => Number(v))
  .option('--score-iterations <n>', 'score model iterations', (v) => Number(v))
  .option('--dse-iterations <n>', 'DSE classifier iterations', (v) => Number(v))
  .option('--classifier-iterations <n>', 'evaluation classifier iterations', (v) => Number(v))
  .action(async (o: { out: string; work: string; threads?: number; scoreIterations?: number; dseIterations?: number; classifierIterations?: number }) => {
    const t0 = Date.now();
    await trainDemo({ outDir: o.out, workDir: o.work, threads: o.threads, scoreIterations: o.scoreIterations, dseIterations: o.dseIterations, classifierIterations: o.classifierIterations });
    console.log(`total ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  });

program.parseAsync(process.argv).catch((e) => {
  console.error(e);
  process.exit(1);
});
