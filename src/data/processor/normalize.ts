/**
 * Normalisers: the fit-window ones (ZScoreNorm, RobustZScoreNorm, MinMaxNorm — statistics pooled over
 * every (date, instrument) row dated in the fit window, then applied to all rows) and the
 * cross-sectional ones (CSZScoreNorm, CSRankNorm — per date). Maths as qlib 0.9.7.
 */
import type { Panel } from '../types.ts';
import type { Processor } from './types.ts';
import { HandlerConfigError } from '../handler/errors.ts';
import { dateRowRange, dayRanges, groupColumns, withColumns, type FieldsGroup } from './panel.ts';
import { nanMeanStd, nanMedian, pctRankInto, medianInPlace } from './stats.ts';

const EPS = 1e-12;

function notFitted(name: string): HandlerConfigError {
  return new HandlerConfigError('PROCESSOR_NOT_FITTED', `${name} was used before fit()`, {
    hint: 'fit the processor (or set up the handler) before transforming',
  });
}

/** Shared bookkeeping of the processors that learn per-column statistics on `[fit_start_time, fit_end_time]`. */
abstract class FitWindowProcessor implements Processor {
  abstract readonly className: string;
  protected cols: string[] | null = null;

  constructor(
    /** First date of the fit window (inclusive); null = from the first row. */
    readonly fitStartTime: string | null,
    /** Last date of the fit window (inclusive); null = to the last row. */
    readonly fitEndTime: string | null,
    /** Column group to normalise; null = all columns (label included). */
    readonly fieldsGroup: FieldsGroup = null,
  ) {}

  fit(panel: Panel, fitStart: string | null = this.fitStartTime, fitEnd: string | null = this.fitEndTime): void {
    const idx = groupColumns(panel, this.fieldsGroup);
    const [from, to] = dateRowRange(panel, fitStart, fitEnd);
    const scratch = new Float64Array(to - from);
    this.cols = idx.map((c) => panel.columns[c] as string);
    this.learn(idx.map((c) => panel.values[c] as Float64Array), from, to, scratch);
  }

  transform(panel: Panel): Panel {
    if (this.cols === null) throw notFitted(this.className);
    const replaced = new Map<number, Float64Array>();
    this.cols.forEach((name, k) => {
      const c = panel.columns.indexOf(name);
      if (c < 0) {
        throw new HandlerConfigError('PROCESSOR_COLUMNS', `${this.className} was fitted on column ${name}, which this panel lacks`, {
          hint: 'transform panels with the same columns the processor was fitted on',
        });
      }
      replaced.set(c, this.apply(panel.values[c] as Float64Array, k));
    });
    return withColumns(panel, replaced);
  }

  isForInfer(): boolean {
    return true;
  }

  protected abstract learn(columns: Float64Array[], from: number, to: number, scratch: Float64Array): void;
  protected abstract apply(column: Float64Array, k: number): Float64Array;
  abstract toConfig(): { class: string; kwargs: Record<string, unknown> };
}

/** `(x − mean)/std` with `mean = nanmean`, `std = nanstd` (ddof 0); columns with std 0 are left unchanged. */
export class ZScoreNorm extends FitWindowProcessor {
  readonly className = 'ZScoreNorm';
  mean: Float64Array = new Float64Array(0);
  std: Float64Array = new Float64Array(0);

  protected learn(columns: Float64Array[], from: number, to: number): void {
    this.mean = new Float64Array(columns.length);
    this.std = new Float64Array(columns.length);
    columns.forEach((v, k) => {
      const s = nanMeanStd(v, from, to, 0);
      // qlib: std == 0 → mean 0, std 1 (identity); an all-NaN column keeps NaN statistics.
      const ignore = s.std === 0;
      this.mean[k] = ignore ? 0 : s.mean;
      this.std[k] = ignore ? 1 : s.std;
    });
  }
  protected apply(v: Float64Array, k: number): Float64Array {
    const m = this.mean[k] as number;
    const s = this.std[k] as number;
    const out = new Float64Array(v.length);
    for (let r = 0; r < v.length; r++) out[r] = ((v[r] as number) - m) / s;
    return out;
  }
  toConfig() {
    return { class: this.className, kwargs: { fit_start_time: this.fitStartTime, fit_end_time: this.fitEndTime, fields_group: this.fieldsGroup } };
  }
}

/**
 * `z = (x − median)/((MAD + 1e-12)·1.4826)` with `median = nanmedian`, `MAD = nanmedian(|x − median|)`
 * pooled over the fit window; then, when `clipOutlier` (default true), `z` is clipped to [−3, 3]
 * (NaN stays NaN, ±inf → ±3).
 */
export class RobustZScoreNorm extends FitWindowProcessor {
  readonly className = 'RobustZScoreNorm';
  median: Float64Array = new Float64Array(0);
  std: Float64Array = new Float64Array(0);

