/** npm run train:demo [-- --threads N --out models/demo --work .cache/train-demo --data .cache/demo-data] */
import { Command } from 'commander';
import { trainDemo } from '../training/train-demo';

const program = new Command('train-demo')
  .description('rebuild the demo pack (discs to squares): generate the two folders, then egsde train on them')
  .option('--out <dir>', 'pack folder', 'models/demo')
  .option('--work <dir>', 'checkpoint folder (resumable)', '.cache/train-demo')
  .option('--data <dir>', 'where the generated folders go', '.cache/demo-data')
  .option('--threads <n>', 'onnxruntime threads', (v) => Number(v))
  .option('--score-iterations <n>', 'score model iterations', (v) => Number(v))
  .option('--dse-iterations <n>', 'DSE classifier iterations', (v) => Number(v))
  .option('--classifier-iterations <n>', 'evaluation classifier iterations', (v) => Number(v))
  .action(async (o: { out: string; work: string; data: string; threads?: number; scoreIterations?: number; dseIterations?: number; classifierIterations?: number }) => {
    const t0 = Date.now();
    await trainDemo({ outDir: o.out, workDir: o.work, dataDir: o.data, threads: o.threads, scoreIterations: o.scoreIterations, dseIterations: o.dseIterations, classifierIterations: o.classifierIterations });
    console.log(`total ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  });

program.parseAsync(process.argv).catch((e) => {
  console.error(e);
  process.exit(1);
});
