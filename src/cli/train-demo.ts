/** npm run train:demo [-- --pack demo|demo-cat2dog --threads N --out models/NAME --work DIR --data DIR] */
import { Command, Option } from 'commander';
import { DEMO_PACKS, DemoPackName, trainDemo } from '../training/train-demo';

const program = new Command('train-demo')
  .description('rebuild a demo pack (demo: discs to squares, 32 px; demo-cat2dog: cartoon cats to dogs, 64 px): generate the two folders, then egsde train on them')
  .addOption(new Option('--pack <name>', 'which demo pack').choices(Object.keys(DEMO_PACKS)).default('demo'))
  .option('--out <dir>', 'pack folder (default models/NAME)')
  .option('--work <dir>', 'checkpoint folder, resumable (default .cache/train-NAME)')
  .option('--data <dir>', 'where the generated folders go (default .cache/NAME-data)')
  .option('--threads <n>', 'onnxruntime threads', (v) => Number(v))
  .option('--batch <n>', 'batch size', (v) => Number(v))
  .option('--score-iterations <n>', 'score model iterations', (v) => Number(v))
  .option('--dse-iterations <n>', 'DSE classifier iterations', (v) => Number(v))
  .option('--classifier-iterations <n>', 'evaluation classifier iterations', (v) => Number(v))
  .action(async (o: { pack: DemoPackName; out?: string; work?: string; data?: string; threads?: number; batch?: number; scoreIterations?: number; dseIterations?: number; classifierIterations?: number }) => {
    const t0 = Date.now();
    await trainDemo({ pack: o.pack, outDir: o.out, workDir: o.work, dataDir: o.data, threads: o.threads, batch: o.batch, scoreIterations: o.scoreIterations, dseIterations: o.dseIterations, classifierIterations: o.classifierIterations });
    console.log(`total ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  });

program.parseAsync(process.argv).catch((e) => {
  console.error(e);
  process.exit(1);
});