  constructor(fitStartTime: string | null, fitEndTime: string | null, fieldsGroup: FieldsGroup = null, readonly clipOutlier = true) {
    super(fitStartTime, fitEndTime, fieldsGroup);
  }
  protected learn(columns: Float64Array[], from: number, to: number, scratch: Float64Array): void {
    this.median = new Float64Array(columns.length);
    this.std = new Float64Array(columns.length);
    columns.forEach((v, k) => {
      const med = nanMedian(v, from, to, scratch);
      let n = 0;
      for (let r = from; r < to; r++) {
        const x = v[r] as number;
        if (!Number.isNaN(x)) scratch[n++] = Math.abs(x - med);
      }
      // |inf − inf| is NaN in numpy too and nanmedian skips it
      let m = 0;
      for (let i = 0; i < n; i++) if (!Number.isNaN(scratch[i])) scratch[m++] = scratch[i] as number;
      const mad = medianInPlace(scratch, m);
      this.median[k] = med;
      this.std[k] = (mad + EPS) * 1.4826;
    });
  }
  protected apply(v: Float64Array, k: number): Float64Array {
    const med = this.median[k] as number;
    const s = this.std[k] as number;
    const out = new Float64Array(v.length);
    for (let r = 0; r < v.length; r++) {
      const z = ((v[r] as number) - med) / s;
      out[r] = this.clipOutlier ? (z > 3 ? 3 : z < -3 ? -3 : z) : z;
    }
    return out;
  }
  toConfig() {
    return {
      class: this.className,
      kwargs: { fit_start_time: this.fitStartTime, fit_end_time: this.fitEndTime, fields_group: this.fieldsGroup, clip_outlier: this.clipOutlier },
    };
  }
}

/** `(x − min)/(max − min)` with nanmin/nanmax over the fit window; columns with min == max are left unchanged. */
export class MinMaxNorm extends FitWindowProcessor {
  readonly className = 'MinMaxNorm';
  min: Float64Array = new Float64Array(0);
  max: Float64Array = new Float64Array(0);
  protected learn(columns: Float64Array[], from: number, to: number): void {
    this.min = new Float64Array(columns.length);
    this.max = new Float64Array(columns.length);
    columns.forEach((v, k) => {
      let lo = Infinity;
      let hi = -Infinity;
      let any = false;
      for (let r = from; r < to; r++) {
        const x = v[r] as number;
        if (Number.isNaN(x)) continue;
        any = true;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (!any) {
        lo = NaN;
        hi = NaN;
      }
      const ignore = lo === hi;
      this.min[k] = ignore ? 0 : lo;
      this.max[k] = ignore ? 1 : hi;
    });
  }
  protected apply(v: Float64Array, k: number): Float64Array {
    const lo = this.min[k] as number;
    const span = (this.max[k] as number) - lo;
    const out = new Float64Array(v.length);
    for (let r = 0; r < v.length; r++) out[r] = ((v[r] as number) - lo) / span;
    return out;
  }
  toConfig() {
    return { class: this.className, kwargs: { fit_start_time: this.fitStartTime, fit_end_time: this.fitEndTime, fields_group: this.fieldsGroup } };
  }
}

abstract class CrossSectionProcessor implements Processor {
  abstract readonly className: string;
  constructor(readonly fieldsGroup: FieldsGroup | string[] = null) {}
  fit(_panel: Panel): void {}
  isForInfer(): boolean {
    return true;
  }
  transform(panel: Panel): Panel {
    const groups = Array.isArray(this.fieldsGroup) ? this.fieldsGroup : [this.fieldsGroup];
    const days = dayRanges(panel);
    const replaced = new Map<number, Float64Array>();
    for (const g of groups) {
      for (const c of groupColumns(panel, g)) {
        const v = panel.values[c] as Float64Array;
        const out = new Float64Array(v.length);
        for (const [s, e] of days) this.day(v, s, e, out);
        replaced.set(c, out);
      }
    }
    return withColumns(panel, replaced);
  }
  /** Writes the processed values of rows `[s, e)` (one date) into `out`. */
  protected abstract day(v: Float64Array, s: number, e: number, out: Float64Array): void;
  abstract toConfig(): { class: string; kwargs: Record<string, unknown> };
}

/**
 * Per date: `method: 'zscore'` (default) → `(x − mean)/std` with pandas' std (ddof 1), so a date with
 * one valid value, or a constant one, gives NaN; `method: 'robust'` → `clip((x − median)/MAD/1.4826, −3, 3)`.
 */
export class CSZScoreNorm extends CrossSectionProcessor {
  readonly className = 'CSZScoreNorm';
  private scratch: Float64Array = new Float64Array(0);
  constructor(fieldsGroup: FieldsGroup | string[] = null, readonly method: 'zscore' | 'robust' = 'zscore') {
    super(fieldsGroup);
  }
  protected day(v: Float64Array, s: number, e: number, out: Float64Array): void {
    if (this.method === 'zscore') {
      const { mean, std } = nanMeanStd(v, s, e, 1);
      for (let r = s; r < e; r++) out[r] = ((v[r] as number) - mean) / std;
      return;
    }
    if (this.scratch.length < e - s) this.scratch = new Float64Array(e - s);
    const med = nanMedian(v, s, e, this.scratch);
    let n = 0;
    for (let r = s; r < e; r++) {
      const x = v[r] as number;
      if (!Number.isNaN(x)) this.scratch[n++] = Math.abs(x - med);
    }
    const mad = medianInPlace(this.scratch, n);
    for (let r = s; r < e; r++) {
      const z = ((v[r] as number) - med) / mad / 1.4826;
      out[r] = z > 3 ? 3 : z < -3 ? -3 : z;
    }
  }
  toConfig() {
    return { class: this.className, kwargs: { fields_group: this.fieldsGroup, method: this.method } };
  }
}

/** Per date: `(pct_rank − 0.5) × 3.46` (average ties; NaN stays NaN; denominator = the day's valid count). */
export class CSRankNorm extends CrossSectionProcessor {
  readonly className = 'CSRankNorm';
  protected day(v: Float64Array, s: number, e: number, out: Float64Array): void {
    pctRankInto(v, s, e, out);
    for (let r = s; r < e; r++) out[r] = ((out[r] as number) - 0.5) * 3.46;
  }
  toConfig() {
    return { class: this.className, kwargs: { fields_group: this.fieldsGroup } };
  }
}
