/**
 * Bus payloads to and from a string, for a bus that crosses processes. JSON, except that values
 * JSON cannot hold exactly travel as single-key marker objects: a Date as `{ "$date": iso }`
 * (`null` for an invalid Date), a non-finite number or -0 as `{ "$num": "Infinity" }`. A real
 * object whose only key is a marker key is escaped as `{ "$obj": { ... } }`, so nothing is
 * ambiguous. Payloads are plain data: objects, arrays, strings, numbers, booleans, null, Dates.
 */

const MARKERS = ['$date', '$num', '$obj'] as const;
type Marker = (typeof MARKERS)[number];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The only key of `v` when it is a marker key, else undefined. */
function markerOf(v: object): Marker | undefined {
  const keys = Object.keys(v);
  return keys.length === 1 && (MARKERS as readonly string[]).includes(keys[0]) ? (keys[0] as Marker) : undefined;
}

/** Object.fromEntries defines properties, so a key such as "__proto__" stays a plain key. */
function mapValues(v: object, f: (x: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f(x)]));
}

function toJson(v: unknown): unknown {
  if (typeof v === 'number') {
    return Number.isFinite(v) && !Object.is(v, -0) ? v : { $num: Object.is(v, -0) ? '-0' : String(v) };
  }
  if (v instanceof Date) return { $date: Number.isNaN(v.getTime()) ? null : v.toISOString() };
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object' && v !== null) {
    const out = mapValues(v, toJson);
    return markerOf(v) ? { $obj: out } : out;
  }
  return v;
}

function fromJson(v: Json): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (typeof v !== 'object' || v === null) return v;
  const marker = markerOf(v);
  switch (marker) {
    case '$date':
      return new Date((v.$date as string | null) ?? NaN);
    case '$num':
      return Number(v.$num);
    case '$obj':
      return mapValues(v.$obj as object, (x) => fromJson(x as Json));
    case undefined:
      return mapValues(v, (x) => fromJson(x as Json));
    default: {
      const unhandled: never = marker;
      throw new TypeError(`unhandled marker ${String(unhandled)}`);
    }
  }
}

/** The payload as a string; throws a TypeError for a value with no JSON form (undefined, a BigInt). */
export function encodePayload(payload: unknown): string {
  const text = JSON.stringify(toJson(payload)) as string | undefined;
  if (text === undefined) throw new TypeError(`cannot encode a payload of type ${typeof payload}`);
  return text;
}

/** The payload `encodePayload` was given (equal, Dates as Dates); throws a SyntaxError on text that is not JSON. */
export function decodePayload(text: string): unknown {
  return fromJson(JSON.parse(text) as Json);
}
