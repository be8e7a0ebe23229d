/**
 * The networks built in TypeScript, with the official checkpoints' weights loaded by key,
 * reproduce the golden torch exports; the 256 px presets build and run; bad checkpoints give
 * clear errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeModel } from '../onnx/model-io';
import { Graph } from '../onnx/ir';
import { GraphSession } from '../runtime/session';
import { goldenDir, goldenModel, goldenModelConfig, relL2, trajectoryCase, trajectoryCaseNames } from '../testing/goldens';
import { Rng } from '../sampling/random';
import { EngineError } from '../errors';
import { loadPack } from '../packs';
import { readTorchCheckpoint } from './checkpoint';
import { AdmConfig, buildAdmUNet, buildEncoderTrunk, isEncoderHeadKey } from './adm';
import { DdpmConfig, buildDdpmUNet } from './ddpm';
import { StateDictWeights, RandomWeights } from './weights';
import { ADM_AFHQ_DOG_256, DDPM_CELEBAHQ_256, DSE_256, TaskPreset } from './presets';
import { importPack } from './import-pack';

const file = (f: string) => path.join(goldenDir(), f);

function admConfig(c: Readonly<Record<string, unknown>>, outChannels: number): AdmConfig {
  return {
    imageSize: c.image_size as number,
    inChannels: c.in_channels as number,
    modelChannels: c.model_channels as number,
    outChannels,
    numResBlocks: c.num_res_blocks as number,
    attentionResolutions: c.attention_resolutions as number[],
    channelMult: c.channel_mult as number[],
    numHeads: (c.num_heads as number) ?? 1,
    numHeadChannels: (c.num_head_channels as number) ?? -1,
    useScaleShiftNorm: c.use_scale_shift_norm as boolean,
    resblockUpdown: c.resblock_updown as boolean,
  };
}

const admCfg = goldenModelConfig('score_adm.onnx');
const TINY_ADM = admConfig(admCfg, admCfg.out_channels as number);
const TINY_DSE = admConfig(goldenModelConfig('dse.onnx'), 0);
const d = goldenModelConfig('score_ddpm.onnx');
const TINY_DDPM: DdpmConfig = {
  imageSize: d.image_size as number,
  inChannels: d.in_channels as number,
  ch: d.ch as number,
  outCh: d.out_ch as number,
  chMult: d.ch_mult as number[],
  numResBlocks: d.num_res_blocks as number,
  attnResolutions: d.attn_resolutions as number[],
  resampWithConv: d.resamp_with_conv as boolean,
};

/** Our graph against the golden export on random inputs of the export's size (from the manifest). */
async function compare(ours: Graph, golden: string): Promise<number[]> {
  const g = goldenModel(golden);
  const cfg = goldenModelConfig(golden);
  const image = [cfg.in_channels as number, cfg.image_size as number, cfg.image_size as number];
  const ref = await GraphSession.create(g.graph);
  const mine = await GraphSession.create(ours);
  const errs: number[] = [];
  for (const n of [1, 3]) {
    const rng = new Rng(n);
    const x = { data: rng.normals(n * image[0] * image[1] * image[2]), dims: [n, ...image] };
    const t = { data: Float32Array.from({ length: n }, (_, i) => [0, 499, 999][i]), dims: [n] };
    // our graphs take x and t, as the official exports do
    const a = await mine.run({ x, t });
    const b = await ref.run({ [g.input]: x, [g.timestep]: t });
    errs.push(relL2(a[ours.outputs[0].name].data as Float32Array, b[g.output].data as Float32Array));
  }
  await ref.release();
  await mine.release();
  return errs;
}

describe('imported checkpoints reproduce the golden torch exports (rel <= 1e-5, batch 1 and 3)', () => {
  test('ADM UNet from score_adm.pt', async () => {
    const sd = await readTorchCheckpoint(file('score_adm.pt'));
    const errs = await compare(buildAdmUNet(TINY_ADM, new StateDictWeights(sd, 'score_adm.pt')), 'score_adm.onnx');
    for (const e of errs) expect(e).toBeLessThanOrEqual(1e-5);
  });
  test('EncoderUNet trunk from dse.pt (classifier head keys ignored)', async () => {
    const sd = await readTorchCheckpoint(file('dse.pt'));
    const errs = await compare(buildEncoderTrunk(TINY_DSE, new StateDictWeights(sd, 'dse.pt', isEncoderHeadKey)), 'dse.onnx');
    for (const e of errs) expect(e).toBeLessThanOrEqual(1e-5);
  });
  test('DDPM UNet from score_ddpm.pt', async () => {
    const sd = await readTorchCheckpoint(file('score_ddpm.pt'));
    const errs = await compare(buildDdpmUNet(TINY_DDPM, new StateDictWeights(sd, 'score_ddpm.pt')), 'score_ddpm.onnx');
    for (const e of errs) expect(e).toBeLessThanOrEqual(1e-5);
  });
});

