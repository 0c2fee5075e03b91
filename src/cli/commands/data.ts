/**
 * `qtask data …`: market data in qlib's on-disk format — import CSVs, update, synthesise, inspect.
 * `qtask data features` (the handler view) is registered by the handler module; see the marked place below.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { importCsv } from '../../data/import/importCsv.ts';
import { updateFromCsv } from '../../data/import/update.ts';
import { providerInfo } from '../../data/provider/info.ts';
import { synthMarket } from '../../data/synth/synth.ts';
import { formatTable, printLine } from '../output.ts';
import type { CsvImportOptions } from '../../data/import/csvParse.ts';
import type { ProgressListener } from '../../data/import/source.ts';
import { optionError } from '../../data/import/errors.ts';
import { note, printJson } from '../output.ts';
import { registerFeatures } from '../../data/handler/cli.ts';

interface CsvFlags {
  dateField: string;
  symbolField: string;
  includeFields?: string;
  adjust?: boolean;
  duplicates: string;
  zeroVolume: string;
  progress: boolean;
}

function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.length ? items : undefined;
}

/**
 * A progress bar on stderr (also when stderr is not a terminal, then redrawn every 2 s as lines).
 * Returns the listener and a function that stops the bar.
 */
export function progressBar(enabled: boolean): { onProgress?: ProgressListener; stop: () => void } {
  if (!enabled) return { stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      format: '{phase} [{bar}] {value}/{total} files',
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let phase = '';
  return {
    onProgress: (p) => {
      if (p.phase !== phase) {
        if (phase !== '') bar.stop();
        phase = p.phase;
        bar.start(p.total, 0, { phase: p.phase.padEnd(5) });
      }
      bar.update(p.done, { phase: p.phase.padEnd(5) });
    },
    stop: () => {
      if (phase !== '') bar.stop();
      phase = '';
    },
  };
}

/** Runs `work` with a progress bar (when `enabled`) that is gone before anything else is printed. */
function withProgress<T>(enabled: boolean, work: (onProgress: ProgressListener | undefined) => T): T {
  const progress = progressBar(enabled);
  try {
    return work(progress.onProgress);
  } finally {
    progress.stop();
  }
}

function duplicatesMode(value: string): 'error' | 'first' {
  if (value === 'error' || value === 'first') return value;
  throw optionError('IMPORT_BAD_OPTION', `--duplicates must be 'error' or 'first', got ${JSON.stringify(value)}`, "use --duplicates first to keep each date's first row");
}

function intOption(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw optionError('IMPORT_BAD_OPTION', `${name} must be a non-negative integer, got ${JSON.stringify(value)}`, `e.g. ${name} 42`);
  }
  return n;
}

function zeroVolumeMode(value: string): 'keep' | 'missing' {
  if (value === 'keep' || value === 'missing') return value;
  throw optionError('IMPORT_BAD_OPTION', `--zero-volume must be 'keep' or 'missing', got ${JSON.stringify(value)}`, 'use --zero-volume missing to blank zero-volume days');
}

function addCsvOptions(cmd: Command): Command {
  return cmd
    .option('--date-field <name>', 'date column', 'Date')
    .option('--symbol-field <name>', "symbol column, or 'filename' for the file stem (as qlib's dump_all)", 'filename')
    .option('--include-fields <list>', 'comma list of fields to write (default: every column but date/symbol)')
    .option('--adjust', 'adjust OHLCV by factor = Adj Close / Close and write factor and change (qlib Yahoo collector)')
    .option('--duplicates <mode>', "a row repeating the previous date: 'error' or 'first' (keep the first, as qlib's dump_all)", 'error')
    .option('--zero-volume <mode>', "rows with volume <= 0: 'keep', or 'missing' (NaN bar, as qlib's Yahoo collector)", 'keep')
    .option('--no-progress', 'no progress bar');
}

/** The parsing options `import-csv` and `update` share, checked, from their common flags. */
function csvOptions(opts: CsvFlags): CsvImportOptions {
  return {
    dateField: opts.dateField,
    symbolField: opts.symbolField,
    includeFields: splitList(opts.includeFields),
    adjust: opts.adjust ?? false,
    duplicates: duplicatesMode(opts.duplicates),
    zeroVolume: zeroVolumeMode(opts.zeroVolume),
  };
}

