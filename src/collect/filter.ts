import { compileMatcher } from '../store/filter/index.ts';
import type { Recorder, RecorderInfo } from '../recorder/recorder.ts';
import type { RecFilterFunc } from './collector.ts';

/** `{"a.b": v}` → `{a: {b: v}}`, so Mongo-style dotted paths reach flattened param names. */
function nest(flat: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(/[./]/);
    let node = out;
    let ok = true;
    for (const p of parts.slice(0, -1)) {
      const next = node[p];
      if (next === undefined) node = node[p] = {} as Record<string, unknown>;
      else if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>;
      else {
        ok = false;
        break;
      }
    }
    if (ok) node[parts[parts.length - 1]!] = value;
    out[key] ??= value;
  }
  return out;
}

/**
 * A recorder filter from a Mongo-style query (the task-store filter language) over
 * `{id, name, status, tags, params}`; param and tag names split on `.` and `/` into nested fields, so
 * `{"params.model.class": "LinearModel"}` matches the flattened param `model.class`. Values are the
 * stored strings. Invalid queries throw `QUERY_OPERATOR` / `QUERY_SHAPE` at once.
 */
export function recorderFilterFromQuery(query: unknown): RecFilterFunc {
  const match = compileMatcher(query as Parameters<typeof compileMatcher>[0]);
  return (rec: Recorder, info: RecorderInfo) =>
    match({ id: info.id, name: info.name, status: info.status, tags: nest(rec.listTags()), params: nest(rec.listParams()) });
}
