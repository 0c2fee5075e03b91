/**
 * A fast reader for the common shape of prediction artifacts: a `pred.csv` Panel with unquoted
 * ASCII fields. The general reader (recorder/artifacts.ts csvToObject) builds every field character
 * by character; here the file's bytes are scanned once: a date string is made once per run of equal
 * dates, instruments are interned, and plain decimals are parsed exactly (see `parseDecimal`). Any
 * quote, carriage return or non-ASCII byte, a header other than `datetime,instrument,…`, or a field
 * it cannot read sends the caller back to the general reader, so results never differ.
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

// 10^0 … 10^22 are exact doubles; beyond that a power of ten is itself rounded.
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const TWO53 = 2 ** 53;
const COMMA = 0x2c;
const NL = 0x0a;
const DOT = 0x2e;
const MINUS = 0x2d;

// Only ASCII is read here: for it latin1 decoding equals UTF-8 decoding. Other bytes go to the general reader.
function isAscii(buf: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

function sameText(s: string, buf: Uint8Array, a: number, b: number): boolean {
  if (s.length !== b - a) return false;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[a + i]) return false;
  return true;
}

function sameBytes(buf: Uint8Array, a: number, b: number, c: number, d: number): boolean {
  if (b - a !== d - c) return false;
  for (let i = 0; i < b - a; i++) if (buf[a + i] !== buf[c + i]) return false;
  return true;
}

/**
 * Interns ASCII strings by a hash of their bytes, so a field becomes a string only the first time
 * it is met (a pred.csv repeats each instrument once per date).
 */
class AsciiInterner {
  private readonly byHash = new Map<number, string>();
  private readonly collided = new Map<string, string>();

