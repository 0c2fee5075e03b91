/**
 * qlib's `fill_placeholder`, without mutating the caller's task (W17): a deep copy in which
 * `"<dataset.kwargs.segments.train.0>"`-style strings are replaced by the value at that path of the
 * task itself. `<MODEL>`, `<DATASET>` (records get those objects from their context) and `<PRED>`
 * (the strategy's signal) are kept as they are.
 */
import type { JsonValue } from '../task/types.ts';

const KEEP = new Set(['<MODEL>', '<DATASET>', '<PRED>']);

function lookup(root: JsonValue, dotted: string): JsonValue | undefined {
  let cur: JsonValue | undefined = root;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(part)] : cur[part];
  }
  return cur;
}

export function fillPathPlaceholders<T extends JsonValue>(task: T): T {
  const walk = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') {
      const m = /^<([\w.]+)>$/.exec(v);
      if (!m || KEEP.has(v)) return v;
      const found = lookup(task, m[1]!);
      return found === undefined ? v : found;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(task) as T;
}

/** qlib's `flatten_dict` for `log_params`: nested keys joined with `.`; lists are leaves. */
export function flattenParams(obj: JsonValue, prefix = '', out: Record<string, JsonValue> = {}): Record<string, JsonValue> {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = obj;
  }
  return out;
}
