/**
 * egsde: command-line entry points.
 *   egsde import --task cat2dog --score afhq_dog_4m.pt --dse cat2dog_dse.pt --out models/cat2dog
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { importPack } from '../engine/toolkit';
import { TASK_PRESETS } from '../engine/toolkit';
import { isCodedError } from '../engine';

export function cli(argv: string[]): Promise<void> {
  const program = new Command('egsde').description('EGSDE image translation: tools');
  program
    .command('import')
    .description('turn the official PyTorch checkpoints into a model pack (no Python needed)')
    .requiredOption('--task <task>', `preset: ${Object.keys(TASK_PRESETS).join(' | ')}`)
    .requiredOption('--score <file>', 'score model checkpoint (.pt / .pth)')
    .requiredOption('--dse <file>', 'domain-specific extractor checkpoint (.pt)')
    .requiredOption('--out <dir>', 'pack folder to write, e.g. models/cat2dog')
    .option('--force', 'replace an existing pack folder', false)
    .action(async (o: { task: string; score: string; dse: string; out: string; force: boolean }) => {
      let bar: SingleBar | null = null;
      let stage = '';
      await importPack({
        task: o.task,
        scoreCheckpoint: o.score,
        dseCheckpoint: o.dse,
        outDir: o.out,
        force: o.force,
        log: (m) => {
          bar?.stop();
          bar = null;
          console.log(m);
        },
        onProgress: (s, done, total) => {
          if (s !== stage || !bar) {
            bar?.stop();
            stage = s;
            bar = new SingleBar({ format: `${s} [{bar}] {percentage}% {value}/{total} MiB eta {eta}s`, hideCursor: true }, Presets.shades_classic);
            bar.start(Math.max(1, Math.round(total / 2 ** 20)), 0);
          }
          bar.update(Math.round(done / 2 ** 20));
          if (done >= total) {
            bar.stop();
            bar = null;
          }
        },
      });
    });
  return program.parseAsync(argv).then(() => undefined);
}

if (require.main === module) {
  cli(process.argv).catch((e: unknown) => {
    console.error(isCodedError(e) ? `error ${e.code}: ${e.message}` : e);
    process.exit(1);
  });
}
