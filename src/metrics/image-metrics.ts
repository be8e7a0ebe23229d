/**
 * The paper's metrics (EGSDE section 5): realism as FID between feature sets and target-domain
 * accuracy of a classifier; faithfulness as L2, PSNR and SSIM to the source. Images are
 * [3, S, S] float arrays in [0, 1].
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

function meanCov(features: Float32Array, n: number, d: number): { mu: Float64Array; cov: Matrix } {
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += features[i * d + j] / n;
  const cov = new Matrix(d, d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const da = features[i * d + a] - mu[a];
      for (let b = a; b < d; b++) cov.set(a, b, cov.get(a, b) + (da * (features[i * d + b] - mu[b])) / (n - 1));
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov.set(a, b, cov.get(b, a));
  return { mu, cov };
}

function sqrtSym(m: Matrix): Matrix {
  const e = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const v = e.eigenvectorMatrix;
  const s = Matrix.diag(e.realEigenvalues.map((x) => Math.sqrt(Math.max(0, x))));
  return v.mmul(s).mmul(v.transpose());
}

/**
 * Frechet distance between Gaussians fitted to two feature sets [n, d]:
 * |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), with tr (S1 S2)^(1/2) = tr (S1^(1/2) S2 S1^(1/2))^(1/2).
 */
export function frechetDistance(a: Float32Array, na: number, b: Float32Array, nb: number, d: number): number {
  const A = meanCov(a, na, d);
  const B = meanCov(b, nb, d);
  let diff = 0;
  for (let j = 0; j < d; j++) diff += (A.mu[j] - B.mu[j]) ** 2;
  const r = sqrtSym(A.cov);
  const inner = r.mmul(B.cov).mmul(r);
  inner.add(inner.transpose()).div(2);
  const e = new EigenvalueDecomposition(inner, { assumeSymmetric: true });
  const trSqrt = e.realEigenvalues.reduce((s, x) => s + Math.sqrt(Math.max(0, x)), 0);
  return diff + A.cov.trace() + B.cov.trace() - 2 * trSqrt;
}

/** Euclidean distance between two images (pixel values in [0, 1]). */
export function l2Distance(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return Math.sqrt(s);
}

/** Peak signal-to-noise ratio in dB for images in [0, 1]. */
export function psnr(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  const mse = s / x.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

/**
 * SSIM (Wang et al. 2004) with an 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, data
 * range 1, averaged over valid window positions and the three channels.
 */
export function ssim(x: Float32Array, y: Float32Array, size: number): number {
  const win = 11;
  const sigma = 1.5;
  const g: number[] = [];
  let gs = 0;
  for (let i = 0; i < win; i++) {
    const v = Math.exp(-((i - (win - 1) / 2) ** 2) / (2 * sigma * sigma));
    g.push(v);
    gs += v;
  }
  const w = g.map((v) => v / gs);
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  const plane = size * size;
  const out = size - win + 1;
  let total = 0;
  let count = 0;
  for (let c = 0; c < 3; c++) {
    for (let py = 0; py < out; py++) {
      for (let px = 0; px < out; px++) {
        let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
        for (let dy = 0; dy < win; dy++) {
          for (let dx = 0; dx < win; dx++) {
            const wt = w[dy] * w[dx];
            const i = c * plane + (py + dy) * size + px + dx;
            mx += wt * x[i];
            my += wt * y[i];
            sxx += wt * x[i] * x[i];
            syy += wt * y[i] * y[i];
            sxy += wt * x[i] * y[i];
          }
        }
        const vx = sxx - mx * mx;
        const vy = syy - my * my;
        const cxy = sxy - mx * my;
        total += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        count++;
      }
    }
  }
  return total / count;
}
