/** Hand-built datasets for model tests: panels from plain arrays, a seeded RNG, R². */
import type { Panel } from '../../src/data/types.ts';
import type { ModelDataset, SegmentRange } from '../../src/model/types.ts';

export interface SegmentData {
  /** Feature columns (one array per feature). */
  x: ArrayLike<number>[];
  /** Label; omit for a predict-only segment. */
  y?: ArrayLike<number>;
  /** Extra label columns (to test the one-label rule). */
  extraLabels?: ArrayLike<number>[];
}

/** A ModelDataset whose learn and infer views are the given arrays (dates/instruments synthetic). */
export class ArrayDataset implements ModelDataset {
  readonly segments: Record<string, SegmentRange> = {};
  readonly prepared: Array<{ segment: string; colSet: unknown; dataKey: unknown }> = [];
  constructor(
    private readonly data: Record<string, SegmentData>,
    private readonly names?: string[],
  ) {
    for (const k of Object.keys(data)) this.segments[k] = ['2020-01-01', '2020-12-31'];
  }

  prepare(segment: string | SegmentRange, options: { colSet?: string | string[]; dataKey?: 'raw' | 'infer' | 'learn' } = {}): Panel {
    if (typeof segment !== 'string') throw new Error('ArrayDataset takes segment names');
    this.prepared.push({ segment, colSet: options.colSet, dataKey: options.dataKey });
    const d = this.data[segment];
    if (!d) throw new Error(`no segment ${segment}`);
    const rows = d.x[0]?.length ?? d.y?.length ?? 0;
    const names = this.names ?? d.x.map((_, i) => `F${i}`);
    const columns = [...names];
    const groups = names.map(() => 'feature');
    const values = d.x.map((c) => Float64Array.from(c));
    const wantLabel = Array.isArray(options.colSet) ? options.colSet.includes('label') : options.colSet === '__all' || options.colSet === undefined;
    if (wantLabel && d.y) {
      columns.push('LABEL0');
      groups.push('label');
      values.push(Float64Array.from(d.y));
      (d.extraLabels ?? []).forEach((l, i) => {
        columns.push(`LABEL${i + 1}`);
        groups.push('label');
        values.push(Float64Array.from(l));
      });
    }
    const dates = Array.from({ length: rows }, (_, r) => `2020-01-${String(1 + (r % 28)).padStart(2, '0')}`);
    const instruments = Array.from({ length: rows }, (_, r) => `S${r}`);
    return { dates, instruments, columns, groups, values };
  }
}

/** Deterministic uniform [0, 1) (mulberry32), shared with the other seeded tests. */
export { rng } from '../support/rng.ts';

/** Standard normal via Box–Muller. */
export function normal(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export function r2(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i] as number;
  mean /= y.length;
  let ssr = 0, sst = 0;
  for (let i = 0; i < y.length; i++) {
    ssr += ((y[i] as number) - (pred[i] as number)) ** 2;
    sst += ((y[i] as number) - mean) ** 2;
  }
  return 1 - ssr / sst;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what = 'value'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number, e = expected[i] as number;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
      throw new Error(`${what}[${i}]: expected ${e}, got ${a} (tol ${tol}); actual [${Array.from(actual).join(', ')}]`);
    }
  }
}
