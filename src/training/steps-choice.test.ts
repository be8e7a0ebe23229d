/** The quality-versus-steps table's choice: the fewest steps as good as every step, never a row run with another lambda_i. */
import { chooseSteps, MethodScores, stepCounts } from './evaluate';

const row = (fid: number, accuracy: number, l2: number, failed = 0): MethodScores => ({ label: '', failed, fid, accuracy, l2, psnr: 0, ssim: 0, seconds: 0 });

test('step counts: 500, 200, 100, 50, 25, capped at M and without repeats', () => {
  expect(stepCounts(1000)).toEqual([500, 200, 100, 50, 25]);
  expect(stepCounts(400)).toEqual([400, 200, 100, 50, 25]);
  expect(stepCounts(150)).toEqual([150, 100, 50, 25]);
});

test('the fewest steps within the tolerance wins; a worse L2, FID, accuracy or a failure rules a row out', () => {
  const counts = [400, 200, 100, 50, 25];
  const ref = row(1.0, 1, 3.0);
  expect(chooseSteps(counts, [ref, row(1.0, 1, 3.0), row(1.05, 1, 3.1), row(1.0, 1, 3.3), row(1.0, 1, 3.0, 1)])).toBe(100);
  expect(chooseSteps(counts, [ref, row(1.0, 1, 3.0), row(2.0, 1, 3.0), row(1.0, 0.9, 3.0), row(1.0, 1, 3.2)])).toBe(200);
  expect(chooseSteps(counts, [ref, row(3, 1, 3), row(3, 1, 3), row(3, 1, 3), row(3, 1, 3)])).toBe(400);
});

test('rows run with a smaller lambda_i are not eligible', () => {
  const counts = [400, 200, 100, 50, 25];
  const rows = [row(1, 1, 3), row(1, 1, 3), row(1, 1, 3.05), row(1, 1, 3.1), row(1, 1, 3.1)];
  expect(chooseSteps(counts, rows)).toBe(25);
  expect(chooseSteps(counts, rows, [true, true, true, false, false])).toBe(100);
});
