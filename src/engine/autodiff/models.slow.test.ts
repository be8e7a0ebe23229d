/**
 * Whole exported networks: the gradient of score_adm.onnx (torch export of the official ADM UNet)
 * with respect to its input and to all of its weights passes the numerical checker, and the DDPM
 * UNet's input gradient too.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeModel } from '../onnx/model-io';
import { isFloatType } from '../onnx/tensor';
import { Rng } from '../sampling/random';
import { goldenDir } from '../testing/goldens';
import { gradCheck, gradCheckPasses } from './gradcheck';

function load(name: string) {
  return decodeModel(fs.readFileSync(path.join(goldenDir(), name)), name);
}

function feeds(batch: number, seed: number) {
  const rng = new Rng(seed);
  return {
    x: { data: rng.normals(batch * 3 * 64 * 64), dims: [batch, 3, 64, 64] },
    t: { data: Float32Array.from({ length: batch }, (_, i) => 100 + 300 * i), dims: [batch] },
  };
}

describe('score_adm.onnx gradients pass the numerical checker', () => {
  const g = load('score_adm.onnx');
  const weights = [...g.initializers].filter(([, t]) => isFloatType(t.dtype) && t.data.length > 1).map(([k]) => k);

  test('with respect to the input, batch 2', async () => {
    const res = await gradCheck(g, { wrt: ['x'], feeds: feeds(2, 1), directions: 3 });
    for (const r of res) expect(gradCheckPasses(r, 1e-3, 3e-4)).toBe(true);
  });

  test(`with respect to all ${weights.length} weight tensors, each alone and jointly`, async () => {
    const res = await gradCheck(g, { wrt: weights, feeds: feeds(1, 2), eps: 2e-3, directions: 1, joint: true });
    // Weights are small (RMS ~0.05), so the step must be too; float32 forward passes (onnxruntime
    // has no float64 Conv) then leave up to ~1.5e-3 of rounding noise on the difference quotient.
    const bad = res.filter((r) => !gradCheckPasses(r, 1e-2, 2e-3));
    expect(bad).toEqual([]);
    expect(res.length).toBe(weights.length + 1);
  });
});

test('score_ddpm.onnx gradient with respect to the input passes the checker', async () => {
  const res = await gradCheck(load('score_ddpm.onnx'), { wrt: ['x'], feeds: feeds(2, 3), directions: 2 });
  for (const r of res) expect(gradCheckPasses(r, 1e-3, 3e-4)).toBe(true);
});