test('a state_dict of the wrong architecture is a clear error listing the keys', async () => {
  const sd = await readTorchCheckpoint(file('dse.pt'));
  let err: EngineError | undefined;
  try {
    buildAdmUNet(TINY_ADM, new StateDictWeights(sd, 'dse.pt'));
  } catch (e) {
    err = e as EngineError;
  }
  expect(err?.code).toBe('nets/weights_mismatch');
  expect(err?.message).toMatch(/dse\.pt/);
  expect(err?.message).toMatch(/missing \(\d+\): /);
  expect(err?.message).toMatch(/output_blocks\.0\.0\.in_layers/);
  expect(err?.message).toMatch(/mis-shaped/);
});

test('import writes a pack the engine loads; a truncated checkpoint leaves nothing behind', async () => {
  // the pack's defaults: those of an EGSDE case of the ADM model with the presets' energies
  const adm = trajectoryCaseNames()
    .map(trajectoryCase)
    .find((c) => c.model === 'score_adm.onnx' && c.sampler === 'egsde' && c.s1 === 'cosine' && c.s2 === 'neg_l2')!;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-import-'));
  const preset: TaskPreset = {
    task: 'tiny',
    description: 'golden tiny models',
    sourceDomains: ['cat'],
    targetDomain: 'dog',
    score: { kind: 'adm', config: TINY_ADM },
    scoreFile: 'score_adm.pt',
    dse: TINY_DSE,
    dseFile: 'dse.pt',
    defaults: { M: adm.M, lambdaS: adm.lambdaS, lambdaI: adm.lambdaI, s1: 'cosine', s2: 'neg_l2', downN: adm.downN },
  };
  const progress: number[] = [];
  const { dir } = await importPack({ task: preset, scoreCheckpoint: file('score_adm.pt'), dseCheckpoint: file('dse.pt'), outDir: path.join(tmp, 'tiny'), onProgress: (_s, done, total) => progress.push(done / total) });
  expect(progress[progress.length - 1]).toBe(1);
  const pack = await loadPack(dir);
  expect(pack.manifest.score.kind).toBe('adm-learned-sigma');
  expect((await compare(decodeModel(fs.readFileSync(pack.scorePath)), 'score_adm.onnx'))[0]).toBeLessThanOrEqual(1e-5);
  expect((await compare(decodeModel(fs.readFileSync(pack.dsePath)), 'dse.onnx'))[0]).toBeLessThanOrEqual(1e-5);

  const bytes = fs.readFileSync(file('score_adm.pt'));
  const truncated = path.join(tmp, 'truncated.pt');
  fs.writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
  await expect(importPack({ task: preset, scoreCheckpoint: truncated, dseCheckpoint: file('dse.pt'), outDir: path.join(tmp, 'bad') })).rejects.toMatchObject({ code: 'checkpoint/invalid' });
  expect(fs.readdirSync(tmp).sort()).toEqual(['tiny', 'truncated.pt']);
});

describe('the 256 px presets build with random weights and run one forward pass', () => {
  const run = async (g: Graph) => {
    const s = await GraphSession.create(g);
    const out = await s.run({ x: { data: new Rng(1).normals(3 * 256 * 256), dims: [1, 3, 256, 256] }, t: { data: Float32Array.of(250), dims: [1] } });
    await s.release();
    const y = out[g.outputs[0].name];
    return { dims: y.dims, finite: (y.data as Float32Array).every(Number.isFinite) };
  };
  test('ADM UNet (afhq_dog_4m)', async () => {
    expect(await run(buildAdmUNet(ADM_AFHQ_DOG_256, new RandomWeights(1)))).toEqual({ dims: [1, 6, 256, 256], finite: true });
  });
  test('DDPM UNet (celebahq_female_ddpm)', async () => {
    expect(await run(buildDdpmUNet(DDPM_CELEBAHQ_256, new RandomWeights(2)))).toEqual({ dims: [1, 3, 256, 256], finite: true });
  });
  test('DSE trunk (*_dse)', async () => {
    expect(await run(buildEncoderTrunk(DSE_256, new RandomWeights(3)))).toEqual({ dims: [1, 512, 8, 8], finite: true });
  });
});
