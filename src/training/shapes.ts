/**
 * The demo's two domains, generated on the fly from a seed: filled discs (source) and filled
 * squares (target) of random colour, position and size on a random background. The shape is the
 * domain-specific feature; colour, position, size and background are domain-independent, so a
 * faithful, realistic translation turns a disc into a square of the same colour, place and size.
 */
import { Rng } from '../engine/toolkit';

export type ShapeDomain = 'disc' | 'square';
export const DOMAINS: readonly ShapeDomain[] = ['disc', 'square'];

export interface ShapeParams {
  cx: number;
  cy: number;
  /** disc radius; the square has the same area */
  r: number;
  fg: [number, number, number];
  bg: [number, number, number];
}

/** Random shape parameters (positions and sizes in pixels; colours in [0, 1]). */
export function sampleShapeParams(rng: Rng, size: number): ShapeParams {
  const r = size * (0.16 + 0.14 * rng.uniform());
  const margin = r * 1.05;
  const cx = margin + (size - 2 * margin) * rng.uniform();
  const cy = margin + (size - 2 * margin) * rng.uniform();
  const bg: [number, number, number] = [0.1 + 0.5 * rng.uniform(), 0.1 + 0.5 * rng.uniform(), 0.1 + 0.5 * rng.uniform()];
  // foreground: a random colour kept well away from the background
  let fg: [number, number, number];
  do {
    fg = [rng.uniform(), rng.uniform(), rng.uniform()];
  } while (Math.hypot(fg[0] - bg[0], fg[1] - bg[1], fg[2] - bg[2]) < 0.45);
  return { cx, cy, r, fg, bg };
}

/** Render into [3, size, size] in [-1, 1], 4x4 supersampled edges. */
export function renderShape(domain: ShapeDomain, p: ShapeParams, size: number, out = new Float32Array(3 * size * size)): Float32Array {
  const half = domain === 'square' ? (p.r * Math.sqrt(Math.PI)) / 2 : 0;
  const ss = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let cover = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const px = x + (sx + 0.5) / ss;
          const py = y + (sy + 0.5) / ss;
          const inside = domain === 'disc' ? (px - p.cx) ** 2 + (py - p.cy) ** 2 <= p.r * p.r : Math.abs(px - p.cx) <= half && Math.abs(py - p.cy) <= half;
          if (inside) cover++;
        }
      }
      const a = cover / (ss * ss);
      for (let c = 0; c < 3; c++) out[c * size * size + y * size + x] = 2 * (a * p.fg[c] + (1 - a) * p.bg[c]) - 1;
    }
  }
  return out;
}

/** A batch [n, 3, size, size] of one domain (or mixed, with labels) from a generator. */
export function shapeBatch(rng: Rng, n: number, size: number, domain: ShapeDomain | 'mixed'): { images: Float32Array; labels: Int32Array } {
  const img = 3 * size * size;
  const images = new Float32Array(n * img);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const d: ShapeDomain = domain === 'mixed' ? (rng.uniform() < 0.5 ? 'disc' : 'square') : domain;
    labels[i] = DOMAINS.indexOf(d);
    renderShape(d, sampleShapeParams(rng, size), size, images.subarray(i * img, (i + 1) * img));
  }
  return { images, labels };
}
