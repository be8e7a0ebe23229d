/**
 * The realism-faithfulness frontier as a PNG: FID (log scale, lower is more real) against L2 to
 * the source (lower is more faithful), one curve per method, each point with its bootstrap
 * intervals on both axes and its label. Drawn as SVG, rasterised by sharp.
 */
import sharp from 'sharp';
import type { Interval } from '../metrics/bootstrap';

export interface FrontierPoint {
  label: string;
  l2: number;
  fid: number;
  l2Ci?: Interval;
  fidCi?: Interval;
}

export interface FrontierCurve {
  name: string;
  color: string;
  points: FrontierPoint[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export async function frontierPng(curves: FrontierCurve[], title: string, floorFid?: number): Promise<Buffer> {
  const W = 760;
  const H = 520;
  const m = { l: 70, r: 200, t: 40, b: 55 };
  const pts = curves.flatMap((c) => c.points).filter((p) => Number.isFinite(p.l2) && Number.isFinite(p.fid) && p.fid > 0);
  const xs = pts.flatMap((p) => [p.l2, ...(p.l2Ci ?? [])]).filter(Number.isFinite);
  const ys = pts.flatMap((p) => [p.fid, ...(p.fidCi ?? [])]).filter((v) => Number.isFinite(v) && v > 0);
  if (floorFid && floorFid > 0) ys.push(floorFid);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const pad = (x1 - x0) * 0.05 || 0.1;
  const [lx0, lx1] = [x0 - pad, x1 + pad];
  const [ly0, ly1] = [Math.log10(Math.min(...ys)) - 0.05, Math.log10(Math.max(...ys)) + 0.05];
  const X = (v: number) => m.l + ((v - lx0) / (lx1 - lx0)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - ((Math.log10(v) - ly0) / (ly1 - ly0)) * (H - m.t - m.b);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="#fff"/>`];
  out.push(`<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  // axes and ticks
  out.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = lx0 + ((lx1 - lx0) * i) / 5;
    out.push(`<line x1="${X(v)}" y1="${H - m.b}" x2="${X(v)}" y2="${H - m.b + 5}" stroke="#333"/><text x="${X(v)}" y="${H - m.b + 18}" text-anchor="middle">${v.toFixed(2)}</text>`);
  }
  for (let e = Math.floor(ly0); e <= Math.ceil(ly1); e++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** e;
      if (Math.log10(v) < ly0 || Math.log10(v) > ly1) continue;
      out.push(`<line x1="${m.l - 5}" y1="${Y(v)}" x2="${W - m.r}" y2="${Y(v)}" stroke="#eee"/><text x="${m.l - 8}" y="${Y(v) + 4}" text-anchor="end">${v}</text>`);
    }
  }
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 15}" text-anchor="middle">L2 to the source (lower: more faithful)</text>`);
  out.push(`<text x="18" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(m.t + H - m.b) / 2})">FID (log; lower: more real)</text>`);
  if (floorFid && floorFid > 0) out.push(`<line x1="${m.l}" y1="${Y(floorFid)}" x2="${W - m.r}" y2="${Y(floorFid)}" stroke="#999" stroke-dasharray="4 3"/><text x="${W - m.r - 4}" y="${Y(floorFid) - 4}" text-anchor="end" fill="#666">FID floor (real vs real)</text>`);
  curves.forEach((c, ci) => {
    const ok = c.points.filter((p) => Number.isFinite(p.l2) && Number.isFinite(p.fid) && p.fid > 0);
    out.push(`<polyline fill="none" stroke="${c.color}" stroke-width="2" points="${ok.map((p) => `${X(p.l2)},${Y(p.fid)}`).join(' ')}"/>`);
    for (const p of ok) {
      if (p.l2Ci) out.push(`<line x1="${X(p.l2Ci[0])}" y1="${Y(p.fid)}" x2="${X(p.l2Ci[1])}" y2="${Y(p.fid)}" stroke="${c.color}" opacity="0.6"/>`);
      if (p.fidCi && p.fidCi[0] > 0) out.push(`<line x1="${X(p.l2)}" y1="${Y(p.fidCi[0])}" x2="${X(p.l2)}" y2="${Y(p.fidCi[1])}" stroke="${c.color}" opacity="0.6"/>`);
      out.push(`<circle cx="${X(p.l2)}" cy="${Y(p.fid)}" r="3.5" fill="${c.color}"/><text x="${X(p.l2) + 5}" y="${Y(p.fid) - 5}" fill="${c.color}" font-size="10">${esc(p.label)}</text>`);
    }
    out.push(`<rect x="${W - m.r + 15}" y="${m.t + 20 * ci}" width="14" height="4" fill="${c.color}"/><text x="${W - m.r + 35}" y="${m.t + 20 * ci + 6}">${esc(c.name)}</text>`);
  });
  out.push('</svg>');
  return sharp(Buffer.from(out.join(''))).png().toBuffer();
}
