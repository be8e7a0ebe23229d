import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yazl from 'yazl';
import { EngineError, isEngineError } from '../../errors';
import { decodeModel } from '../../onnx/model-io';
import { DType } from '../../onnx/tensor';
import { halfArrayToFloat32 } from './dtypes';
import { halfToFloat, readTorchCheckpoint, StateDict } from './index';
import { gatherStrided } from './tensor';

const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/egsde-tiny');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-ckpt-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function expectError(p: Promise<unknown>, code: EngineError['code'], ...fragments: string[]): Promise<EngineError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isEngineError(e, code)) throw new Error(`expected ${code}, got ${e instanceof Error ? e.message : String(e)}`);
  for (const f of fragments) expect(e.message).toContain(f);
  return e;
}

// ---------------------------------------------------------------------------------------------
// A minimal protocol-2 pickle writer emitting the opcode sequence torch.save produces
// (see Lib/pickletools.py for each opcode), to build synthetic checkpoints.

class Pickle {
  private bytes: number[] = [0x80, 2]; // PROTO 2
  private raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  private text(s: string): this {
    return this.raw(...Buffer.from(s, 'utf8'));
  }
  global(module: string, name: string): this {
    return this.raw(0x63).text(`${module}\n${name}\n`); // GLOBAL
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.raw(0x58, ...len, ...b); // BINUNICODE
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n); // BININT1
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.raw(0x4a, ...b); // BININT
  }
  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  newobj(): this {
    return this.raw(0x81); // NEWOBJ
  }
  build(): this {
    return this.raw(0x62); // BUILD
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  ints(xs: number[]): this {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }
  /** torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()) */
  tensor(t: SynthTensor): this {
    this.global('torch._utils', '_rebuild_tensor_v2').mark();
    this.mark().str('storage').global('torch', t.cls).str(t.key).str('cpu').int(t.numel).tuple();
    this.raw(0x51); // BINPERSID
    this.int(t.offset ?? 0).ints(t.shape).ints(t.stride);
    this.raw(0x89); // NEWFALSE
    return this.orderedDict().tuple().reduce();
  }
  stop(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]); // STOP
  }
}

interface SynthTensor {
  cls: string;
  key: string;
  numel: number;
  shape: number[];
  stride: number[];
  offset?: number;
}

async function writeZip(file: string, entries: Array<[string, Uint8Array]>, { compress = false, zip64 = false } = {}): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(Buffer.from(data), name, { compress, forceZip64Format: zip64 });
  zip.end({ forceZip64Format: zip64, comment: '' });
  await new Promise<void>((resolve, reject) => {
    const out = fs.createWriteStream(file);
    zip.outputStream.pipe(out).on('close', resolve).on('error', reject);
  });
  return file;
}

const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
const u16 = (xs: number[]) => new Uint8Array(Uint16Array.from(xs).buffer);
const f64 = (xs: number[]) => new Uint8Array(Float64Array.from(xs).buffer);
const i64 = (xs: bigint[]) => new Uint8Array(BigInt64Array.from(xs).buffer);

/** a state dict: key -> tensor, or a raw number (a non-tensor value) */
type SynthDict = Array<[string, SynthTensor | number]>;

function pickleDict(p: Pickle, dict: SynthDict): Pickle {
  p.orderedDict().mark();
  for (const [k, v] of dict) {
    p.str(k);
    if (typeof v === 'number') p.int(v);
    else p.tensor(v);
  }
  return p.setitems();
}

// ---------------------------------------------------------------------------------------------

