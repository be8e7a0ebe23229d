import { Rng } from '../engine/toolkit';
import { critterSvg, renderCritter, sampleCritterParams, CritterParams } from './critters';

const S = 64;
const px = (img: Float32Array, x: number, y: number) => [0, 1, 2].map((c) => img[c * S * S + Math.round(y) * S + Math.round(x)]);
const near = (a: number[], b: number[], tol: number) => Math.max(...a.map((v, i) => Math.abs(v - b[i]))) <= tol;

describe('the cat and dog generators (the demo-cat2dog pack)', () => {
  let p: CritterParams;
  let cat: Float32Array;
  let dog: Float32Array;
  beforeAll(async () => {
    p = sampleCritterParams(new Rng(3));
    cat = await renderCritter('cat', p);
    dog = await renderCritter('dog', p);
  });

  test('one draw renders both domains as [3, 64, 64] images in [0, 1]', () => {
    for (const img of [cat, dog]) {
      expect(img.length).toBe(3 * S * S);
      expect(Math.min(...img)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...img)).toBeLessThanOrEqual(1);
    }
  });

  test('domain-independent: the background, the fur on the forehead and the eyes are the same in both', () => {
    // corners: background gradient
    for (const [x, y] of [[0, 0], [63, 0], [0, 63], [63, 63]]) expect(near(px(cat, x, y), px(dog, x, y), 1 / 255)).toBe(true);
    // forehead: fur colour, in both
    const forehead = px(cat, p.cx, p.cy - 0.55 * p.r * p.squash);
    expect(near(forehead, p.fur, 2 / 255)).toBe(true);
    expect(near(px(dog, p.cx, p.cy - 0.55 * p.r * p.squash), p.fur, 2 / 255)).toBe(true);
    // the eyes: the same pixels in both
    for (const side of [-1, 1]) {
      const ex = p.cx + side * 0.38 * p.r;
      const ey = p.cy - 0.15 * p.r * p.squash;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) expect(near(px(cat, ex + dx, ey + dy), px(dog, ex + dx, ey + dy), 1 / 255)).toBe(true);
    }
  });

  test('domain-specific: a cat has ears above its head, a dog a black nose and ears at its sides', () => {
    // above the head: a cat's ears, a dog's background
    const top = Math.floor(p.cy - p.r * p.squash) - 1;
    let above = 0;
    for (let y = 0; y < top; y++) for (let x = 0; x < S; x++) if (!near(px(cat, x, y), px(dog, x, y), 0.1)) above++;
    expect(above).toBeGreaterThan(20);
    // the dog's nose is black, the cat's face there is not
    const nose = [p.cx, p.cy + 0.3 * p.r * p.squash] as const;
    expect(Math.max(...px(dog, ...nose))).toBeLessThan(0.12);
    expect(near(px(cat, ...nose), [0, 0, 0], 0.12)).toBe(false);
    const differing = cat.reduce((n, v, i) => n + (Math.abs(v - dog[i]) > 0.1 ? 1 : 0), 0) / 3;
    expect(differing).toBeGreaterThan(0.05 * S * S);
  });

  test('seeded: the same seed gives the same faces, another seed others', async () => {
    const again = await renderCritter('cat', sampleCritterParams(new Rng(3)));
    expect(Buffer.from(again.buffer).equals(Buffer.from(cat.buffer))).toBe(true);
    const other = await renderCritter('cat', sampleCritterParams(new Rng(4)));
    expect(Buffer.from(other.buffer).equals(Buffer.from(cat.buffer))).toBe(false);
  });

  test('the whole face stays inside the image at every draw', () => {
    const rng = new Rng(11);
    for (let i = 0; i < 200; i++) {
      const q = sampleCritterParams(rng);
      expect(q.cy - 1.45 * q.r * q.squash).toBeGreaterThanOrEqual(0);
      expect(q.cx - 1.22 * q.r).toBeGreaterThanOrEqual(0);
      expect(q.cx + 1.22 * q.r).toBeLessThanOrEqual(S);
      expect(q.cy + q.r * q.squash).toBeLessThanOrEqual(S);
    }
    expect(critterSvg('dog', sampleCritterParams(rng), 32)).toContain('width="32" height="32" viewBox="0 0 64 64"');
  });
});
