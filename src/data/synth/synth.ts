/**
 * A synthetic daily market in qlib's on-disk format, for the zero-setup demo and tests.
 *
 * Model (per instrument i, day t; σ_i = idiosyncratic daily vol):
 *   a_{i,t}   = 0.97·a_{i,t-1} + √(1−0.97²)·η            latent "attention", stationary N(0,1)
 *   r_{i,t+1} = β_i·m_{t+1} + σ_i·(ALPHA_A·a_{i,t} − ALPHA_REV·rev_{i,t} + ε)
 *   rev_{i,t} = (sum of the last 5 idiosyncratic returns)/(σ_i·√5)          short-term reversal
 *   log V_{i,t} = log V̄_i + VOL_LOADING·a_{i,t} + 0.25·ν                      volume reveals a
 * so next-day returns are partly predicted by observable signals: recent returns (reversal), volume
 * (the volume effect) and, through a's persistence, past returns over weeks (momentum). Linear models
 * on Alpha158-style features get a clearly positive IC.
 */
import { Calendar } from '../../generate/calendar.ts';
import type { UniverseSpans } from '../provider/instruments.ts';
import type { AlignedSeries } from '../import/align.ts';
import { discardStaging, isAbsentOrEmpty, makeStagingDir, swapIntoPlace } from '../import/atomic.ts';
import { optionError } from '../import/errors.ts';
import { writeCalendar, writeInstruments, writeSeries } from '../import/writer.ts';
import { Prng } from './prng.ts';

export interface SynthOptions {
  targetDir: string;
  /** Number of instruments. Default 50. */
  instruments?: number;
  /** First calendar day. Default `2018-01-01`. */
  start?: string;
  /** Last calendar day. Default `2020-12-31`. */
  end?: string;
  /** PRNG seed; the same seed gives byte-identical files. Default 42. */
  seed?: number;
  /** Replace a non-empty target. Default false. */
  overwrite?: boolean;
}

export interface SynthSummary {
  targetDir: string;
  instruments: number;
  days: number;
  firstDay: string;
  lastDay: string;
  fields: string[];
}

export const SYNTH_FIELDS = ['open', 'high', 'low', 'close', 'volume', 'vwap', 'factor', 'change'] as const;
const ALPHA_A = 0.08;
const ALPHA_REV = 0.12;
const VOL_LOADING = 0.45;
const PHI = 0.97;
const REV_WINDOW = 5;

/** `S0001`, `S0002`, …: upper case as qlib's instruments files. */
export function synthSymbol(i: number): string {
  return `S${String(i + 1).padStart(4, '0')}`;
}

