/**
 * A fast reader for the common shape of prediction artifacts: a `pred.csv` Panel with unquoted
 * fields. The general reader (recorder/artifacts.ts csvToObject) builds every field character by
 * character; here lines are cut with indexOf and numbers parsed with Number, which made collecting
 * several times faster (docs/collect.md). Any quote, a header other than `datetime,instrument,…`,
 * or a field it cannot read sends the caller back to the general reader, so results never differ.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Panel } from '../data/types.ts';
import type { Recorder } from '../recorder/recorder.ts';

function num(s: string): number | undefined {
  if (s === '') return NaN;
  const v = Number(s);
  if (!Number.isNaN(v) && s.trim() === s) return v;
  const t = s.trim().toLowerCase();
  if (t === 'nan' || t === '') return NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return undefined;
}

/** The Panel in `text`, or undefined when the text is not a plain unquoted panel CSV. */
export function parsePanelCsvFast(text: string): Panel | undefined {
  if (text.includes('"') || text.includes('\r')) return undefined;
  let end = text.indexOf('\n');
  if (end < 0) end = text.length;
  const header = text.slice(0, end).split(',');
  if (header[0] !== 'datetime' || header[1] !== 'instrument' || header.some((h) => h !== h.trim())) return undefined;
  const columns = header.slice(2);
  const k = columns.length;
  const lines = text.slice(end + 1).split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const n = lines.length;
  const dates = new Array<string>(n);
  const instruments = new Array<string>(n);
  const values = columns.map(() => new Float64Array(n));
  for (let r = 0; r < n; r++) {
    const line = lines[r]!;
    let a = line.indexOf(',');
    let b = line.indexOf(',', a + 1);
    if (a < 0 || b < 0) return undefined;
    dates[r] = line.slice(0, a);
    instruments[r] = line.slice(a + 1, b);
    for (let c = 0; c < k; c++) {
      a = b;
      b = line.indexOf(',', a + 1);
      if ((b < 0) !== (c === k - 1)) return undefined;
      const v = num(line.slice(a + 1, b < 0 ? line.length : b));
      if (v === undefined) return undefined;
      values[c]![r] = v;
    }
    if (k === 0 && b >= 0) return undefined;
  }
  return { dates, instruments, columns, groups: columns.map((c) => (/^label/i.test(c) ? 'label' : 'feature')), values };
}

/**
 * `recorder.loadObject(name)` with the fast path when the artifact resolves to `<name>.csv` (the
 * lookup order of loadObject: `name`, `name.json`, `name.csv`).
 */
export function loadArtifact(rec: Recorder, name: string): unknown {
  if (!name.endsWith('.csv') && !name.endsWith('.json') && !name.endsWith('.pkl')) {
    if (!existsSync(rec.artifactLocalPath(name)) && !existsSync(rec.artifactLocalPath(`${name}.json`))) {
      const p = rec.artifactLocalPath(`${name}.csv`);
      if (existsSync(p)) {
        const fast = parsePanelCsvFast(readFileSync(p, 'utf8'));
        if (fast) return fast;
      }
    }
  }
  return rec.loadObject(name);
}
