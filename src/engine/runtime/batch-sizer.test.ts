/** The batch size follows measured cost per sample: it climbs where batching pays, stays at 1 where it loses. */
import { BatchSizer } from './batch-sizer';

/** Drive the sizer for `steps` steps of n runs, each chunk costing cost(size) ms; returns the chunk plans. */
function drive(sizer: BatchSizer, n: number, steps: number, cost: (size: number, step: number) => number): number[][] {
  const plans: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const plan = sizer.plan('k', n);
    plans.push(plan);
    for (const size of plan) sizer.record('k', size, cost(size, s));
  }
  return plans;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test('plans always cover every run, in chunks no larger than the cap', () => {
  const sizer = new BatchSizer({ maxBatch: 4 });
  for (const n of [1, 2, 3, 5, 8, 13]) {
    for (const plan of drive(sizer, n, 20, (b) => 100 + b)) {
      expect(sum(plan)).toBe(n);
      expect(Math.max(...plan)).toBeLessThanOrEqual(4);
    }
  }
  expect(sizer.plan('k', 0)).toEqual([]);
});

test('where batching loses (a CPU at 256 px), it settles on one sample at a time', () => {
  const sizer = new BatchSizer({ maxBatch: 8, reexploreEvery: 50 });
  // per-sample cost grows with the batch: 3.1 s alone, 3.9 s per sample at 4
  const plans = drive(sizer, 8, 200, (b) => b * (3100 + 270 * (b - 1)));
  const late = plans.slice(10);
  const batched = late.filter((p) => p.some((x) => x > 1)).length;
  expect(batched).toBeLessThanOrEqual(4); // only the re-checks every 50 steps
  expect(sizer.preferred('k', 8)).toBe(1);
  // the total cost stays within 1% of always stepping one at a time
  const cost = (p: number[]) => sum(p.map((b) => b * (3100 + 270 * (b - 1))));
  expect(sum(late.map(cost)) / (late.length * 8 * 3100)).toBeLessThan(1.01);
});

test('where batching pays (a GPU), it climbs to the largest batch', () => {
  const sizer = new BatchSizer({ maxBatch: 8 });
  const plans = drive(sizer, 8, 20, (b) => 200 + 10 * b);
  expect(plans[plans.length - 1]).toEqual([8]);
  expect(sizer.costs('k').map((c) => c.size)).toEqual([1, 2, 4, 8]);
});

test('the best size can be in the middle of the ladder', () => {
  const sizer = new BatchSizer({ maxBatch: 8 });
  // per sample: 1 -> 100, 2 -> 60, 4 -> 50, 8 -> 70
  const per: Record<number, number> = { 1: 100, 2: 60, 4: 50, 8: 70 };
  const plans = drive(sizer, 8, 30, (b) => b * per[b]);
  expect(plans[plans.length - 1]).toEqual([4, 4]);
});

test('a first (warm-up) run at a new size is not counted', () => {
  const sizer = new BatchSizer({ maxBatch: 2 });
  // the session's first run is slow whatever the size; after that one at a time is cheaper
  let first = true;
  drive(sizer, 2, 12, (b) => {
    const ms = first ? 20_000 : b * (100 + 50 * (b - 1));
    first = false;
    return ms;
  });
  expect(sizer.preferred('k', 2)).toBe(1);
  expect(sizer.costs('k').find((c) => c.size === 1)!.msPerSample).toBeCloseTo(100, 6);
});

test('runs are spread evenly over the chunks', () => {
  const sizer = new BatchSizer({ maxBatch: 8 });
  const per: Record<number, number> = { 1: 100, 2: 60, 4: 50, 8: 70, 10: 80 };
  drive(sizer, 8, 30, (b) => b * (per[b] ?? 55));
  expect(sizer.plan('k', 10)).toEqual([4, 3, 3]);
});

test('a re-check moves the choice when the costs change', () => {
  const sizer = new BatchSizer({ maxBatch: 2, reexploreEvery: 10, alpha: 1 });
  // first batching loses, then (another load on the machine goes away) it pays
  const plans = drive(sizer, 2, 60, (b, step) => (step < 20 ? b * (100 + 40 * (b - 1)) : b * (100 - 40 * (b - 1))));
  expect(plans[15]).toEqual([1, 1]);
  expect(plans[plans.length - 1]).toEqual([2]);
});
