import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { decodeModel, encodeModel, saveModelWithExternalData } from './model-io';
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
  // the golden file itself, under the same session options
  const ref = await GraphSession.open(path.join(goldenDir(), name));
  // and saved with external data, loaded by onnxruntime from the file pair
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-extdata-'));
  const { weightBytes } = saveModelWithExternalData(g, path.join(dir, 'm.onnx'), 'm.weights');
  expect(fs.statSync(path.join(dir, 'm.weights')).size).toBe(weightBytes);
  const ext = await GraphSession.open(path.join(dir, 'm.onnx'));
  const out = g.outputs[0].name;
  const theirs = Array.from((await ref.run(feeds))[out].data as Float32Array);
  expect(Array.from((await a.run(feeds))[out].data as Float32Array)).toEqual(theirs);
  expect(Array.from((await ext.run(feeds))[out].data as Float32Array)).toEqual(theirs);
  for (const s of [a, ref, ext]) await s.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('external data: large tensors start on page boundaries, small ones stay inline, nothing is missing', () => {
  const b = new GraphBuilder({ name: 'ext' });
  const x = b.input('x', DType.FLOAT, ['batch', 300]);
  const big = b.initializer('big', floatTensor([300, 300], new Float32Array(90000).map((_, i) => i)));
  const big2 = b.initializer('big2', floatTensor([300, 300], new Float32Array(90000).fill(2)));
  const small = b.initializer('small', floatTensor([3], [1, 2, 3]));
  b.output(b.matmul(b.matmul(x, big), big2), 'y');
  b.output(small, 's');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-extdata-'));
  saveModelWithExternalData(b.graph, path.join(dir, 'm.onnx'), 'm.weights');
  const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'm.onnx')));
  const inits = new Map(model.graph!.initializer!.map((t) => [t.name!, t]));
  expect(inits.get('small')!.dataLocation ?? 0).toBe(onnx.TensorProto.DataLocation.DEFAULT);
  const weights = fs.readFileSync(path.join(dir, 'm.weights'));
  for (const name of ['big', 'big2']) {
    const t = inits.get(name)!;
    expect(t.dataLocation).toBe(onnx.TensorProto.DataLocation.EXTERNAL);
    const kv = Object.fromEntries(t.externalData!.map((e) => [e.key, e.value]));
    expect(kv.location).toBe('m.weights');
    expect(Number(kv.offset) % 4096).toBe(0);
    const got = new Float32Array(weights.buffer.slice(weights.byteOffset + Number(kv.offset), weights.byteOffset + Number(kv.offset) + Number(kv.length)));
    expect(Array.from(got)).toEqual(Array.from(b.graph.initializers.get(name)!.data as Float32Array));
  }
  expect(() => saveModelWithExternalData(b.graph, path.join(dir, 'n.onnx'), 'sub/n.weights')).toThrow(/bare name/);
  fs.rmSync(dir, { recursive: true, force: true });
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
