/**
 * Symbolic dimensions. A dim is a known number or a symbol with an integer coefficient, written
 * "batch" or "3*batch". Products of symbols do not occur in the networks we build or import
 * (only the batch is dynamic), so anything else becomes a fresh unknown symbol ("?17") that equals
 * only itself. Two dims are equal when their canonical forms are equal.
 */
export type Dim = number | string;

interface Affine {
  c: number;
  s: string | null;
}

let unknownCounter = 0;
export function freshDim(): Dim {
  unknownCounter += 1;
  return `?${unknownCounter}`;
}

export function isStatic(d: Dim): d is number {
  return typeof d === 'number';
}

export function allStatic(ds: readonly Dim[]): ds is number[] {
  return ds.every(isStatic);
}

function parse(d: Dim): Affine {
  if (typeof d === 'number') return { c: d, s: null };
  const m = /^(-?\d+)\*(.+)$/.exec(d);
  if (m) return { c: Number(m[1]), s: m[2] };
  return { c: 1, s: d };
}

function format(a: Affine): Dim {
  if (a.s === null || a.c === 0) return a.c;
  return a.c === 1 ? a.s : `${a.c}*${a.s}`;
}

export function dimEq(a: Dim, b: Dim): boolean {
  return a === b;
}

export function dimMul(a: Dim, b: Dim): Dim {
  const x = parse(a);
  const y = parse(b);
  if (x.s !== null && y.s !== null) return freshDim();
  return format({ c: x.c * y.c, s: x.s ?? y.s });
}

export function dimDiv(a: Dim, b: Dim): Dim {
  const x = parse(a);
  const y = parse(b);
  if (y.s === null) {
    if (y.c !== 0 && x.c % y.c === 0) return format({ c: x.c / y.c, s: x.s });
    if (x.s === null) return Math.floor(x.c / y.c);
    return freshDim();
  }
  if (x.s === y.s && x.c % y.c === 0) return x.c / y.c;
  return freshDim();
}

export function dimAdd(a: Dim, b: Dim): Dim {
  const x = parse(a);
  const y = parse(b);
  if (x.s === null && y.s === null) return x.c + y.c;
  if (x.s === y.s) return format({ c: x.c + y.c, s: x.s });
  if (y.s === null && y.c === 0) return a;
  if (x.s === null && x.c === 0) return b;
  return freshDim();
}

export function dimSub(a: Dim, b: Dim): Dim {
  return dimAdd(a, dimMul(b, -1));
}

export function dimProduct(ds: readonly Dim[]): Dim {
  let p: Dim = 1;
  for (const d of ds) p = dimMul(p, d);
  return p;
}

export function shapeToString(s: readonly Dim[] | null): string {
  return s ? `[${s.join(',')}]` : '[?]';
}
