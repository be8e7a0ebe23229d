/**
 * Load and save ONNX models: onnx.proto (ModelProto) through the `onnx-proto` package (protobufjs
 * code generated from the official onnx.proto) <-> the graph IR. Initializers stored inline
 * (float_data, int64_data, ...) and as raw_data both load; saving always writes raw_data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { EngineError } from '../errors';
import { Attr, Attrs, Graph, Node, ValueInfo } from './ir';
import { DType, Tensor, TensorData, numel } from './tensor';
import { Dim } from './dims';

type Longish = number | { toString(): string } | null | undefined;

function toNum(v: Longish): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

function copyBytes(raw: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(raw.byteLength);
  new Uint8Array(buf).set(raw);
  return buf;
}

export function tensorFromProto(t: onnx.ITensorProto, where: string): Tensor {
  const dims = (t.dims ?? []).map((d) => toNum(d as Longish));
  const n = numel(dims);
  const dtype = (t.dataType ?? 0) as DType;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new EngineError('engine/invalid_model', `${where}: tensor ${t.name} uses external data, which is not supported; re-save the model with all tensors inline`);
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  let data: TensorData;
  switch (dtype) {
    case DType.FLOAT:
      data = raw ? new Float32Array(copyBytes(raw)) : Float32Array.from(t.floatData ?? []);
      break;
    case DType.DOUBLE:
      data = raw ? new Float64Array(copyBytes(raw)) : Float64Array.from(t.doubleData ?? []);
      break;
    case DType.INT64:
      data = raw ? new BigInt64Array(copyBytes(raw)) : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(String(v))));
      break;
    case DType.INT32:
      data = raw ? new Int32Array(copyBytes(raw)) : Int32Array.from(t.int32Data ?? []);
      break;
    case DType.BOOL:
    case DType.UINT8:
      data = raw ? new Uint8Array(copyBytes(raw)) : Uint8Array.from(t.int32Data ?? []);
      break;
    case DType.INT8:
      data = raw ? new Int8Array(copyBytes(raw)) : Int8Array.from(t.int32Data ?? []);
      break;
    case DType.FLOAT16:
      data = raw ? new Uint16Array(copyBytes(raw)) : Uint16Array.from(t.int32Data ?? []);
      break;
    default:
      throw new EngineError('engine/invalid_model', `${where}: tensor ${t.name} has unsupported data type ${dtype}`);
  }
  if (data.length !== n) {
    throw new EngineError('engine/invalid_model', `${where}: tensor ${t.name} has ${data.length} elements but dims [${dims}] need ${n}`);
  }
  return { dtype, dims, data };
}

export function tensorToProto(name: string, t: Tensor): onnx.ITensorProto {
  const d = t.data;
  return {
    name,
    dims: t.dims,
    dataType: t.dtype,
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  };
}

function attrFromProto(a: onnx.IAttributeProto, where: string): Attr | null {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return { type: 'int', value: toNum(a.i as Longish) };
    case T.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case T.STRING:
      return { type: 'string', value: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
    case T.INTS:
      return { type: 'ints', value: (a.ints ?? []).map((v) => toNum(v as Longish)) };
    case T.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case T.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    case T.TENSOR:
      return { type: 'tensor', value: tensorFromProto(a.t ?? {}, where) };
    default:
      throw new EngineError('engine/invalid_model', `${where}: attribute ${a.name} has unsupported type ${a.type}`);
  }
}

function attrToProto(name: string, a: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
    case 'floats':
      return { name, type: T.FLOATS, floats: a.value };
    case 'strings':
      return { name, type: T.STRINGS, strings: a.value.map((s) => Buffer.from(s, 'utf8')) };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorToProto('', a.value) };
  }
}

function valueInfoFromProto(v: onnx.IValueInfoProto, where: string): ValueInfo {
  const tt = v.type?.tensorType;
  if (!tt) throw new EngineError('engine/invalid_model', `${where}: value ${v.name} is not a tensor`);
  const shape: Dim[] | null = tt.shape
    ? (tt.shape.dim ?? []).map((d, i) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? toNum(d.dimValue as Longish) : `${v.name}_dim${i}`))
    : null;
  return { name: v.name ?? '', dtype: (tt.elemType ?? 0) as DType, shape };
}

function valueInfoToProto(v: ValueInfo): onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.dtype,
        shape: v.shape ? { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  };
}

/** Decode ONNX bytes into the IR. Malformed input gives engine/invalid_model. */
export function decodeModel(bytes: Uint8Array, where = 'model'): Graph {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new EngineError('engine/invalid_model', `${where}: not a valid ONNX model (${(e as Error).message})`);
  }
  const g = model.graph;
  if (!g || !g.node || g.node.length === 0) {
    throw new EngineError('engine/invalid_model', `${where}: ONNX model has no graph or an empty graph`);
  }
  const defaultOpset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!defaultOpset) throw new EngineError('engine/invalid_model', `${where}: no default-domain opset import`);
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorFromProto(t, where));
  const nodes: Node[] = (g.node ?? []).map((n, i) => {
    const attrs: Attrs = {};
    for (const a of n.attribute ?? []) {
      const v = attrFromProto(a, `${where} node ${n.name}`);
      if (v) attrs[a.name ?? ''] = v;
    }
    return {
      name: n.name || `${n.opType}_${i}`,
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs,
    };
  });
  const graph: Graph = {
    name: g.name ?? 'graph',
    opset: toNum(defaultOpset.version as Longish),
    nodes,
    inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => valueInfoFromProto(v, where)),
    outputs: (g.output ?? []).map((v) => valueInfoFromProto(v, where)),
    initializers,
  };
  return graph;
}

