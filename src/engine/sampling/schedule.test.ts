import { createSchedule, getBetaSchedule, linspace, respaceSchedule, spaceTimesteps, BetaScheduleKind, Schedule } from './schedule';
import { goldenCase, loadGolden, trajectoryCase, trajectoryCaseNames } from '../testing/goldens';

const f32 = Math.fround;

describe('getBetaSchedule (runners/egsde.py get_beta_schedule)', () => {
  // Reference values: numpy 2.4 running the official get_beta_schedule(kind, beta_start=1e-4,
  // beta_end=0.02, num_diffusion_timesteps=1000), printed with repr (round-trip exact).
  const indices = [0, 1, 137, 500, 998, 999];
  const numpyReference: Record<BetaScheduleKind, number[]> = {
    linear: [0.0001, 0.00011991991991991993, 0.002829029029029029, 0.010059959959959959, 0.01998008008008008, 0.02],
    quad: [0.0001, 0.00010264836435083402, 0.0007852744364682769, 0.005742071067688482, 0.019962808524510992, 0.02],
    const: [0.02, 0.02, 0.02, 0.02, 0.02, 0.02],
    jsd: [0.001, 0.001001001001001001, 0.0011587485515643105, 0.002, 0.5, 1.0],
    sigmoid: [0.00014920520081703202, 0.00014979833041933025, 0.0003524849877431697, 0.010079879790061013, 0.01995020166958067, 0.01995079479918297],
  };

  for (const kind of Object.keys(numpyReference) as BetaScheduleKind[]) {
    it(`matches numpy bit for bit: ${kind}`, () => {
      const betas = getBetaSchedule({ betaSchedule: kind, betaStart: 1e-4, betaEnd: 0.02, numDiffusionTimesteps: 1000 });
      expect(betas).toHaveLength(1000);
      expect(indices.map((i) => betas[i])).toEqual(numpyReference[kind]);
    });
  }

  it('linspace handles one point and sets the endpoint exactly', () => {
    expect(Array.from(linspace(3, 7, 1))).toEqual([3]);
    const y = linspace(0.1, 0.7, 7);
    expect(y[6]).toBe(0.7);
    expect(y[0]).toBe(0.1);
  });

  it('rejects a bad number of timesteps', () => {
    expect(() => getBetaSchedule({ numDiffusionTimesteps: 0 })).toThrow(RangeError);
  });
});

describe('createSchedule (runners/egsde.py EGSDE.__init__)', () => {
  const schedule = createSchedule({ betaSchedule: 'linear', betaStart: 1e-4, betaEnd: 0.02, numDiffusionTimesteps: 1000 });

  it('has float32 arrays over all timesteps', () => {
    expect(schedule.betas).toBeInstanceOf(Float32Array);
    expect(schedule.timesteps).toEqual(Int32Array.from({ length: 1000 }, (_, i) => i));
    expect(schedule.alphasCumprodPrev[0]).toBe(1);
    expect(schedule.alphasCumprodPrev[10]).toBe(schedule.alphasCumprod[9]);
    expect(schedule.alphas[0]).toBe(f32(1 - f32(1e-4)));
  });

  it('accumulates the cumulative product in float64 as torch CPU cumprod does', () => {
    // numpy: np.cumprod((1 - betas.astype(float32)).astype(float64)).astype(float32), repr.
    expect(schedule.alphasCumprod[0]).toBe(f32(0.9998999834060669));
    expect(schedule.alphasCumprod[5]).toBe(f32(0.9991015195846558));
    expect(schedule.alphasCumprod[9]).toBe(f32(0.9981051683425903));
    expect(schedule.alphasCumprod[11]).toBe(f32(0.9974880814552307)); // float32 accumulation gives 0.99748814
    expect(schedule.alphasCumprod[499]).toBe(f32(0.07858724892139435));
    expect(schedule.alphasCumprod[999]).toBe(f32(4.035829988424666e-5));
  });

  it('uses fixedsmall = log(max(posterior variance, 1e-20)) and fixedlarge = log(beta)', () => {
    expect(schedule.varType).toBe('fixedsmall');
    expect(schedule.posteriorVariance[0]).toBe(0);
    expect(schedule.logvar[0]).toBe(f32(Math.log(f32(1e-20))));
    for (const i of [1, 10, 500, 999]) {
      const v = (schedule.betas[i] * (1 - schedule.alphasCumprodPrev[i])) / (1 - schedule.alphasCumprod[i]);
      expect(Math.abs(schedule.posteriorVariance[i] / v - 1)).toBeLessThan(1e-6);
      expect(Math.abs(schedule.logvar[i] - Math.log(v))).toBeLessThan(1e-5);
    }
    const large = createSchedule({ varType: 'fixedlarge' });
    for (const i of [0, 1, 500, 999]) expect(large.logvar[i]).toBe(f32(Math.log(large.betas[i])));
  });

  it('reproduces the golden start points y = sqrt(abar[M-1]) x0 + sqrt(1 - abar[M-1]) e bit for bit', () => {
    for (const name of trajectoryCaseNames()) {
      const c = goldenCase(name);
      const s = createSchedule(trajectoryCase(name).schedule);
      const M = c.M as number;
      const x0 = loadGolden(c.x0 as string).data;
      const e = loadGolden(c.e as string).data;
      const yStart = loadGolden(c.y_start as string).data;
      const abar = s.alphasCumprod[M - 1];
      const sa = f32(Math.sqrt(abar));
      const sb = f32(Math.sqrt(f32(1 - abar)));
      let mismatches = 0;
      for (let j = 0; j < yStart.length; j++) {
        if (f32(f32(x0[j] * sa) + f32(e[j] * sb)) !== yStart[j]) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
  });
});

describe('spaceTimesteps (improved-diffusion space_timesteps, one section)', () => {
  it('matches the Python reference', () => {
    // Python: space_timesteps(M, [K]) from improved_diffusion/respace.py.
    expect(Array.from(spaceTimesteps(1000, 10))).toEqual([0, 111, 222, 333, 444, 555, 666, 777, 888, 999]);
    expect(Array.from(spaceTimesteps(12, 5))).toEqual([0, 3, 6, 8, 11]);
    expect(Array.from(spaceTimesteps(7, 4))).toEqual([0, 2, 4, 6]);
    const t = spaceTimesteps(500, 100);
    expect(Array.from(t.subarray(0, 14))).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 66]);
    expect(Array.from(t.subarray(94))).toEqual([474, 479, 484, 489, 494, 499]);
    const u = spaceTimesteps(1000, 999);
    expect(u[499]).toBe(499);
    expect(u[500]).toBe(501); // stride 999/998: 499 * stride = 499.4995 -> 499, 500 * stride = 500.501 -> 501
  });

  it('is strictly increasing and keeps 0 and M-1', () => {
    for (const [M, K] of [[500, 100], [1000, 250], [1000, 1000], [37, 2], [2, 2], [1, 1]]) {
      const t = spaceTimesteps(M, K);
      expect(t).toHaveLength(K);
      expect(t[0]).toBe(0);
      expect(t[K - 1]).toBe(M - 1);
      for (let k = 1; k < K; k++) expect(t[k]).toBeGreaterThan(t[k - 1]);
    }
  });

  it('rejects impossible requests', () => {
    expect(() => spaceTimesteps(10, 11)).toThrow(RangeError);
    expect(() => spaceTimesteps(10, 1)).toThrow(RangeError);
    expect(() => spaceTimesteps(10, 0)).toThrow(RangeError);
    expect(() => spaceTimesteps(0, 0)).toThrow(RangeError);
  });
});

