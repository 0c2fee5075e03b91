/**
 * `qtask data features PROVIDER_DIR --handler Alpha158|Alpha360 …`: prints what a handler produces,
 * one row per (date, instrument), as CSV (default) or JSON. Registered under `qtask data` by
 * src/cli/commands/data.ts.
 */
import type { Command } from 'commander';
import { note, writeAllSync } from '../../cli/output.ts';
import type { Panel } from '../types.ts';
import { LocalProvider } from '../provider/index.ts';
import { HandlerConfigError } from './errors.ts';
import { configDate } from './dates.ts';
import { createAlpha158, createAlpha360, createDataHandlerLP, DATA_KEYS, type DataHandlerLP, type DataKey } from './handler.ts';
import { alpha158FeatureConfig } from './alpha158.ts';
import { alpha360FeatureConfig } from './alpha360.ts';

export interface FeaturesFlags {
  handler: string;
  instruments?: string;
  start?: string;
  end?: string;
  columns?: string;
  dataKey: string;
  format: string;
  fitStart?: string;
  fitEnd?: string;
  precision: string;
}

const HANDLERS = ['Alpha158', 'Alpha360'];

function optError(message: string, path: string, hint: string): HandlerConfigError {
  return new HandlerConfigError('FEATURES_OPTION', message, { path, hint });
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : undefined;
}

/** Builds the handler a `features` invocation describes (exported for tests and the bench). */
export function featuresHandler(provider: LocalProvider, flags: FeaturesFlags): { handler: DataHandlerLP; columns: string[] | null; dataKey: DataKey } {
  const handlerName = HANDLERS.find((h) => h.toLowerCase() === flags.handler.toLowerCase());
  if (!handlerName) throw optError(`unknown handler ${JSON.stringify(flags.handler)}`, '--handler', `use ${HANDLERS.join(' or ')}`);
  if (!(DATA_KEYS as readonly string[]).includes(flags.dataKey)) throw optError(`--data-key must be raw, infer or learn, not ${JSON.stringify(flags.dataKey)}`, '--data-key', 'raw (default) is the unprocessed view');
  const dataKey = flags.dataKey as DataKey;
  if (flags.format !== 'csv' && flags.format !== 'json') throw optError(`--format must be csv or json, not ${JSON.stringify(flags.format)}`, '--format', 'csv is the default');
  const precision = Number(flags.precision);
  if (!Number.isInteger(precision) || precision < 1 || precision > 17) throw optError('--precision must be an integer from 1 to 17', '--precision', 'the default 9 prints float32 values exactly');
  const start = configDate(flags.start, '--start');
  const end = configDate(flags.end, '--end');
  if (start !== null && end !== null && start > end) throw optError(`--start ${start} is after --end ${end}`, '--start', 'swap them');
  const insts = list(flags.instruments);
  let instruments: string | string[] = 'all';
  if (insts && insts.length === 1 && provider.markets().includes((insts[0] as string).toLowerCase())) instruments = (insts[0] as string).toLowerCase();
  else if (insts) instruments = insts.map((s) => s.toUpperCase());

  const feature = handlerName === 'Alpha158' ? alpha158FeatureConfig() : alpha360FeatureConfig();
  const known = [...feature.names, 'LABEL0'];
  const columns = list(flags.columns) ?? null;
  if (columns) {
    const bad = columns.filter((c) => !known.includes(c));
    if (bad.length) {
      throw optError(`unknown column${bad.length > 1 ? 's' : ''} ${bad.join(', ')}`, '--columns', `${handlerName} columns: ${known.slice(0, 12).join(',')},… (${known.length} in all; see docs/handlers.md)`);
    }
  }
  const kwargs: Record<string, unknown> = {
    instruments,
    start_time: start,
    end_time: end,
    fit_start_time: configDate(flags.fitStart, '--fit-start') ?? start ?? provider.calendarDays()[0],
    fit_end_time: configDate(flags.fitEnd, '--fit-end') ?? end ?? provider.calendarDays().at(-1),
  };
  if (dataKey === 'raw' && columns) {
    // The raw view is per column: compute only what is printed.
    const feat = columns.filter((c) => c !== 'LABEL0');
    const config: Record<string, unknown> = {};
    if (feat.length) config['feature'] = [feat.map((c) => feature.fields[feature.names.indexOf(c)] as string), feat];
    if (columns.includes('LABEL0')) config['label'] = [['Ref($close, -2)/Ref($close, -1) - 1'], ['LABEL0']];
    return { handler: createDataHandlerLP(provider, { instruments, start_time: start, end_time: end, data_loader: { config } }, '--columns'), columns, dataKey };
  }
  const handler = handlerName === 'Alpha158' ? createAlpha158(provider, kwargs, '--handler') : createAlpha360(provider, kwargs, '--handler');
  return { handler, columns, dataKey };
}

/**
 * `x` rounded to `precision` significant digits, printed as JavaScript prints the nearest double
 * (`String(Number(x.toPrecision(precision)))`: no trailing zeros, exponent only below 1e-6 or from
 * 1e21); NaN is empty. Up to 15 digits distinct decimals are distinct (normal) doubles, so that string is
 * `toPrecision`'s with its zeros trimmed — worked out on the string here, which is ~2x faster than
 * parsing and printing again (a full Alpha158 dump prints ~95M numbers).
 */