export function register(program: Command): void {
  const data = program.command('data').description("market data in qlib's on-disk format (calendars/, instruments/, features/)");

  addCsvOptions(
    data
      .command('import-csv')
      .description("import one CSV per symbol into a new qlib data directory (qlib's dump_bin.py dump_all); all-or-nothing")
      .argument('<src>', 'directory of CSV files (e.g. AAPL.csv)')
      .argument('<target>', 'data directory to create'),
  )
    .option('--overwrite', 'replace a non-empty target (atomically)')
    .option('--json', 'print the summary as JSON')
    .action((src: string, target: string, opts: CsvFlags & { overwrite?: boolean; json?: boolean }) => {
      const started = performance.now();
      const summary = withProgress(opts.progress, (onProgress) =>
        importCsv({ srcDir: src, targetDir: target, ...csvOptions(opts), overwrite: opts.overwrite ?? false, onProgress }),
      );
      const seconds = (performance.now() - started) / 1000;
      if (opts.json) return printJson({ ...summary, seconds });
      note(
        `imported ${summary.instruments} instruments, ${summary.rows} rows, ${summary.days} days ` +
          `(${summary.firstDay}..${summary.lastDay}), fields ${summary.fields.join(',')} into ${summary.targetDir} in ${seconds.toFixed(2)} s`,
      );
      if (summary.droppedDuplicates.length) note(`dropped ${summary.droppedDuplicates.length} repeated-date rows: ${summary.droppedDuplicates.join(', ')}`);
    });

  addCsvOptions(
    data
      .command('update')
      .description("add new CSV rows to a data directory: new days appended, gaps filled by date (qlib's dump_update misaligns them); all-or-nothing")
      .argument('<src>', 'directory of CSV files')
      .argument('<target>', 'existing data directory'),
  )
    .option('--json', 'print the summary as JSON')
    .action((src: string, target: string, opts: CsvFlags & { json?: boolean }) => {
      const summary = withProgress(opts.progress, (onProgress) => updateFromCsv({ srcDir: src, targetDir: target, ...csvOptions(opts), onProgress }));
      if (opts.json) return printJson(summary);
      note(
        `updated ${summary.updatedInstruments} instruments (${summary.newInstruments} new), +${summary.newDays} days ` +
          `(now ${summary.days}, last ${summary.lastDay}), ${summary.filledCells} cells filled` +
          (summary.reindexed ? '; calendar days were inserted before the old last day, every file was re-indexed' : ''),
      );
    });

  data
    .command('synth')
    .description('write a deterministic synthetic market (learnable cross-sectional signals) in the same format')
    .argument('<target>', 'data directory to create')
    .option('--instruments <n>', 'number of instruments', '50')
    .option('--start <day>', 'first day', '2018-01-01')
    .option('--end <day>', 'last day', '2020-12-31')
    .option('--seed <n>', 'PRNG seed (same seed, same bytes)', '42')
    .option('--overwrite', 'replace a non-empty target')
    .option('--json', 'print the summary as JSON')
    .action((target: string, opts: { instruments: string; start: string; end: string; seed: string; overwrite?: boolean; json?: boolean }) => {
      const summary = synthMarket({
        targetDir: target,
        instruments: intOption('--instruments', opts.instruments),
        start: opts.start,
        end: opts.end,
        seed: intOption('--seed', opts.seed),
        overwrite: opts.overwrite ?? false,
      });
      if (opts.json) return printJson(summary);
      note(`wrote ${summary.instruments} instruments × ${summary.days} days (${summary.firstDay}..${summary.lastDay}) to ${summary.targetDir}`);
    });

  data
    .command('info')
    .description('calendar range, instruments per universe file, and fields of a data directory')
    .argument('<provider>', 'data directory (provider_uri)')
    .option('--json', 'print JSON')
    .action((provider: string, opts: { json?: boolean }) => {
      const info = providerInfo(provider);
      if (opts.json) return printJson(info);
      printLine(`provider   ${info.providerUri}`);
      printLine(`calendar   ${info.calendar.firstDay} .. ${info.calendar.lastDay} (${info.calendar.days} days)`);
      printLine(`instruments with data: ${info.featureInstruments}`);
      printLine('');
      printLine(formatTable(['universe', 'instruments', 'spans', 'first', 'last'], info.universes.map((u) => [u.market, u.instruments, u.spans, u.firstDay ?? '-', u.lastDay ?? '-'])));
      printLine('');
      printLine(formatTable(['field', 'instruments'], info.fields.map((f) => [f.field, f.instruments])));
    });

  // ── `qtask data features` is added here by the handler module (src/data/handler/…): one import line + one call. ──
  registerFeatures(data);
}
