/**
 * Interpolation weights of ONNX Resize along one axis, as a dense [out, in] matrix, following the
 * operator spec: coordinate_transformation_mode maps an output coordinate to the input, then
 * `nearest` rounds by nearest_mode and `linear` blends the two neighbours (edge-clamped).
 */
import { EngineError } from '../errors';
import { Node, getString } from './ir';

export interface AxisResize {
  /** row-major [out, in] */
  weights: Float32Array;
  identity: boolean;
  /** row-major [in, out] */
  transposed(): Float32Array;
}

export function resizeMatrix(node: Node, inLen: number, outLen: number, scale?: number): AxisResize {
  const mode = getString(node, 'mode', 'nearest');
  const ctm = getString(node, 'coordinate_transformation_mode', 'half_pixel');
  const nearestMode = getString(node, 'nearest_mode', 'round_prefer_floor');
  const s = scale && scale > 0 ? scale : outLen / inLen;
  const toInput = (xr: number): number => {
    switch (ctm) {
      case 'half_pixel':
        return (xr + 0.5) / s - 0.5;
      case 'pytorch_half_pixel':
        return outLen > 1 ? (xr + 0.5) / s - 0.5 : 0;
      case 'align_corners':
        return outLen === 1 ? 0 : (xr * (inLen - 1)) / (outLen - 1);
      case 'asymmetric':
        return xr / s;
      case 'tf_half_pixel_for_nn':
        return (xr + 0.5) / s;
      default:
        throw new EngineError('engine/unsupported_op', `Resize node ${node.name}: coordinate_transformation_mode ${ctm} has no gradient rule`, { op: 'Resize', node: node.name });
    }
  };
  const round = (x: number): number => {
    switch (nearestMode) {
      case 'floor':
        return Math.floor(x);
      case 'ceil':
        return Math.ceil(x);
      case 'round_prefer_ceil':
        return Math.round(x);
      case 'round_prefer_floor':
        return x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x);
      default:
        throw new EngineError('engine/unsupported_op', `Resize node ${node.name}: nearest_mode ${nearestMode}`, { op: 'Resize', node: node.name });
    }
  };
  const w = new Float32Array(outLen * inLen);
  const clamp = (i: number) => Math.max(0, Math.min(inLen - 1, i));
  for (let o = 0; o < outLen; o++) {
    const xi = toInput(o);
    if (mode === 'nearest') w[o * inLen + clamp(round(xi))] += 1;
    else if (mode === 'linear') {
      const x = Math.max(0, Math.min(inLen - 1, xi));
      const x0 = Math.floor(x);
      const x1 = Math.min(x0 + 1, inLen - 1);
      const f = x - x0;
      w[o * inLen + x0] += 1 - f;
      w[o * inLen + x1] += f;
    } else {
      throw new EngineError('engine/unsupported_op', `Resize node ${node.name}: mode ${mode} has no gradient rule`, { op: 'Resize', node: node.name });
    }
  }
  let identity = inLen === outLen;
  if (identity) for (let i = 0; i < outLen && identity; i++) identity = w[i * inLen + i] === 1;
  return {
    weights: w,
    identity,
    transposed: () => {
      const t = new Float32Array(inLen * outLen);
      for (let o = 0; o < outLen; o++) for (let i = 0; i < inLen; i++) t[i * outLen + o] = w[o * inLen + i];
      return t;
    },
  };
}