function modelProto(g: Graph, initializer: onnx.ITensorProto[]): onnx.IModelProto {
  return {
    irVersion: 8,
    producerName: 'egsde-service',
    opsetImport: [{ domain: '', version: g.opset }],
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        domain: n.domain,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attrToProto(k, a)),
      })),
      initializer,
      input: g.inputs.map(valueInfoToProto),
      output: g.outputs.map(valueInfoToProto),
    },
  };
}

/** Encode the IR as ONNX bytes (ir_version 8, the graph's default opset). */
export function encodeModel(g: Graph): Uint8Array {
  return onnx.ModelProto.encode(modelProto(g, [...g.initializers].map(([name, t]) => tensorToProto(name, t)))).finish();
}

/** Tensors at least this big go to the external data file; smaller ones stay inline. */
const EXTERNAL_MIN_BYTES = 1024;
/** External tensors start on a page boundary, so onnxruntime can map them instead of copying. */
const EXTERNAL_ALIGN = 4096;

/**
 * Save the IR as `modelFile` with its large initializers in `weightsFile` (a bare file name in
 * the same folder; ONNX external data, page-aligned offsets). Written tensor by tensor: no copy
 * of all the weights is ever held in memory. The caller makes the pair appear atomically.
 */
export function saveModelWithExternalData(g: Graph, modelFile: string, weightsFile: string): { weightBytes: number } {
  if (weightsFile.includes('/') || weightsFile.includes('\\')) throw new Error(`external data file must be a bare name, got ${weightsFile}`);
  const fd = fs.openSync(path.join(path.dirname(modelFile), weightsFile), 'w');
  const initializer: onnx.ITensorProto[] = [];
  let offset = 0;
  try {
    for (const [name, t] of g.initializers) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      if (bytes.byteLength < EXTERNAL_MIN_BYTES) {
        initializer.push(tensorToProto(name, t));
        continue;
      }
      offset = Math.ceil(offset / EXTERNAL_ALIGN) * EXTERNAL_ALIGN;
      fs.writeSync(fd, bytes, 0, bytes.byteLength, offset);
      initializer.push({
        name,
        dims: t.dims,
        dataType: t.dtype,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: weightsFile },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      });
      offset += bytes.byteLength;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(modelFile, onnx.ModelProto.encode(modelProto(g, initializer)).finish());
  return { weightBytes: offset };
}
