import * as fs from 'fs';
import * as path from 'path';
import { goldenCase, goldenCaseNames, goldenDir, goldenTensorNames, loadGolden, relL2, trajectoryCase, trajectoryCaseNames, trajectorySamples } from './goldens';

const manifest = JSON.parse(fs.readFileSync(path.join(goldenDir(), 'manifest.json'), 'utf8'));

describe('golden fixtures helper', () => {
  it('loads a tensor with its manifest shape', () => {
    const t = loadGolden('resizer_x');
    const shape = manifest.tensors.resizer_x.shape as number[];
    expect(t.shape).toEqual(shape);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.length).toBe(shape.reduce((a, b) => a * b, 1));
    expect(t.data.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('returns fresh copies', () => {
    const a = loadGolden('grad_cosine_t');
    a.data[0] = 12345;
    expect(loadGolden('grad_cosine_t').data[0]).not.toBe(12345);
  });

  it('lists tensors and cases and reads case settings', () => {
    expect(goldenTensorNames()).toContain('resizer_up_down');
    expect(goldenCaseNames()).toEqual(Object.keys(manifest.cases));
    expect(goldenCase('resizer').down_N).toBe(manifest.cases.resizer.down_N);
    expect(goldenCase('egsde_adm').M).toBe(manifest.cases.egsde_adm.M);
  });

  it('finds the trajectory cases by their fields and reads their settings from the manifest and shapes', () => {
    const names = trajectoryCaseNames();
    expect(names).toEqual(expect.arrayContaining(['egsde_adm', 'sdedit_adm', 'egsde_ddpm', 'egsde_adm_variants']));
    expect(names).not.toContain('resizer');
    const raw = manifest.cases.egsde_adm;
    const c = trajectoryCase('egsde_adm');
    const [batch, channels, size] = manifest.tensors[raw.x0].shape;
    expect(c).toMatchObject({ model: raw.model, dse: 'dse.onnx', scoreKind: 'adm-learned-sigma', sampler: 'egsde', M: raw.M, lambdaS: raw.ls, lambdaI: raw.li, s1: raw.s1, s2: raw.s2, downN: raw.down_N, batch, channels, imageSize: size });
    expect(c.schedule).toEqual({ betaSchedule: raw.schedule.beta_schedule, betaStart: raw.schedule.beta_start, betaEnd: raw.schedule.beta_end, numDiffusionTimesteps: raw.schedule.num_diffusion_timesteps, varType: raw.schedule.var_type });
    expect(trajectoryCase('egsde_ddpm').scoreKind).toBe('eps');
    expect(trajectoryCase('sdedit_adm').sampler).toBe('sdedit');
    expect(() => trajectoryCase('resizer')).toThrow(/not a trajectory case/);
  });

  it('slices a trajectory case into its samples', () => {
    const c = trajectoryCase('egsde_adm');
    const size = c.channels * c.imageSize ** 2;
    const samples = trajectorySamples(c);
    expect(samples.length).toBe(c.batch);
    const noise = loadGolden(c.stepNoise).data;
    const last = samples[c.batch - 1];
    expect(last.z.length).toBe(c.M);
    expect(Array.from(last.z[c.M - 1])).toEqual(Array.from(noise.subarray(((c.M - 1) * c.batch + c.batch - 1) * size, ((c.M - 1) * c.batch + c.batch) * size)));
    expect(Array.from(samples[0].x0)).toEqual(Array.from(loadGolden(c.x0).data.subarray(0, size)));
  });

  it('names what is missing', () => {
    expect(() => loadGolden('no_such_tensor')).toThrow(/no_such_tensor/);
    expect(() => goldenCase('no_such_case')).toThrow(/no_such_case/);
  });

  it('relL2 is ||a - b|| / ||b||', () => {
    expect(relL2([1, 2, 2], [1, 2, 2])).toBe(0);
    expect(relL2([0, 0, 0], [1, 2, 2])).toBe(1);
    expect(relL2([3, 4, 0], [0, 0, 0])).toBe(5);
    expect(() => relL2([1], [1, 2])).toThrow();
  });
});
