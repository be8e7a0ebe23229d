/**
 * The second demo's two domains, a harder and more visual pair than discs and squares: cartoon
 * cat faces (source) and dog faces (target), drawn as SVG and rasterised by sharp (librsvg), from
 * a seed. What a faithful translation keeps is domain-independent: the background's gradient,
 * the head's place, size and fur colour, the eyes' colour. What it must change is
 * domain-specific: a cat has pointed ears on top, a small pink nose and whiskers; a dog has
 * floppy ears at the sides (a darker shade of its fur), a pale muzzle, a large black nose and a
 * tongue. The geometry of the two differs (ears above the head against ears beside it), so the
 * translation has to move mass, not only recolour it.
 */
import { Rng } from '../engine/toolkit';
import { pngToTensor } from '../images';

export type CritterDomain = 'cat' | 'dog';

type Rgb = [number, number, number];

export interface CritterParams {
  /** head centre and radius, in units of a 64 px image */
  cx: number;
  cy: number;
  r: number;
  /** vertical squash of the head (ry = r * squash) */
  squash: number;
  fur: Rgb;
  eye: Rgb;
  /** background gradient, top and bottom */
  top: Rgb;
  bottom: Rgb;
}

const dist = (a: Rgb, b: Rgb) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];

/** Random face parameters (domain-independent: the same draw is a cat or a dog). */
export function sampleCritterParams(rng: Rng): CritterParams {
  const r = 12 + 5 * rng.uniform();
  const cx = 22 + 20 * rng.uniform();
  const cy = 27 + 12 * rng.uniform();
  const squash = 0.85 + 0.12 * rng.uniform();
  const top: Rgb = [0.1 + 0.6 * rng.uniform(), 0.1 + 0.6 * rng.uniform(), 0.1 + 0.6 * rng.uniform()];
  const bottom = mix(top, [rng.uniform(), rng.uniform(), rng.uniform()], 0.5);
  const bg = mix(top, bottom, 0.5);
  let fur: Rgb;
  do {
    fur = [rng.uniform(), rng.uniform(), rng.uniform()];
  } while (dist(fur, bg) < 0.45);
  // eyes: a saturated iris that stands out from the fur
  let eye: Rgb;
  do {
    eye = [rng.uniform(), rng.uniform(), rng.uniform()];
  } while (dist(eye, fur) < 0.5);
  return { cx, cy, r, squash, fur, eye, top, bottom };
}

const hex = (c: Rgb) => `#${c.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, '0')).join('')}`;
const n = (v: number) => v.toFixed(2);
const poly = (pts: [number, number][], fill: string) => `<polygon points="${pts.map(([x, y]) => `${n(x)},${n(y)}`).join(' ')}" fill="${fill}"/>`;
const ellipse = (x: number, y: number, rx: number, ry: number, fill: string, rotate = 0) =>
  `<ellipse cx="${n(x)}" cy="${n(y)}" rx="${n(rx)}" ry="${n(ry)}" fill="${fill}"${rotate ? ` transform="rotate(${n(rotate)} ${n(x)} ${n(y)})"` : ''}/>`;

/** The face as an SVG document of `size` px (drawn in 64 px units, scaled). */
export function critterSvg(domain: CritterDomain, p: CritterParams, size = 64): string {
  const { cx, cy, r } = p;
  const ry = r * p.squash;
  const fur = hex(p.fur);
  const parts: string[] = [];
  const pink = '#f2a0b4';
  if (domain === 'cat') {
    for (const s of [-1, 1]) {
      parts.push(poly([[cx + s * 0.95 * r, cy - 0.25 * ry], [cx + s * 0.7 * r, cy - 1.45 * ry], [cx + s * 0.1 * r, cy - 0.85 * ry]], fur));
      parts.push(poly([[cx + s * 0.78 * r, cy - 0.5 * ry], [cx + s * 0.68 * r, cy - 1.2 * ry], [cx + s * 0.33 * r, cy - 0.85 * ry]], pink));
    }
  }
  parts.push(ellipse(cx, cy, r, ry, fur));
  if (domain === 'dog') {
    const ear = hex(mix(p.fur, [0, 0, 0], 0.45));
    for (const s of [-1, 1]) parts.push(ellipse(cx + s * 0.92 * r, cy + 0.05 * ry, 0.3 * r, 0.72 * ry, ear, -s * 18));
    parts.push(ellipse(cx, cy + 0.45 * ry, 0.48 * r, 0.36 * ry, hex(mix(p.fur, [1, 1, 1], 0.6))));
    parts.push(ellipse(cx, cy + 0.74 * ry, 0.15 * r, 0.13 * ry, '#e0506a'));
    parts.push(ellipse(cx, cy + 0.3 * ry, 0.2 * r, 0.14 * ry, '#141414'));
  }
  for (const s of [-1, 1]) {
    parts.push(ellipse(cx + s * 0.38 * r, cy - 0.15 * ry, 0.17 * r, 0.19 * ry, hex(p.eye)));
    parts.push(ellipse(cx + s * 0.38 * r, cy - 0.15 * ry, 0.07 * r, 0.12 * ry, '#0a0a0a'));
  }
  if (domain === 'cat') {
    parts.push(poly([[cx - 0.12 * r, cy + 0.22 * ry], [cx + 0.12 * r, cy + 0.22 * ry], [cx, cy + 0.36 * ry]], pink));
    const whisker = hex(mix(p.fur, [0.5, 0.5, 0.5], 0.5).map((v) => (v > 0.5 ? v - 0.45 : v + 0.45)) as Rgb);
    for (const s of [-1, 1]) {
      for (const dy of [-0.08, 0.08, 0.24]) {
        parts.push(`<line x1="${n(cx + s * 0.22 * r)}" y1="${n(cy + 0.38 * ry)}" x2="${n(cx + s * 1.15 * r)}" y2="${n(cy + (0.3 + dy) * ry)}" stroke="${whisker}" stroke-width="0.8"/>`);
      }
    }
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 64 64">`,
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(p.top)}"/><stop offset="1" stop-color="${hex(p.bottom)}"/></linearGradient></defs>`,
    '<rect width="64" height="64" fill="url(#bg)"/>',
    ...parts,
    '</svg>',
  ].join('');
}

/** Renders a face into [3, size, size] in [0, 1] (C order). */
export async function renderCritter(domain: CritterDomain, p: CritterParams, size = 64): Promise<Float32Array> {
  // sharp reads the SVG as it reads a PNG: pngToTensor's decode and planar conversion
  const { tensor, width, height } = await pngToTensor(Buffer.from(critterSvg(domain, p, size)));
  if (width !== size || height !== size) throw new Error(`renderCritter: sharp returned ${width}x${height}`);
  return tensor;
}
