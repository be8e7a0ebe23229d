/** The frontier plot is a PNG of the requested size with one coloured curve per method. */
import sharp from 'sharp';
import { frontierPng } from './frontier-plot';

test('draws every curve in its colour', async () => {
  const png = await frontierPng(
    [
      { name: 'A', color: '#ff0000', points: [{ label: 'M 40', l2: 2, fid: 5, l2Ci: [1.8, 2.2], fidCi: [4, 6] }, { label: 'M 120', l2: 3, fid: 1.5 }] },
      { name: 'B', color: '#0000ff', points: [{ label: 'M 40', l2: 2.2, fid: 6 }, { label: 'M 120', l2: 2.9, fid: 2 }, { label: 'bad', l2: NaN, fid: 1 }] },
    ],
    'test',
    0.5,
  );
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([760, 520]);
  let red = 0;
  let blue = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    if (data[i] > 200 && data[i + 1] < 60 && data[i + 2] < 60) red++;
    if (data[i] < 60 && data[i + 1] < 60 && data[i + 2] > 200) blue++;
  }
  expect(red).toBeGreaterThan(100);
  expect(blue).toBeGreaterThan(100);
});