export function formatNumber(x: number, precision: number): string {
  if (Number.isNaN(x)) return '';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const s = x.toPrecision(precision);
  // Beyond 15 digits, or for subnormals (fewer bits), two decimals can share a double; near the
  // largest double the rounded decimal can overflow to Infinity.
  const abs = Math.abs(x);
  if (precision > 15 || (abs !== 0 && abs < 2.2250738585072014e-308) || abs >= 1e308) return String(Number(s));
  const e = s.indexOf('e');
  if (e < 0) return s.indexOf('.') < 0 ? s : trimFraction(s);
  const exp = Number(s.slice(e + 1));
  const mantissa = trimFraction(s.slice(0, e));
  if (exp < 21 && exp > -7) return shiftPoint(mantissa, exp); // toPrecision chose an exponent where String prints digits
  return `${mantissa}e${exp < 0 ? '' : '+'}${exp}`;
}

/** "1.2300" → "1.23", "100.000" → "100" (the string has a decimal point). */
function trimFraction(s: string): string {
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--; // '0'
  if (s.charCodeAt(end - 1) === 46) end--; // '.'
  return s.slice(0, end);
}

/** A trimmed mantissa ("-1.2345") times 10^exp (0 ≤ exp < 21 here: digits only, no point needed past them). */
function shiftPoint(mantissa: string, exp: number): string {
  const neg = mantissa.startsWith('-');
  const m = neg ? mantissa.slice(1) : mantissa;
  const digits = m.replace('.', '');
  const intLen = m.indexOf('.') < 0 ? m.length : m.indexOf('.');
  const point = intLen + exp;
  const body = point >= digits.length ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return neg ? `-${body}` : body;
}

/** Writes the panel as CSV or JSON to a file descriptor, in chunks (no row objects kept). */
export function writePanel(fd: number, panel: Panel, columns: readonly string[], format: 'csv' | 'json', precision: number): void {
  const idx = columns.map((c) => panel.columns.indexOf(c));
  let buf = '';
  const flush = (force = false): void => {
    if (buf.length > (force ? 0 : 1 << 16)) {
      writeAllSync(fd, buf);
      buf = '';
    }
  };
  if (format === 'csv') {
    buf += ['datetime', 'instrument', ...columns].join(',') + '\n';
    for (let r = 0; r < panel.dates.length; r++) {
      buf += `${panel.dates[r]},${panel.instruments[r]}`;
      for (const c of idx) buf += ',' + formatNumber((panel.values[c] as Float64Array)[r] as number, precision);
      buf += '\n';
      flush();
    }
  } else {
    buf += '[';
    for (let r = 0; r < panel.dates.length; r++) {
      buf += (r ? ',\n' : '\n') + `{"datetime":"${panel.dates[r]}","instrument":${JSON.stringify(panel.instruments[r])}`;
      idx.forEach((c, k) => {
        const x = (panel.values[c] as Float64Array)[r] as number;
        const v = Number.isNaN(x) ? 'null' : !Number.isFinite(x) ? (x > 0 ? '"inf"' : '"-inf"') : formatNumber(x, precision);
        buf += `,${JSON.stringify(columns[k])}:${v}`;
      });
      buf += '}';
      flush();
    }
    buf += '\n]\n';
  }
  flush(true);
}

export function registerFeatures(data: Command): void {
  data
    .command('features')
    .description("print a handler's features and label, one row per (date, instrument)")
    .argument('<provider>', 'data directory (provider_uri)')
    .option('--handler <name>', 'Alpha158 or Alpha360', 'Alpha158')
    .option('--instruments <list>', 'comma list of symbols, or a universe name (default: all)')
    .option('--start <date>', 'first date (default: the calendar start)')
    .option('--end <date>', 'last date (default: the calendar end)')
    .option('--columns <list>', 'comma list of columns, e.g. KMID,ROC5,LABEL0 (default: all)')
    .option('--data-key <key>', 'raw (unprocessed), infer or learn (handler default processors)', 'raw')
    .option('--fit-start <date>', 'fit window start for infer/learn normalisers (default: --start)')
    .option('--fit-end <date>', 'fit window end for infer/learn normalisers (default: --end)')
    .option('--format <fmt>', 'csv or json', 'csv')
    .option('--precision <digits>', 'significant digits', '9')
    .action((providerDir: string, flags: FeaturesFlags) => {
      const provider = new LocalProvider(providerDir);
      const { handler, columns, dataKey } = featuresHandler(provider, flags);
      // As in qlib, a listed symbol without data just has no rows; say so, since it is most often a typo.
      const listed = Array.isArray(handler.instruments) ? handler.instruments : [];
      const stored = new Set(listed.length ? provider.featureSymbols() : []);
      const missing = listed.filter((sym) => !stored.has(sym));
      if (missing.length) note(`qtask: note: no data for ${missing.join(', ')} in ${providerDir} (no features/<symbol> directory); ${missing.length === 1 ? 'it has' : 'they have'} no rows`);
      const panel = handler.fetch(null, { dataKey });
      writePanel(1, panel, columns ?? panel.columns, flags.format as 'csv' | 'json', Number(flags.precision));
    });
}