  /** The string of bytes `[a, b)`, or undefined when they are not ASCII. */
  get(buf: Buffer, a: number, b: number): string | undefined {
    let h = 0x811c9dc5;
    for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    // Kept within 30 bits so the key stays a small integer (no heap number per lookup).
    h &= 0x3fffffff;
    const hit = this.byHash.get(h);
    if (hit !== undefined && hit.length === b - a) {
      let same = true;
      for (let i = 0; i < hit.length; i++) {
        if (hit.charCodeAt(i) !== buf[a + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit;
    }
    if (!isAscii(buf, a, b)) return undefined;
    const s = buf.toString('latin1', a, b);
    if (hit === undefined) {
      this.byHash.set(h, s);
      return s;
    }
    const prev = this.collided.get(s);
    if (prev !== undefined) return prev;
    this.collided.set(s, s);
    return s;
  }
}

/** The Panel in the bytes of a CSV file, or undefined when they are not a plain unquoted ASCII panel CSV. */
export function parsePanelCsvBuffer(buf: Buffer): Panel | undefined {
  if (buf.indexOf(0x22) >= 0 || buf.indexOf(0x0d) >= 0) return undefined;
  let headerEnd = buf.indexOf(NL);
  if (headerEnd < 0) headerEnd = buf.length;
  if (!isAscii(buf, 0, headerEnd)) return undefined;
  const header = buf.toString('latin1', 0, headerEnd).split(',');
  if (header[0] !== 'datetime' || header[1] !== 'instrument' || header.some((h) => h !== h.trim())) return undefined;
  const columns = header.slice(2);
  const k = columns.length;
  if (k === 0) return undefined;
  let end = buf.length;
  while (end > headerEnd && buf[end - 1] === NL) end--;
  const bodyStart = Math.min(headerEnd + 1, end);
  let n = 0;
  for (let i = buf.indexOf(NL, bodyStart); i >= 0 && i < end; i = buf.indexOf(NL, i + 1)) n++;
  if (end > bodyStart) n++;
  const dates = new Array<string>(n);
  const instruments = new Array<string>(n);
  // A plain array built here (not Array#map): the loop's optimized code then keeps seeing one array map.
  const values: Float64Array[] = [];
  for (let c = 0; c < k; c++) values.push(new Float64Array(n));
  const interner = new AsciiInterner();
  let prevDateA = -1;
  let prevDateB = -1;
  let prevDate = '';
  let block = 0;
  let prevBlock = -1;
  let p = bodyStart;
  // Plain loops rather than Buffer#indexOf: a native call per field costs more than the bytes it skips.
  for (let r = 0; r < n; r++) {
    let a = p;
    while (a < end && buf[a] !== COMMA && buf[a] !== NL) a++;
    if (a >= end || buf[a] !== COMMA) return undefined;
    let b = a + 1;
    while (b < end && buf[b] !== COMMA && buf[b] !== NL) b++;
    if (b >= end || buf[b] !== COMMA) return undefined;
    let lineEnd = b + 1;
    while (lineEnd < end && buf[lineEnd] !== NL) lineEnd++;
    if (prevDateA < 0 || !sameBytes(buf, p, a, prevDateA, prevDateB)) {
      if (!isAscii(buf, p, a)) return undefined;
      prevDate = buf.toString('latin1', p, a);
      prevBlock = block;
      block = r;
    }
    prevDateA = p;
    prevDateB = a;
    dates[r] = prevDate;
    // Each date usually lists the same instruments in the same order as the date before it.
    const guess = prevBlock >= 0 && prevBlock + (r - block) < block ? instruments[prevBlock + (r - block)]! : undefined;
    const inst = guess !== undefined && sameText(guess, buf, a + 1, b) ? guess : interner.get(buf, a + 1, b);
    if (inst === undefined) return undefined;
    instruments[r] = inst;
    let f = b;
    for (let c = 0; c < k; c++) {
      let g = f + 1;
      while (g < lineEnd && buf[g] !== COMMA) g++;
      if ((g < lineEnd) !== (c < k - 1)) return undefined;
      // `[-]digits[.digits]` is read inline (a call returning a double would allocate it). Exact:
      // the digits form an integer m < 2^53 and the fraction has f <= 22 digits, so m and 10^f are
      // exact doubles and one IEEE division rounds m / 10^f correctly, which is what Number() returns
      // (Clinger's fast path). Any other text goes through Number() itself (num).
      let i = f + 1;
      const neg = buf[i] === MINUS;
      if (neg) i++;
      let m = 0;
      let digits = 0;
      let frac = -1;
      for (; i < g; i++) {
        const ch = buf[i]!;
        if (ch >= 0x30 && ch <= 0x39) {
          m = m * 10 + (ch - 0x30);
          digits++;
          if (frac >= 0) frac++;
        } else if (ch === DOT && frac < 0) frac = 0;
        else break;
      }
      let v: number | undefined;
      if (i === g && digits > 0 && m < TWO53 && frac <= 22) {
        v = frac > 0 ? m / POW10[frac]! : m;
        if (neg) v = -v;
      } else v = g > f + 1 ? num(buf.toString('latin1', f + 1, g)) : NaN;
      if (v === undefined) return undefined;
      values[c]![r] = v;
      f = g;
    }
    p = lineEnd + 1;
  }
  return panelOf(dates, instruments, columns, values);
}

// Outside the parse loop's function: code reached once per call had no type feedback when the loop
// was optimized (on-stack, during the first call), so it deoptimized the loop at every return.
function panelOf(dates: string[], instruments: string[], columns: string[], values: Float64Array[]): Panel {
  return { dates, instruments, columns, groups: columns.map((c) => (/^label/i.test(c) ? 'label' : 'feature')), values };
}

/** The Panel in `text`, or undefined when the text is not a plain unquoted panel CSV. */
export function parsePanelCsvFast(text: string): Panel | undefined {
  return parsePanelCsvBuffer(Buffer.from(text, 'utf8'));
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
        const fast = parsePanelCsvBuffer(readFileSync(p));
        if (fast) return fast;
      }
    }
  }
  return rec.loadObject(name);
}