describe('respaceSchedule', () => {
  const base = createSchedule();

  function expectSameSchedule(a: Schedule, b: Schedule): void {
    expect(a.varType).toBe(b.varType);
    expect(a.timesteps).toEqual(b.timesteps);
    expect(a.betas).toEqual(b.betas);
    expect(a.alphas).toEqual(b.alphas);
    expect(a.alphasCumprod).toEqual(b.alphasCumprod);
    expect(a.alphasCumprodPrev).toEqual(b.alphasCumprodPrev);
    expect(a.posteriorVariance).toEqual(b.posteriorVariance);
    expect(a.logvar).toEqual(b.logvar);
  }

  it('with K = all steps returns the original schedule', () => {
    expectSameSchedule(respaceSchedule(base, 1000), base);
    expectSameSchedule(respaceSchedule(createSchedule({ varType: 'fixedlarge', betaSchedule: 'quad' }), 1000), createSchedule({ varType: 'fixedlarge', betaSchedule: 'quad' }));
  });

  it('with K = M < T returns the first M entries', () => {
    const r = respaceSchedule(base, 500, 500);
    const head: Schedule = {
      varType: base.varType,
      timesteps: base.timesteps.slice(0, 500),
      betas: base.betas.slice(0, 500),
      alphas: base.alphas.slice(0, 500),
      alphasCumprod: base.alphasCumprod.slice(0, 500),
      alphasCumprodPrev: base.alphasCumprodPrev.slice(0, 500),
      posteriorVariance: base.posteriorVariance.slice(0, 500),
      logvar: base.logvar.slice(0, 500),
    };
    expectSameSchedule(r, head);
  });

  it('takes 100 steps through M = 500, preserving abar at the kept timesteps', () => {
    const r = respaceSchedule(base, 100, 500);
    const kept = spaceTimesteps(500, 100);
    expect(r.timesteps).toEqual(kept);
    expect(r.betas).toHaveLength(100);
    for (let k = 0; k < 100; k++) {
      const t = kept[k];
      expect(r.alphasCumprod[k]).toBe(base.alphasCumprod[t]);
      expect(r.alphasCumprodPrev[k]).toBe(k === 0 ? 1 : base.alphasCumprod[kept[k - 1]]);
      // beta_k = 1 - abar[t_k] / abar[t_{k-1}]; the first kept entry is timestep 0 itself, whose
      // beta is the base one (1 - abar[0] in float32 would carry abar's rounding error).
      expect(r.betas[k]).toBe(k === 0 ? base.betas[0] : f32(1 - base.alphasCumprod[t] / r.alphasCumprodPrev[k]));
      expect(r.alphas[k]).toBe(f32(1 - r.betas[k]));
    }
    // The product of the respaced alphas telescopes back to abar.
    let product = 1;
    for (let k = 0; k < 100; k++) {
      product *= r.alphas[k];
      expect(Math.abs(product / r.alphasCumprod[k] - 1)).toBeLessThan(1e-5);
    }
    // Posterior variance of a jump: beta_k (1 - abar_prev) / (1 - abar), still <= beta_k.
    for (let k = 1; k < 100; k++) {
      expect(r.posteriorVariance[k]).toBeGreaterThan(0);
      expect(r.posteriorVariance[k]).toBeLessThanOrEqual(r.betas[k]);
    }
  });

  it('keeps base betas where no timestep is skipped', () => {
    const r = respaceSchedule(base, 5, 12); // kept 0, 3, 6, 8, 11
    expect(r.betas[0]).toBe(base.betas[0]);
    expect(r.betas[1]).toBe(f32(1 - base.alphasCumprod[3] / base.alphasCumprod[0]));
  });

  it('rejects M beyond the base schedule', () => {
    expect(() => respaceSchedule(base, 10, 1001)).toThrow(RangeError);
  });
});
