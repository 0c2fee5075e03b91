/**
 * Row/column-shape processors: DropnaProcessor, DropnaLabel, Fillna, ProcessInf, DropCol, FilterCol,
 * CSZFillna. Maths as in qlib 0.9.7 `qlib/data/dataset/processor.py`.
 */
import type { Panel } from '../types.ts';
import type { Processor } from './types.ts';
import { dayRanges, filterRows, groupColumns, selectColumns, withColumns, type FieldsGroup } from './panel.ts';

abstract class StatelessProcessor implements Processor {
  abstract readonly className: string;
  fit(_panel: Panel): void {}
  abstract transform(panel: Panel): Panel;
  isForInfer(): boolean {
    return true;
  }
  abstract toConfig(): { class: string; kwargs: Record<string, unknown> };
}

/** Drops a row when any column of the group is NaN (`df.dropna(subset=cols)`; ±inf is kept). Default group: all columns. */
export class DropnaProcessor extends StatelessProcessor {
  readonly className: string = 'DropnaProcessor';
  constructor(readonly fieldsGroup: FieldsGroup = null) {
    super();
  }
  transform(panel: Panel): Panel {
    const cols = groupColumns(panel, this.fieldsGroup);
    const n = panel.dates.length;
    const keep = new Uint8Array(n).fill(1);
    for (const c of cols) {
      const v = panel.values[c] as Float64Array;
      for (let r = 0; r < n; r++) if (Number.isNaN(v[r])) keep[r] = 0;
    }
    return filterRows(panel, keep);
  }
  toConfig() {
    return { class: this.className, kwargs: { fields_group: this.fieldsGroup } };
  }
}

/** DropnaProcessor on the label group (default `label`). Learn-only: it drops samples by label. */
export class DropnaLabel extends DropnaProcessor {
  override readonly className: string = 'DropnaLabel';
  constructor(fieldsGroup: FieldsGroup = 'label') {
    super(fieldsGroup);
  }
  override isForInfer(): boolean {
    return false;
  }
}

/** NaN → `fillValue` (default 0) in the group (default: all columns). ±inf is left alone, as in pandas. */
export class Fillna extends StatelessProcessor {
  readonly className = 'Fillna';
  constructor(
    readonly fieldsGroup: FieldsGroup = null,
    readonly fillValue = 0,
  ) {
    super();
  }
  transform(panel: Panel): Panel {
    const replaced = new Map<number, Float64Array>();
    for (const c of groupColumns(panel, this.fieldsGroup)) {
      const v = panel.values[c] as Float64Array;
      let first = -1;
      for (let r = 0; r < v.length; r++) if (Number.isNaN(v[r])) { first = r; break; }
      if (first < 0) continue;
      const out = v.slice();
      for (let r = first; r < out.length; r++) if (Number.isNaN(out[r])) out[r] = this.fillValue;
      replaced.set(c, out);
    }
    return withColumns(panel, replaced);
  }
  toConfig() {
    return { class: this.className, kwargs: { fields_group: this.fieldsGroup, fill_value: this.fillValue } };
  }
}

/**
 * Per date and column, ±inf → the mean of that day's finite, non-NaN values (NaN when there are
 * none), as qlib's `ProcessInf`. All columns, label included.
 */
export class ProcessInf extends StatelessProcessor {
  readonly className = 'ProcessInf';
  transform(panel: Panel): Panel {
    const replaced = new Map<number, Float64Array>();
    const days = dayRanges(panel);
    for (let c = 0; c < panel.values.length; c++) {
      const v = panel.values[c] as Float64Array;
      let out: Float64Array | null = null;
      for (const [s, e] of days) {
        let hasInf = false;
        let sum = 0;
        let count = 0;
        for (let r = s; r < e; r++) {
          const x = v[r] as number;
          if (x === Infinity || x === -Infinity) hasInf = true;
          else if (!Number.isNaN(x)) {
            sum += x;
            count++;
          }
        }
        if (!hasInf) continue;
        out ??= v.slice();
        const mean = count > 0 ? sum / count : NaN;
        for (let r = s; r < e; r++) if (out[r] === Infinity || out[r] === -Infinity) out[r] = mean;
      }
      if (out) replaced.set(c, out);
    }
    return withColumns(panel, replaced);
  }
  toConfig() {
    return { class: this.className, kwargs: {} };
  }
}

/** Drops the named columns (any group). */
export class DropCol extends StatelessProcessor {
  readonly className = 'DropCol';
  constructor(readonly colList: string[] = []) {
    super();
  }
  transform(panel: Panel): Panel {
    const keep = panel.columns.map((_, i) => i).filter((i) => !this.colList.includes(panel.columns[i] as string));
    return selectColumns(panel, keep);
  }
  toConfig() {
    return { class: this.className, kwargs: { col_list: this.colList } };
  }
}

/** Keeps, within the group (default `feature`), only the listed columns; other groups are untouched. */
export class FilterCol extends StatelessProcessor {
  readonly className = 'FilterCol';
  constructor(
    readonly fieldsGroup: FieldsGroup = 'feature',
    readonly colList: string[] = [],
  ) {
    super();
  }
  transform(panel: Panel): Panel {
    const inGroup = new Set(groupColumns(panel, this.fieldsGroup).map((i) => panel.columns[i] as string));
    const keep = panel.columns
      .map((_, i) => i)
      .filter((i) => {
        const name = panel.columns[i] as string;
        // qlib matches on the column name alone: a name outside the group is always kept.
        return !inGroup.has(name) || this.colList.includes(name);
      });
    return selectColumns(panel, keep);
  }
  toConfig() {
    return { class: this.className, kwargs: { fields_group: this.fieldsGroup, col_list: this.colList } };
  }
}

/** Per date, NaN → that day's column mean (NaN-skipping). */
export class CSZFillna extends StatelessProcessor {
  readonly className = 'CSZFillna';
  constructor(readonly fieldsGroup: FieldsGroup = null) {
    super();
  }
  transform(panel: Panel): Panel {
    const replaced = new Map<number, Float64Array>();
    const days = dayRanges(panel);
    for (const c of groupColumns(panel, this.fieldsGroup)) {
      const v = panel.values[c] as Float64Array;
      let out: Float64Array | null = null;
      for (const [s, e] of days) {
        let sum = 0;
        let count = 0;
        let hasNaN = false;
        for (let r = s; r < e; r++) {
          const x = v[r] as number;
          if (Number.isNaN(x)) hasNaN = true;
          else {
            sum += x;
            count++;
          }
        }
        if (!hasNaN) continue;
        out ??= v.slice();
        const mean = count > 0 ? sum / count : NaN;
        for (let r = s; r < e; r++) if (Number.isNaN(out[r])) out[r] = mean;
      }
      if (out) replaced.set(c, out);
    }
    return withColumns(panel, replaced);
  }
  toConfig() {
    return { class: this.className, kwargs: { fields_group: this.fieldsGroup } };
  }
}
