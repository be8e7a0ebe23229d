/**
 * egsde: command-line entry points.
 *   egsde import --task cat2dog --score afhq_dog_4m.pt --dse cat2dog_dse.pt --out models/cat2dog
 *   egsde keys create --name alice [--rate 30] [--burst 10] [--max-active 4] [--admin]
 *   egsde keys list | egsde keys revoke NAME
 *   egsde translate IMAGE --pack demo --out OUT.png [--sampler EGSDE|SDEDIT|ILVR] [--steps N] [--M N]
 *                   [--seed N] [--lambda-s X] [--lambda-i X] [--repeats N] [--models DIR]
 *   egsde train --source DIR --target DIR --size 32|64 --out models/NAME [--work DIR] [--restart] [--force]
 *   egsde eval --pack models/NAME [--n 128] [--frontier [--ms 90,120,200] [--lambda-s 100,200] | --steps-only | --methods-only] [--data heldout|procedural]
 *   egsde serve | egsde worker      the service (as `npm start`) | an engine worker (as `npm run worker`)
 * The keys commands use DATABASE_URL (default file:./data/egsde.db), as the server does.
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { importPack } from '../engine/toolkit';
import { TASK_PRESETS } from '../engine/toolkit';
import { isCodedError } from '../engine';
import { openDatabase } from '../db/client';
import { loadConfig } from '../config';
import { PrismaApiKeyStore } from '../adapters/prisma/api-key-store';
import type { ApiKeyStore } from '../auth/keys';
import { intListOption, nonNegativeListOption, numberOption, summaryLine, translate, type TranslateOptions } from './translate';
import { HELDOUT_DIR, HELDOUT_INDEX, MIN_HELDOUT, trainPack, TRAINING_DEFAULTS } from '../training/train-pack';
import { CodedError } from '../errors';
import * as fs from 'fs';
import * as path from 'path';

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
    return n;
  };
}

async function withKeys<T>(use: (keys: ApiKeyStore) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadConfig().databaseUrl);
  try {
    return await use(new PrismaApiKeyStore(db.prisma));
  } finally {
    await db.close();
  }
}

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
  const keys = program.command('keys').description('API keys: every run belongs to the key that created it');
  keys
    .command('create')
    .description('create a key and print it (once: only its hash is stored)')
    .requiredOption('--name <name>', 'who the key is for (unique)')
    .option('--rate <perMinute>', 'translations per minute (default RATE_LIMIT_PER_MINUTE)', positive('--rate'))
    .option('--burst <n>', 'token bucket size (default RATE_LIMIT_BURST)', positive('--burst'))
    .option('--max-active <n>', 'queued + running runs at once (default MAX_ACTIVE_PER_KEY)', positive('--max-active'))
    .option('--admin', 'sees and manages every run', false)
    .action(async (o: { name: string; rate?: number; burst?: number; maxActive?: number; admin: boolean }) => {
      if (!/^[\w.@-]{1,64}$/.test(o.name)) throw new Error('--name: 1 to 64 letters, digits, . _ @ -');
      const { record, secret } = await withKeys((k) =>
        k.create({ name: o.name, scope: o.admin ? 'admin' : 'user', ratePerMinute: o.rate ?? null, burst: o.burst ? Math.round(o.burst) : null, maxActive: o.maxActive ? Math.round(o.maxActive) : null }),
      );
      console.log(`created key ${record.name} (${record.scope}, id ${record.id})`);
      console.log(secret);
      console.log('keep it now: it is not shown again. Send it as Authorization: Bearer <key>.');
    });
  keys
    .command('list')
    .description('the keys (never their secrets)')
    .action(async () => {
      for (const k of await withKeys((s) => s.list())) {
        const limits = [k.ratePerMinute ? `rate ${k.ratePerMinute}/min` : '', k.burst ? `burst ${k.burst}` : '', k.maxActive ? `max-active ${k.maxActive}` : ''].filter(Boolean).join(', ');
        console.log(`${k.name}\t${k.prefix}...\t${k.scope}\t${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}${limits ? `\t${limits}` : ''}`);
      }
    });
  keys
    .command('revoke <name>')
    .description('revoke a key by name or id (its runs stay; instances notice within AUTH_CACHE_MS)')
    .action(async (name: string) => {
      if (!(await withKeys((s) => s.revoke(name)))) throw new Error(`no active key ${JSON.stringify(name)}`);
      console.log(`revoked ${name}`);
    });
  program
    .command('translate <image>')
    .description('translate one image in this process (no server, no database) and write the output PNG')
    .requiredOption('--pack <pack>', 'a model pack: its name (in --models) or its folder')
    .requiredOption('--out <file>', 'the output PNG (the pack\'s image size)')
    .option('--sampler <sampler>', 'EGSDE | SDEDIT | ILVR (default: the pack\'s)')
    .option('--steps <n>', 'steps per repeat', numberOption('--steps'))
    .option('--M <n>', 'start time M (the run starts from timestep M-1)', numberOption('--M'))
    .option('--seed <n>', 'noise seed, 0 .. 2^32-1 (default: random)', numberOption('--seed'))
    .option('--lambda-s <x>', 'realism weight (EGSDE)', numberOption('--lambda-s'))
    .option('--lambda-i <x>', 'faithfulness weight (EGSDE)', numberOption('--lambda-i'))
    .option('--repeats <n>', 'repeats of the whole procedure', numberOption('--repeats'))
    .option('--models <dir>', 'folder of model packs (default MODELS_DIR or ./models)')
    .action(async (image: string, o: TranslateOptions) => {
      console.log(summaryLine(await translate(image, o)));
    });
  program
    .command('train')
    .description('train a pack on two folders of images (score model on the target, domain classifier on both, an evaluation classifier), on the CPU, resumable')
    .requiredOption('--source <dir>', 'folder of source-domain images (PNG, JPEG or WebP, one size)')
    .requiredOption('--target <dir>', 'folder of target-domain images')
    .requiredOption('--size <px>', 'image size to train at: 32 or 64', numberOption('--size'))
    .requiredOption('--out <dir>', 'the pack folder to write, e.g. models/NAME')
    .option('--name <name>', 'pack name (default: the --out folder\'s name)')
    .option('--work <dir>', 'checkpoint folder; a rerun resumes from it (default .cache/train/NAME)')
    .option('--score-iterations <n>', `score model iterations (default ${TRAINING_DEFAULTS.scoreIterations})`, numberOption('--score-iterations'))
    .option('--dse-iterations <n>', `domain classifier iterations (default ${TRAINING_DEFAULTS.dseIterations})`, numberOption('--dse-iterations'))
    .option('--classifier-iterations <n>', `evaluation classifier iterations (default ${TRAINING_DEFAULTS.classifierIterations})`, numberOption('--classifier-iterations'))
    .option('--batch <n>', `batch size (default ${TRAINING_DEFAULTS.batch})`, numberOption('--batch'))
    .option('--holdout <fraction>', `fraction of each folder held out for egsde eval (default ${TRAINING_DEFAULTS.holdout}, at least ${MIN_HELDOUT} images)`, numberOption('--holdout'))
    .option('--seed <n>', `seed (default ${TRAINING_DEFAULTS.seed})`, numberOption('--seed'))
    .option('--no-flip', 'no random horizontal flips of the training images')
    .option('--threads <n>', 'onnxruntime threads (default: all cores)', numberOption('--threads'))
    .option('--restart', 'discard the work folder\'s checkpoints instead of resuming', false)
    .option('--force', 'replace an existing pack folder', false)
    .action(async (o: { source: string; target: string; size: number; out: string; name?: string; work?: string; scoreIterations?: number; dseIterations?: number; classifierIterations?: number; batch?: number; holdout?: number; seed?: number; flip: boolean; threads?: number; restart: boolean; force: boolean }) => {
      const { dir, report } = await trainPack({ ...o });
      const s = report.stages;
      console.log(`trained ${report.name} (${report.size} px) in ${(s.evalClassifier.seconds + s.dse.seconds + s.score.seconds).toFixed(0)} s of training: evaluation classifier ${s.evalClassifier.seconds.toFixed(0)} s, domain classifier ${s.dse.seconds.toFixed(0)} s, score model ${s.score.seconds.toFixed(0)} s`);
      console.log(`serve it: MODELS_DIR=${path.dirname(dir)} npm start; evaluate it: npx egsde eval --pack ${path.relative(process.cwd(), dir) || dir}`);
    });
  program
    .command('eval')
    .description('EGSDE vs SDEdit vs ILVR on a pack\'s held-out images: FID, target accuracy, L2, PSNR, SSIM, sweeps, the realism-faithfulness frontier')
    .requiredOption('--pack <dir>', 'the pack folder, e.g. models/NAME')
    .option('--n <n>', 'source images per configuration (at most the held-out ones)', numberOption('--n'), 128)
    .option('--frontier', 'only the realism-faithfulness frontier (default when nothing else is asked)', false)
    .option('--steps-only', 'only the quality-versus-steps table', false)
    .option('--ms <list>', 'the frontier\'s start times M, comma-separated (default 40,60,90,120,200,400)', intListOption('--ms'))
    .option('--lambda-s <list>', 'the frontier\'s lambda_s sweep, comma-separated (default 0, 0.5, 1, 2 and 4 times the pack\'s)', nonNegativeListOption('--lambda-s'))
    .option('--full', 'the methods table, sweeps and steps table as well as the frontier', false)
    .option('--methods-only', 'only the methods table (SDEdit, ILVR, EGSDE at the pack\'s defaults) and grid.png', false)
    .option('--data <kind>', 'heldout (the pack\'s split; the default when it has one) | procedural (the demo\'s generators)')
    .option('--out <dir>', 'where tables and PNGs go (default <pack>/eval)')
    .action(async (o: { pack: string; n: number; frontier: boolean; stepsOnly: boolean; full: boolean; methodsOnly: boolean; ms?: number[]; lambdaS?: number[]; data?: string; out?: string }) => {
      if (!fs.existsSync(path.join(o.pack, 'pack.json'))) throw new CodedError('train/invalid_option', `${o.pack} is not a pack folder (no pack.json)`, { option: '--pack', value: o.pack });
      const { evaluate } = await import('../training/evaluate');
      // the split egsde train held out, when the pack has one
      const data = (o.data ?? (fs.existsSync(path.join(o.pack, HELDOUT_DIR, HELDOUT_INDEX)) ? 'heldout' : undefined)) as 'heldout' | 'procedural' | undefined;
      await evaluate({ packDir: o.pack, n: o.n, data, stepsOnly: o.stepsOnly, frontierOnly: !o.full && !o.stepsOnly && !o.methodsOnly, sweeps: !o.methodsOnly, frontier: { Ms: o.ms, lambdaS: o.lambdaS }, outDir: o.out });
    });
  program
    .command('serve')
    .description('start the service, as `npm start` does (configuration from the environment)')
    .action(async () => {
      await (await import('../server')).serve();
    });
  program
    .command('worker')
    .description('start an engine worker, as `npm run worker` does (configuration from the environment)')
    .action(async () => {
      await (await import('../worker')).work();
    });
  return program.parseAsync(argv).then(() => undefined);
}

if (require.main === module) {
  cli(process.argv).catch((e: unknown) => {
    console.error(isCodedError(e) ? `error ${e.code}: ${e.message}` : e);
    process.exit(1);
  });
}
