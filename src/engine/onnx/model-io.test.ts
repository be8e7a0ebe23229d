import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { decodeModel, encodeModel } from './model-io';
import { GraphBuilder } from './builder';
import { DType, floatTensor } from './tensor';
import { inferShapes } from './shape-inference';
import { GraphSession } from '../runtime/session';
import { goldenDir } from '../testing/goldens';
import { Rng } from '../sampling/random';

const goldens = ['dse.onnx', 'score_adm.onnx', 'score_ddpm.onnx'];

test.each(goldens)('%s: load, save and reload give the same outputs; shapes infer statically', async (name) => {
  const bytes = fs.readFileSync(path.join(goldenDir(), name));
  const g = decodeModel(bytes, name);
  const facts = inferShapes(g);
  for (const n of g.nodes) for (const o of n.outputs) expect(facts.get(o)?.shape?.every((d) => typeof d === 'number' || /^(\d+\*)?batch$/.test(d))).toBe(true);
  const rng = new Rng(3);
  const feeds = { x: { data: rng.normals(2 * 3 * 64 * 64), dims: [2, 3, 64, 64] }, t: { data: Float32Array.of(5, 400), dims: [2] } };
  const a = await GraphSession.create(decodeModel(encodeModel(g)));
  const ref = await (await import('onnxruntime-node')).InferenceSession.create(bytes);
  const ours = await a.run(feeds);
  const ort = await import('onnxruntime-node');
  const theirs = await ref.run({ x: new ort.Tensor('float32', feeds.x.data, feeds.x.dims), t: new ort.Tensor('float32', feeds.t.data, feeds.t.dims) });
  const out = g.outputs[0].name;
  expect(Array.from(ours[out].data as Float32Array)).toEqual(Array.from(theirs[out].data as Float32Array));
  await a.release();
  await ref.release();
});

test('initializers stored inline (float_data) load like raw_data ones', async () => {
  const model = onnx.ModelProto.decode(encodeModel(buildTiny()));
  for (const t of model.graph!.initializer!) {
    const raw = t.rawData!;
    t.floatData = Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
    t.rawData = new Uint8Array(0);
  }
  const g = decodeModel(onnx.ModelProto.encode(model).finish());
  expect(Array.from(g.initializers.get('w')!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
  const s = await GraphSession.create(g);
  const r = await s.run({ x: { data: Float32Array.of(1, 1), dims: [1, 2] } });
  expect(Array.from(r.y.data as Float32Array)).toEqual([5, 7, 9]);
  await s.release();
});

function buildTiny() {
  const b = new GraphBuilder({ name: 'tiny' });
  const x = b.input('x', DType.FLOAT, ['batch', 2]);
  const w = b.initializer('w', floatTensor([2, 3], [1, 2, 3, 4, 5, 6]));
  b.output(b.matmul(x, w), 'y');
  return b.graph;
}
