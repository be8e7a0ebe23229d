/** The bus payload codec: exact round trips, the marker escapes, and what it refuses. */
import { decodePayload, encodePayload } from './codec';

const roundTrip = (v: unknown) => decodePayload(encodePayload(v));

describe('payload codec', () => {
  test('plain JSON values round-trip and stay plain JSON', () => {
    const v = { s: 'é ✓ "q"\n', n: 1.5, i: -3, t: true, f: false, z: null, a: [1, [2, { b: [] }]], o: {} };
    expect(roundTrip(v)).toEqual(v);
    expect(encodePayload(v)).toBe(JSON.stringify(v));
    for (const scalar of ['', 'x', 0, 42, true, null]) expect(roundTrip(scalar)).toBe(scalar);
  });

  test('Dates come back as Dates, at any depth', () => {
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const out = roundTrip({ at, list: [at, { deeper: at }] }) as { at: Date; list: [Date, { deeper: Date }] };
    expect(out).toEqual({ at, list: [at, { deeper: at }] });
    expect(out.at).toBeInstanceOf(Date);
    expect(out.list[0]).toBeInstanceOf(Date);
    expect(out.list[1].deeper.getTime()).toBe(at.getTime());
    expect(roundTrip(at)).toEqual(at);
    const invalid = roundTrip(new Date(NaN));
    expect(invalid).toBeInstanceOf(Date);
    expect((invalid as Date).getTime()).toBeNaN();
  });

  test('non-finite numbers and -0 round-trip', () => {
    expect(roundTrip([Infinity, -Infinity, NaN, -0, 0])).toEqual([Infinity, -Infinity, NaN, -0, 0]);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    expect(roundTrip({ e: { energy: -Infinity } })).toEqual({ e: { energy: -Infinity } });
  });

  test('real objects shaped like markers are escaped, not reinterpreted', () => {
    const tricky = [{ $date: '2026-01-01T00:00:00.000Z' }, { $num: 'Infinity' }, { $obj: { $num: 'NaN' } }, { $date: 1, other: 2 }];
    const out = roundTrip(tricky) as unknown[];
    expect(out).toEqual(tricky);
    expect(out[0]).not.toBeInstanceOf(Date);
    expect(typeof (out[1] as { $num: unknown }).$num).toBe('string');
  });

  test('a "__proto__" key stays an own key', () => {
    const out = decodePayload('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('values with no JSON form are refused; text that is not JSON throws', () => {
    expect(() => encodePayload(undefined)).toThrow(TypeError);
    expect(() => encodePayload(10n)).toThrow(TypeError);
    expect(() => decodePayload('{not json')).toThrow(SyntaxError);
  });
});