describe('readTorchCheckpoint on the official-architecture fixtures', () => {
  const cases: Array<[string, number, number]> = [
    // name, tensors in the state_dict, of which are ONNX initializers of the same name
    ['score_adm', 198, 128],
    ['dse', 121, 74],
    ['score_ddpm', 114, 78],
  ];
  it.each(cases)('%s.pt loads %i tensors equal to the ONNX initializers', async (name, count, shared) => {
    const sd = await readTorchCheckpoint(path.join(FIXTURES, `${name}.pt`));
    expect(sd.size).toBe(count);
    const graph = decodeModel(fs.readFileSync(path.join(FIXTURES, `${name}.onnx`)), name);
    let compared = 0;
    for (const [key, t] of sd) {
      expect(t.dtype).toBe('float32');
      expect(t.data).toBeInstanceOf(Float32Array);
      expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      const init = graph.initializers.get(key);
      if (!init) continue;
      expect(init.dtype).toBe(DType.FLOAT);
      expect(t.shape).toEqual(init.dims);
      const a = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const b = Buffer.from(init.data.buffer, init.data.byteOffset, init.data.byteLength);
      expect(a.equals(b)).toBe(true);
      compared++;
    }
    expect(compared).toBe(shared);
  });

  it('reports progress up to the total', async () => {
    const calls: Array<[number, number]> = [];
    await readTorchCheckpoint(path.join(FIXTURES, 'score_ddpm.pt'), { onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.length).toBeGreaterThan(1);
    const total = calls[0][1];
    expect(calls.every(([, t]) => t === total)).toBe(true);
    for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThanOrEqual(calls[i - 1][0]);
    expect(calls[calls.length - 1]).toEqual([total, total]);
    // the bytes read are the pickle and the storages, a little less than the file
    expect(total).toBeLessThanOrEqual(fs.statSync(path.join(FIXTURES, 'score_ddpm.pt')).size);
    expect(total).toBeGreaterThan(0.95 * fs.statSync(path.join(FIXTURES, 'score_ddpm.pt')).size);
  });

  it('passes an exception thrown by the progress callback through unchanged', async () => {
    const stop = new Error('cancelled by the caller');
    let calls = 0;
    const onProgress = () => {
      if (++calls === 3) throw stop;
    };
    await expect(readTorchCheckpoint(path.join(FIXTURES, 'dse.pt'), { onProgress })).rejects.toBe(stop);
  });
});

describe('readTorchCheckpoint errors', () => {
  it('rejects a truncated checkpoint as checkpoint/invalid', async () => {
    const src = fs.readFileSync(path.join(FIXTURES, 'score_adm.pt'));
    const file = path.join(tmp, 'truncated.pt');
    fs.writeFileSync(file, src.subarray(0, src.length >> 1));
    await expectError(readTorchCheckpoint(file), 'checkpoint/invalid', file);
  });

  it('rejects the legacy torch.save format with how to re-save it', async () => {
    const file = path.join(tmp, 'legacy.pt');
    const magic = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
    fs.writeFileSync(file, Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, ...magic, 0x2e]));
    const e = await expectError(readTorchCheckpoint(file), 'checkpoint/legacy_format', file, 'torch.save', 'torch.load');
    expect(e.message).toContain("python -c \"import torch; torch.save(torch.load('old.pt', map_location='cpu'), 'new.pt')\"");
  });

  it('rejects random bytes, an empty file and a missing file as checkpoint/invalid', async () => {
    const junk = path.join(tmp, 'junk.pt');
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);
    bytes[0] = 0x13; // neither 'P' nor PROTO
    fs.writeFileSync(junk, bytes);
    await expectError(readTorchCheckpoint(junk), 'checkpoint/invalid', junk, 'not a PyTorch checkpoint');
    const empty = path.join(tmp, 'empty.pt');
    fs.writeFileSync(empty, '');
    await expectError(readTorchCheckpoint(empty), 'checkpoint/invalid', empty, 'empty');
    const missing = path.join(tmp, 'missing.pt');
    await expectError(readTorchCheckpoint(missing), 'checkpoint/invalid', missing, 'ENOENT');
    await expectError(readTorchCheckpoint(tmp), 'checkpoint/invalid', tmp);
  });

  it('rejects a zip that is not a checkpoint and a corrupt pickle as checkpoint/invalid', async () => {
    const notCkpt = await writeZip(path.join(tmp, 'plain.zip'), [['readme.txt', Buffer.from('hello')]]);
    await expectError(readTorchCheckpoint(notCkpt), 'checkpoint/invalid', notCkpt, 'data.pkl');
    const pkl = pickleDict(new Pickle(), [['w', { cls: 'FloatStorage', key: '0', numel: 1, shape: [1], stride: [1] }]]).stop();
    const cut = await writeZip(path.join(tmp, 'cutpkl.pt'), [
      ['archive/data.pkl', pkl.subarray(0, pkl.length - 20)],
      ['archive/data/0', f32([1])],
    ]);
    await expectError(readTorchCheckpoint(cut), 'checkpoint/invalid', cut, 'data.pkl is not a valid pickle');
  });

  it('rejects a missing storage, a short storage and out-of-range strides as checkpoint/invalid', async () => {
    const t = (shape: number[], stride: number[], offset = 0): SynthDict => [['w', { cls: 'FloatStorage', key: '0', numel: 4, shape, stride, offset }]];
    const noStorage = await writeZip(path.join(tmp, 'nostorage.pt'), [['a/data.pkl', pickleDict(new Pickle(), t([4], [1])).stop()]]);
    await expectError(readTorchCheckpoint(noStorage), 'checkpoint/invalid', noStorage, 'a/data/0');
    const short = await writeZip(path.join(tmp, 'short.pt'), [
      ['a/data.pkl', pickleDict(new Pickle(), t([4], [1])).stop()],
      ['a/data/0', f32([1, 2])],
    ]);
    await expectError(readTorchCheckpoint(short), 'checkpoint/invalid', short, 'storage 0');
    const outOfRange = await writeZip(path.join(tmp, 'range.pt'), [
      ['a/data.pkl', pickleDict(new Pickle(), t([2, 2], [2, 1], 1)).stop()],
      ['a/data/0', f32([1, 2, 3, 4])],
    ]);
    await expectError(readTorchCheckpoint(outOfRange), 'checkpoint/invalid', outOfRange, 'tensor w');
  });

  it('rejects an unknown storage dtype and unknown globals as checkpoint/unsupported, naming them', async () => {
    const intStorage = await writeZip(path.join(tmp, 'int.pt'), [
      ['a/data.pkl', pickleDict(new Pickle(), [['idx', { cls: 'IntStorage', key: '0', numel: 2, shape: [2], stride: [1] }]]).stop()],
      ['a/data/0', new Uint8Array(8)],
    ]);
    await expectError(readTorchCheckpoint(intStorage), 'checkpoint/unsupported', intStorage, 'torch.IntStorage');

    // a state dict value built by a rebuild function the reader does not know
    const q = new Pickle().orderedDict().mark().str('q').global('torch._utils', '_rebuild_qtensor').mark().int(1).tuple().reduce().setitems();
    const qfile = await writeZip(path.join(tmp, 'qtensor.pt'), [['a/data.pkl', q.stop()]]);
    await expectError(readTorchCheckpoint(qfile), 'checkpoint/unsupported', qfile, 'torch._utils._rebuild_qtensor');

    // a whole pickled nn.Module instead of a state dict
    const model = new Pickle().global('__main__', 'Net').emptyTuple().newobj().emptyDict().mark().str('training').int(1).setitems().build();
    const mfile = await writeZip(path.join(tmp, 'module.pt'), [['a/data.pkl', model.stop()]]);
    await expectError(readTorchCheckpoint(mfile), 'checkpoint/unsupported', mfile, '__main__.Net', 'state_dict');
  });
});

