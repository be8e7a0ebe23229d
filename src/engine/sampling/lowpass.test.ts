import {
  applyLowPass,
  applySeparable,
  lowPassMatrices,
  lowPassOperator,
  matmul,
  Matrix,
  matrixToFloat32,
  resizeMatrix,
  transpose,
} from './lowpass';
import { goldenCase, loadGolden, relL2 } from '../testing/goldens';

function row(m: Matrix, r: number): number[] {
  return Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols));
}

describe('resizeMatrix (functions/resizer.py Resizer.contributions)', () => {
  it('downscales 64 -> 8 with the stretched triangle and mirrored borders', () => {
    const d = resizeMatrix({ inSize: 64, scale: 1 / 8 });
    expect([d.rows, d.cols]).toEqual([8, 64]);
    // Interior output 3 (center 27.5): weights (2i+1)/128 on pixels 20..35, as numpy computes them.
    const interior = [1, 3, 5, 7, 9, 11, 13, 15, 15, 13, 11, 9, 7, 5, 3, 1].map((v) => v / 128);
    expect(row(d, 3).slice(20, 36)).toEqual(interior);
    expect(row(d, 3).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Output 0 (center 3.5): taps -4..-1 mirror onto 3..0 (x[-1] = x[0]) and add up.
    expect(row(d, 0).slice(0, 13)).toEqual([0.125, 0.125, 0.125, 0.125, 0.1171875, 0.1015625, 0.0859375, 0.0703125, 0.0546875, 0.0390625, 0.0234375, 0.0078125, 0]);
  });

  it('upscales 8 -> 64 with the plain triangle', () => {
    const u = resizeMatrix({ inSize: 8, scale: 8 });
    expect([u.rows, u.cols]).toEqual([64, 8]);
    expect(row(u, 0)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(row(u, 4)).toEqual([0.9375, 0.0625, 0, 0, 0, 0, 0, 0]);
    expect(row(u, 63)).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    for (let r = 0; r < 64; r++) expect(row(u, r).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('derives the missing one of scale and outSize as Resizer.fix_scale_and_size does', () => {
    expect(resizeMatrix({ inSize: 48, scale: 1 / 3 }).rows).toBe(16);
    expect(resizeMatrix({ inSize: 10, scale: 0.25 }).rows).toBe(3); // ceil(2.5)
    const byOut = resizeMatrix({ inSize: 16, outSize: 10 });
    const byScale = resizeMatrix({ inSize: 16, scale: 10 / 16 });
    expect(byOut).toEqual(byScale);
  });

  it('supports every kernel of the Resizer', () => {
    for (const kernel of ['cubic', 'lanczos2', 'lanczos3', 'box', 'linear'] as const) {
      const m = resizeMatrix({ inSize: 20, scale: 0.5, kernel });
      for (let r = 0; r < m.rows; r++) expect(row(m, r).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
  });

  it('builds the 256 px, down_N = 32 filter of the paper', () => {
    const { down, up } = lowPassMatrices(256, 32);
    expect([down.rows, down.cols, up.rows, up.cols]).toEqual([8, 256, 256, 8]);
  });

  it('rejects bad sizes', () => {
    expect(() => resizeMatrix({ inSize: 0, scale: 1 })).toThrow(RangeError);
    expect(() => resizeMatrix({ inSize: 8 })).toThrow(RangeError);
    expect(() => lowPassMatrices(60, 8)).toThrow(RangeError);
  });
});

describe('low-pass filter L = up(down(.)) against the official Resizer (golden case "resizer")', () => {
  const c = goldenCase('resizer');
  const downN = c.down_N as number;
  const x = loadGolden(c.x as string);
  const goldenDown = loadGolden(c.down as string);
  const goldenUpDown = loadGolden(c.up_down as string);
  const size = x.shape[2];

  it('uses the settings the Resizer uses in EGSDE', () => {
    expect(c.kernel).toBe('linear');
    expect(c.antialiasing).toBe(true);
    expect(x.shape[2]).toBe(x.shape[3]);
  });

  it('down matches resizer_down', () => {
    const { down } = lowPassMatrices(size, downN);
    const y = applySeparable(x.data, x.shape, down, down);
    expect(y.shape).toEqual(goldenDown.shape);
    // Measured: 1.09e-7 (float32 rounding of the reference).
    expect(relL2(y.data, goldenDown.data)).toBeLessThanOrEqual(1e-5);
  });

  it('up(down(x)) matches resizer_up_down, both as two passes and as P = U D', () => {
    const { down, up } = lowPassMatrices(size, downN);
    const small = applySeparable(x.data, x.shape, down, down);
    const twoPass = applySeparable(small.data, small.shape, up, up);
    expect(twoPass.shape).toEqual(goldenUpDown.shape);
    const errTwoPass = relL2(twoPass.data, goldenUpDown.data);
    const p = lowPassOperator(size, downN);
    const onePass = applySeparable(x.data, x.shape, p, p);
    const errOnePass = relL2(onePass.data, goldenUpDown.data);
    // Measured: 1.13e-7 (two passes) and 1.13e-7 (P = U D).
    expect(errTwoPass).toBeLessThanOrEqual(1e-5);
    expect(errOnePass).toBeLessThanOrEqual(1e-5);
    expect(relL2(applyLowPass(x.data, x.shape, downN), goldenUpDown.data)).toBeLessThanOrEqual(1e-5);
  });
});

describe('low-pass operator algebra', () => {
  const size = 32;
  const downN = 4;
  const p = lowPassOperator(size, downN);
  const { down, up } = lowPassMatrices(size, downN);

  function randomImage(n: number, seed: number): Float32Array {
    const out = new Float32Array(n);
    let s = seed >>> 0;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s / 2 ** 32 - 0.5;
    }
    return out;
  }

  it('P = U D is [size, size] and preserves constants', () => {
    expect([p.rows, p.cols]).toEqual([size, size]);
    expect(matmul(up, down)).toEqual(p);
    for (let r = 0; r < size; r++) expect(row(p, r).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('the adjoint P^T X P satisfies <L x, g> = <x, L^T g> (used for the faithfulness gradient)', () => {
    const shape = [2, 3, size, size];
    const count = 2 * 3 * size * size;
    const x = randomImage(count, 1);
    const g = randomImage(count, 2);
    const lx = applySeparable(x, shape, p, p).data;
    const pt = transpose(p);
    const ltg = applySeparable(g, shape, pt, pt).data;
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < count; i++) {
      lhs += lx[i] * g[i];
      rhs += x[i] * ltg[i];
    }
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-5 * Math.max(1, Math.abs(lhs)));
  });

  it('converts to float32 row-major', () => {
    const f = matrixToFloat32(p);
    expect(f).toBeInstanceOf(Float32Array);
    expect(f.length).toBe(size * size);
    expect(f[5 * size + 7]).toBe(Math.fround(p.data[5 * size + 7]));
  });

  it('applySeparable checks shapes', () => {
    expect(() => applySeparable(new Float32Array(16), [1, 1, 4, 4], down, down)).toThrow(RangeError);
    expect(() => applySeparable(new Float32Array(15), [1, 1, 4, 4], p, p)).toThrow(RangeError);
  });
});
