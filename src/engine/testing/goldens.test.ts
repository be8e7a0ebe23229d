import { goldenCase, goldenTensorNames, loadGolden, relL2 } from './goldens';

describe('golden fixtures helper', () => {
  it('loads a tensor with its manifest shape', () => {
    const t = loadGolden('resizer_x');
    expect(t.shape).toEqual([2, 3, 64, 64]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.length).toBe(2 * 3 * 64 * 64);
    expect(t.data.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('returns fresh copies', () => {
    const a = loadGolden('grad_cosine_t');
    a.data[0] = 12345;
    expect(loadGolden('grad_cosine_t').data[0]).not.toBe(12345);
  });

  it('lists tensors and reads case settings', () => {
    expect(goldenTensorNames()).toContain('resizer_up_down');
    expect(goldenCase('resizer').down_N).toBe(8);
    expect(goldenCase('egsde_adm').M).toBe(12);
  });

  it('names what is missing', () => {
    expect(() => loadGolden('no_such_tensor')).toThrow(/no_such_tensor/);
    expect(() => goldenCase('no_such_case')).toThrow(/no_such_case/);
  });

  it('relL2 is ||a - b|| / ||b||', () => {
    expect(relL2([1, 2, 2], [1, 2, 2])).toBe(0);
    expect(relL2([0, 0, 0], [1, 2, 2])).toBe(1);
    expect(relL2([3, 4, 0], [0, 0, 0])).toBe(5);
    expect(() => relL2([1], [1, 2])).toThrow();
  });
});
