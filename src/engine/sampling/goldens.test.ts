/**
 * Whole runs of the official implementation, with its recorded noise injected: every step of
 * every trajectory matches to a relative L2 error <= 1e-4.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../onnx/model-io';
import { GraphSession } from '../runtime/session';
import { goldenCase, goldenDir, loadGolden, relL2 } from '../testing/goldens';
import { createSchedule, BetaScheduleKind, VarianceType } from './schedule';
import { NUM_COEFS, stepCoefficients } from './coefficients';
import { buildStepGraph, FaithfulnessEnergyKind, STEP_OUTPUTS, ScoreKind } from './step-graph';
import { RealismEnergyKind } from './realism-energy';

const load = (f: string) => decodeModel(fs.readFileSync(path.join(goldenDir(), f)), f);

interface CaseSettings {
  model: string;
  schedule: { beta_schedule: BetaScheduleKind; beta_start: number; beta_end: number; num_diffusion_timesteps: number; var_type: VarianceType };
  M: number;
  ls: number;
  li: number;
  s1: RealismEnergyKind;
  s2: FaithfulnessEnergyKind;
  down_N: number;
  x0: string;
  e: string;
  y_start: string;
  step_noise: string;
  trajectory: string;
}

describe.each(['egsde_adm', 'sdedit_adm', 'egsde_ddpm', 'egsde_adm_variants'])('%s', (name) => {
  test('every step matches the official trajectory (rel L2 <= 1e-4)', async () => {
    const c = goldenCase(name) as unknown as CaseSettings;
    const scoreKind: ScoreKind = c.model === 'score_adm.onnx' ? 'adm-learned-sigma' : 'eps';
    const score = load(c.model);
    const sampler = c.ls === 0 && c.li === 0 ? 'sdedit' : 'egsde';
    const graph = buildStepGraph({
      sampler,
      score: { graph: score, input: 'x', timestep: 't', output: score.outputs[0].name, kind: scoreKind },
      dse: { graph: load('dse.onnx'), input: 'x', timestep: 't', output: 'features' },
      imageSize: 64,
      downN: c.down_N,
      s1: c.s1,
      s2: c.s2,
    });
    const session = await GraphSession.create(graph);
    const schedule = createSchedule({
      betaSchedule: c.schedule.beta_schedule,
      betaStart: c.schedule.beta_start,
      betaEnd: c.schedule.beta_end,
      numDiffusionTimesteps: c.schedule.num_diffusion_timesteps,
      varType: c.schedule.var_type,
    });
    const [x0, e, yStart, noise, traj] = [c.x0, c.e, c.y_start, c.step_noise, c.trajectory].map(loadGolden);
    const n = x0.shape[0];
    const size = x0.data.length;
    let y = yStart.data;
    const errors: number[] = [];
    for (let k = 0; k < c.M; k++) {
      const i = c.M - 1 - k;
      const coef = new Float32Array(n * NUM_COEFS);
      for (let s = 0; s < n; s++) stepCoefficients(schedule, i, { lambdaS: c.ls, lambdaI: c.li }, coef.subarray(s * NUM_COEFS, (s + 1) * NUM_COEFS));
      const out = await session.run({
        y: { data: y, dims: x0.shape },
        x0: { data: x0.data, dims: x0.shape },
        e: { data: e.data, dims: x0.shape },
        z: { data: noise.data.subarray(k * size, (k + 1) * size), dims: x0.shape },
        coef: { data: coef, dims: [n, NUM_COEFS] },
      });
      y = out[STEP_OUTPUTS.yNext].data as Float32Array;
      errors.push(relL2(y, traj.data.subarray(k * size, (k + 1) * size)));
    }
    await session.release();
    console.log(`${name}: max step rel L2 ${Math.max(...errors).toExponential(2)}`);
    expect(Math.max(...errors)).toBeLessThanOrEqual(1e-4);
  });
});