describe('synthetic checkpoints', () => {
  const half: SynthTensor = { cls: 'HalfStorage', key: '0', numel: 6, shape: [2, 3], stride: [3, 1] };
  const transposed: SynthTensor = { cls: 'FloatStorage', key: '1', numel: 6, shape: [3, 2], stride: [1, 3] };
  const column: SynthTensor = { cls: 'FloatStorage', key: '1', numel: 6, shape: [2], stride: [3], offset: 2 };
  const bf16: SynthTensor = { cls: 'BFloat16Storage', key: '2', numel: 2, shape: [2], stride: [1] };
  const double: SynthTensor = { cls: 'DoubleStorage', key: '3', numel: 3, shape: [1, 3], stride: [3, 1] };
  const scalar: SynthTensor = { cls: 'LongStorage', key: '4', numel: 1, shape: [], stride: [] };
  const storages: Array<[string, Uint8Array]> = [
    ['ckpt/data/0', u16([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x3800])],
    ['ckpt/data/1', f32([0, 1, 2, 3, 4, 5])],
    ['ckpt/data/2', u16([0x3f80, 0xc040])],
    ['ckpt/data/3', f64([0.1, 1e300, -2.5])],
    ['ckpt/data/4', i64([12345678901234n])],
    ['ckpt/version', Buffer.from('3\n')],
    ['ckpt/byteorder', Buffer.from('little')],
  ];
  const dict: SynthDict = [
    ['module.half', half],
    ['module.t', transposed],
    ['module.col', column],
    ['module.bf', bf16],
    ['module.d', double],
    ['module.num_batches_tracked', scalar],
    ['module.step', 7],
  ];

  function checkAll(sd: StateDict): void {
    expect([...sd.keys()]).toEqual(['half', 't', 'col', 'bf', 'd', 'num_batches_tracked']);
    const get = (k: string) => {
      const t = sd.get(k);
      if (!t) throw new Error(`no ${k}`);
      return t;
    };
    const floats = (k: string) => {
      const d = get(k).data;
      if (!(d instanceof Float32Array)) throw new Error(`${k} is not float32 data`);
      return Array.from(d);
    };
    expect(get('half')).toMatchObject({ dtype: 'float16', shape: [2, 3] });
    expect(floats('half')).toEqual([1, -2, 65504, 2 ** -24, Infinity, 0.5]);
    expect(get('t')).toMatchObject({ dtype: 'float32', shape: [3, 2] });
    expect(floats('t')).toEqual([0, 3, 1, 4, 2, 5]);
    expect(floats('col')).toEqual([2, 5]);
    expect(get('bf')).toMatchObject({ dtype: 'bfloat16', shape: [2] });
    expect(floats('bf')).toEqual([1, -3]);
    expect(get('d')).toMatchObject({ dtype: 'float64', shape: [1, 3] });
    expect(floats('d')).toEqual([Math.fround(0.1), Infinity, -2.5]);
    expect(get('num_batches_tracked')).toMatchObject({ dtype: 'int64', shape: [] });
    expect(get('num_batches_tracked').data).toBeInstanceOf(BigInt64Array);
    expect((get('num_batches_tracked').data as BigInt64Array)[0]).toBe(12345678901234n);
  }

  it('reads float16, bfloat16, float64, int64, transposed and offset views of a shared storage', async () => {
    const pkl = new Pickle().emptyDict().mark().str('epoch').int(3).str('state_dict');
    pickleDict(pkl, dict).setitems();
    const file = await writeZip(path.join(tmp, 'synthetic.pt'), [['ckpt/data.pkl', pkl.stop()], ...storages]);
    const calls: number[][] = [];
    const sd = await readTorchCheckpoint(file, { onProgress: (a, b) => calls.push([a, b]) });
    checkAll(sd);
    const storageBytes = storages.filter(([n]) => n.includes('/data/')).reduce((a, [, b]) => a + b.length, 0);
    const total = calls[calls.length - 1][1];
    expect(calls[calls.length - 1][0]).toBe(total);
    expect(total).toBeGreaterThan(storageBytes);
  });

  it('reads deflated entries and zip64 archives too', async () => {
    const entries: Array<[string, Uint8Array]> = [['ckpt/data.pkl', pickleDict(new Pickle(), dict).stop()], ...storages];
    checkAll(await readTorchCheckpoint(await writeZip(path.join(tmp, 'deflated.pt'), entries, { compress: true })));
    const zip64 = await writeZip(path.join(tmp, 'zip64.pt'), entries, { zip64: true });
    expect(fs.readFileSync(zip64).includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // zip64 end of central directory
    checkAll(await readTorchCheckpoint(zip64));
  });

  it("picks the first of 'state_dict' / 'model' / 'ema' that is a dict of tensors, and keeps 'module.' unless every key has it", async () => {
    const w: SynthTensor = { cls: 'FloatStorage', key: '1', numel: 6, shape: [6], stride: [1] };
    const pkl = new Pickle().emptyDict().mark();
    pkl.str('state_dict').int(1); // not a dict
    pkl.str('model').emptyDict().mark().str('note').str('no tensors here').setitems();
    pkl.str('ema');
    pickleDict(pkl, [['module.a', w], ['b', w]]);
    pkl.setitems();
    const file = await writeZip(path.join(tmp, 'ema.pt'), [['x/data.pkl', pkl.stop()], ['x/data/1', f32([0, 1, 2, 3, 4, 5])]]);
    const sd = await readTorchCheckpoint(file);
    expect([...sd.keys()]).toEqual(['module.a', 'b']);
    // two tensors sharing one storage get separate arrays
    expect(sd.get('module.a')?.data).not.toBe(sd.get('b')?.data);
    expect(Array.from(sd.get('b')?.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('conversions', () => {
  it('converts IEEE half floats exactly', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x0001)).toBeCloseTo(5.96e-8, 9);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(halfToFloat(0x0400)).toBe(2 ** -14); // smallest normal
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x3555)).toBe(0.333251953125);
    // the lookup table used for arrays agrees with the scalar function on every bit pattern
    const all = halfArrayToFloat32(Uint16Array.from({ length: 65536 }, (_, i) => i));
    for (let h = 0; h < 65536; h++) {
      const want = halfToFloat(h);
      if (!Object.is(all[h], want) && !(Number.isNaN(want) && Number.isNaN(all[h]))) throw new Error(`half 0x${h.toString(16)}`);
    }
  });

  it('gathers by strides: transposes, broadcasts (stride 0) and offsets', () => {
    const src = Float32Array.from({ length: 24 }, (_, i) => i);
    const out = new Float32Array(6);
    gatherStrided(src, out, [2, 3], [1, 2], 0); // transpose of a [3,2] block
    expect(Array.from(out)).toEqual([0, 2, 4, 1, 3, 5]);
    gatherStrided(src, out, [2, 3], [0, 1], 5); // a row repeated
    expect(Array.from(out)).toEqual([5, 6, 7, 5, 6, 7]);
    const out3 = new Float32Array(8);
    gatherStrided(src, out3, [2, 2, 2], [12, 1, 4], 1);
    expect(Array.from(out3)).toEqual([1, 5, 2, 6, 13, 17, 14, 18]);
  });
});