/** Generates the market in memory: calendar days, spans and per-instrument aligned columns. */
export function generateMarket(options: Omit<SynthOptions, 'targetDir' | 'overwrite'> = {}): {
  days: readonly string[];
  spans: UniverseSpans;
  series: AlignedSeries[];
} {
  const n = options.instruments ?? 50;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw optionError('IMPORT_BAD_OPTION', `--instruments must be an integer in 1..100000, got ${n}`, 'e.g. --instruments 50');
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw optionError('IMPORT_BAD_OPTION', `--seed must be an integer in 0..4294967295, got ${seed}`, 'e.g. --seed 42');
  }
  const calendar = Calendar.weekdays(options.start ?? '2018-01-01', options.end ?? '2020-12-31');
  const days = calendar.days;
  const T = days.length;
  const rng = new Prng(seed);
  const market = new Float64Array(T);
  for (let t = 0; t < T; t++) market[t] = 0.0003 + 0.01 * rng.normal();

  const spans: UniverseSpans = new Map();
  const series: AlignedSeries[] = [];
  for (let i = 0; i < n; i++) {
    const symbol = synthSymbol(i);
    // Some instruments list late or delist early, as real universes do.
    const lateStart = rng.next() < 0.15 ? Math.floor(rng.next() * (T / 2)) : 0;
    const earlyEnd = rng.next() < 0.05 ? T - 1 - Math.floor(rng.next() * (T / 3)) : T - 1;
    const s0 = Math.min(lateStart, Math.max(0, earlyEnd - 20));
    const len = earlyEnd - s0 + 1;
    const beta = 0.6 + 0.8 * rng.next();
    const sigma = 0.01 + 0.015 * rng.next();
    const logVolBase = 13 + rng.normal();
    let close = Math.exp(3.5 + 0.6 * rng.normal());
    let factor = 1;
    let a = rng.normal();
    const idio = new Float64Array(REV_WINDOW);
    const cols = SYNTH_FIELDS.map(() => new Float64Array(len).fill(NaN));
    const [open, high, low, closeCol, volume, vwap, factorCol, change] = cols;
    let lastClose = NaN;
    for (let k = 0; k < len; k++) {
      const t = s0 + k;
      let rev = 0;
      for (let w = 0; w < REV_WINDOW; w++) rev += idio[w];
      rev /= sigma * Math.sqrt(REV_WINDOW);
      const eps = rng.normal();
      const idioRet = k === 0 ? 0 : sigma * (ALPHA_A * a - ALPHA_REV * rev + eps);
      const ret = k === 0 ? 0 : beta * market[t] + idioRet;
      idio[k % REV_WINDOW] = idioRet;
      const prevClose = close;
      close = prevClose * Math.exp(ret);
      a = PHI * a + Math.sqrt(1 - PHI * PHI) * rng.normal();
      const gap = 0.3 * ret + 0.2 * sigma * rng.normal();
      const o = prevClose * Math.exp(gap);
      const h = Math.max(o, close) * Math.exp(Math.abs(0.5 * sigma * rng.normal()));
      const l = Math.min(o, close) * Math.exp(-Math.abs(0.5 * sigma * rng.normal()));
      const v = Math.exp(logVolBase + VOL_LOADING * a + 0.25 * rng.normal());
      const u = rng.next();
      if (u < 0.0005) factor *= 0.5;
      else if (u < 0.005) factor *= 1 - 0.01 * rng.next();
      // Rare suspensions: the bar is missing, the factor carries over (as the import's forward fill).
      const suspended = k > 0 && k < len - 1 && rng.next() < 0.002;
      factorCol[k] = factor;
      if (suspended) continue;
      open[k] = o;
      high[k] = h;
      low[k] = l;
      closeCol[k] = close;
      volume[k] = v;
      vwap[k] = (h + l + 2 * close) / 4;
      change[k] = close / lastClose - 1;
      lastClose = close;
    }
    spans.set(symbol, [{ start: days[s0], end: days[earlyEnd] }]);
    series.push({ symbol, startIdx: s0, length: len, fields: [...SYNTH_FIELDS], values: cols });
  }
  return { days, spans, series };
}

/** Writes a synthetic market to `targetDir` (all-or-nothing, like the import). */
export function synthMarket(options: SynthOptions): SynthSummary {
  if (!options.overwrite && !isAbsentOrEmpty(options.targetDir)) {
    throw optionError('IMPORT_TARGET_EXISTS', `target ${options.targetDir} exists and is not empty`, 'pass --overwrite to replace it', options.targetDir);
  }
  const { days, spans, series } = generateMarket(options);
  const staging = makeStagingDir(options.targetDir, 'synth');
  try {
    writeCalendar(staging, days);
    writeInstruments(staging, 'all', spans);
    for (const s of series) writeSeries(staging, s);
    swapIntoPlace(staging, options.targetDir);
  } catch (e) {
    discardStaging(staging);
    throw e;
  }
  return {
    targetDir: options.targetDir,
    instruments: series.length,
    days: days.length,
    firstDay: days[0],
    lastDay: days[days.length - 1],
    fields: [...SYNTH_FIELDS],
  };
}
