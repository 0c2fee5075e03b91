/**
 * `npm run bench:data`: computing Alpha158 + LABEL0 over all 482 S&P 500 symbols and all days.
 *   (a) qtask's Alpha158 handler vs qlib 0.9.7's own Alpha158 handler (Python, same imported data,
 *       same run), raw view;
 *   (b) the first 20 Alpha158 features: qtask vs the same features as one nodejs-polars lazy query,
 *       two ways: (i) end to end, from the `.bin` files to the result in memory (qtask's fetch in a
 *       fresh process vs polars' frame build + query); (ii) compute only, from raw columns already
 *       in memory (qtask: the fields' `.bin` columns read and decoded first, timed separately, then
 *       the fetch; polars: the query on its prebuilt frame). Each is timed on the process's first
 *       run (cold JIT) and on a second run in the same process (warm).
 *       qtask and polars workers run interleaved, one after the other, `--runs` times.
 * Each engine runs in its own child process so its peak RSS is its own (qtask/polars: node's
 * maxRSS; qlib: ru_maxrss of the process + its joblib children).
 *
 *   (c) unless --skip-import: the import of the 482 CSVs vs qlib's dump_all (bench/data-import.ts).
 *
 * Usage: npm run bench:data [-- --provider DIR] [--skip-qlib] [--skip-import] [--runs N]
 *   Without --provider, ../shared/data/sp500_2015_2020 is imported (`--adjust --duplicates first`)
 *   into a temp dir first. qlib needs the venv from scripts/golden/setup_venv.sh (env QTASK_QLIB_VENV).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { importCsv } from '../src/data/import/index.ts';
import { LocalProvider } from '../src/data/provider/index.ts';
import { createAlpha158, createDataHandlerLP, alpha158FeatureConfig } from '../src/data/handler/index.ts';
import { defaultThreads } from '../src/data/handler/parallel.ts';
import { runImportBench } from './data-import.ts';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, '../shared/data/sp500_2015_2020');
const VENV = process.env.QTASK_QLIB_VENV ?? join(process.env.HOME ?? '', '.cache/qtask/venv-qlib');

interface Result {
  seconds: number;
  /** (ii) compute-only runs: the second run in the same process. */
  warm_seconds?: number;
  /** Reading the inputs before the timed compute (polars: building its frame; qtask: reading the .bin columns). */
  load_seconds?: number;
  rows: number;
  cols: number;
  peak_rss_mb: number;
  check?: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const FIRST20 = (() => {
  const c = alpha158FeatureConfig();
  return { fields: c.fields.slice(0, 20), names: c.names.slice(0, 20) };
})();

function peakMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Worker: qtask Alpha158 + label, all instruments, raw view. */
function workerQtask158(provider: string): Result {
  const p = new LocalProvider(provider);
  const t0 = performance.now();
  const raw = createAlpha158(p, { instruments: 'all', learn_processors: [] }).fetch(null, { dataKey: 'raw' });
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, rows: raw.dates.length, cols: raw.columns.length, peak_rss_mb: peakMb() };
}

/** Worker: qtask, the first 20 Alpha158 features only. `check` = sum of finite values (cross-check with polars). */
function workerQtask20(provider: string): Result {
  const p = new LocalProvider(provider);
  const t0 = performance.now();
  const raw = createDataHandlerLP(p, { instruments: 'all', data_loader: { config: { feature: [FIRST20.fields, FIRST20.names] } } }).fetch(null, { dataKey: 'raw' });
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, rows: raw.dates.length, cols: raw.columns.length, peak_rss_mb: peakMb(), check: finiteSum(raw.values) };
}

/**
 * Worker: qtask, first 20 features, compute only. The `.bin` columns of every field the features
 * read are decoded into the provider's cache first (`load_seconds`), as polars' frame is built
 * before its query; then the handler's fetch (`seconds`, cold JIT) and a second fetch by a new
 * handler on the same provider (`warm_seconds`).
 */
function workerQtask20Mem(provider: string): Result {
  const p = new LocalProvider(provider);
  const t0 = performance.now();
  const fields = ['open', 'high', 'low', 'close', 'vwap'];
  for (const s of p.instruments('all')) for (const f of fields) p.stored(s, f);
  const load = (performance.now() - t0) / 1000;
  const fetch = () => createDataHandlerLP(p, { instruments: 'all', data_loader: { config: { feature: [FIRST20.fields, FIRST20.names] } } }).fetch(null, { dataKey: 'raw' });
  const t1 = performance.now();
  const raw = fetch();
  const seconds = (performance.now() - t1) / 1000;
  const check = finiteSum(raw.values);
  const t2 = performance.now();
  fetch();
  const warm = (performance.now() - t2) / 1000;
  return { seconds, warm_seconds: warm, load_seconds: load, rows: raw.dates.length, cols: raw.columns.length, peak_rss_mb: peakMb(), check };
}

function finiteSum(cols: ArrayLike<number | null>[]): number {
  let s = 0;
  for (const c of cols) for (let i = 0; i < c.length; i++) {
    const x = c[i];
    if (typeof x === 'number' && Number.isFinite(x)) s += x;
  }
  return s;
}

const POLARS_FIELDS = ['open', 'high', 'low', 'close', 'volume'];

/** The long frame from JS arrays, one push per value (the build every earlier run used). */
function arrayFrame(p: LocalProvider): pl.DataFrame {
  const spans = p.listInstruments('all');
  const inst: string[] = [];
  const tcol: number[] = [];
  const f: Record<string, number[]> = Object.fromEntries(POLARS_FIELDS.map((k) => [k, []]));
  for (const s of spans) {
    const a = p.calendarDays().indexOf(s.start);
    const b = p.calendarDays().indexOf(s.end);
    const cols = Object.fromEntries(POLARS_FIELDS.map((k) => [k, p.load(s.instrument, k, a, b)]));
    for (let t = a; t <= b; t++) {
      inst.push(s.instrument);
      tcol.push(t);
      for (const k of POLARS_FIELDS) (f[k] as number[]).push((cols[k] as Float64Array)[t - a] as number);
    }
  }
  const df = pl.DataFrame({ instrument: inst, t: tcol, ...f });
  return df.withColumns(...POLARS_FIELDS.map((k) => pl.col(k).fillNan(null).alias(k)));
}

/**
 * The same frame from typed columns filled with native copies: a faster build of the same data.
 * `codes`: the instrument column holds each instrument's index in the (sorted) universe as an
 * int32 instead of its name, which spares polars converting ~600k JS strings; codes sort as the
 * names do, so the query and its row order are unchanged (its output names instruments by code).
 */
function typedFrame(p: LocalProvider, codes = false): pl.DataFrame {
  const spans = p.listInstruments('all');
  const cal = p.calendarDays();
  const ranges = spans.map((sp) => [cal.indexOf(sp.start), cal.indexOf(sp.end)] as const);
  const total = ranges.reduce((n, [a, b]) => n + (b - a + 1), 0);
  const inst = codes ? new Int32Array(total) : new Array<string>(total).fill('');
  const codeOf = new Map([...new Set(spans.map((sp) => sp.instrument))].sort().map((name, k) => [name, k]));
  const tcol = new Float64Array(total); // float64, as the number[] column of arrayFrame
  const f: Record<string, Float64Array> = Object.fromEntries(POLARS_FIELDS.map((k) => [k, new Float64Array(total)]));
  let at = 0;
  spans.forEach((sp, k) => {
    const [a, b] = ranges[k] as readonly [number, number];
    if (inst instanceof Int32Array) inst.fill(codeOf.get(sp.instrument) as number, at, at + b - a + 1);
    else inst.fill(sp.instrument, at, at + b - a + 1);
    for (let t = a; t <= b; t++) tcol[at + t - a] = t;
    for (const name of POLARS_FIELDS) (f[name] as Float64Array).set(p.load(sp.instrument, name, a, b), at);
    at += b - a + 1;
  });
  const df = pl.DataFrame([pl.Series('instrument', inst), pl.Series('t', tcol), ...POLARS_FIELDS.map((k) => pl.Series(k, f[k] as Float64Array))]);
  return df.withColumns(...POLARS_FIELDS.map((k) => pl.col(k).fillNan(null).alias(k)));
}

/**
 * Worker: the same 20 features as one polars lazy query. The long frame (instrument, t, OHLCV) is
 * built from the same .bin files first; building it is timed separately (`load`), the query is
 * `seconds`. Missing days are null (polars' rolling skips nulls, as pandas skips NaN). `build`:
 * the frame from JS arrays (`arrayFrame`), from typed columns (`typedFrame`), or from typed columns
 * with int32 instrument codes; the query is the same.
 */
function workerPolars20(provider: string, build: 'arrays' | 'typed' | 'codes' = 'arrays'): Result & { load_seconds: number } {
  const p = new LocalProvider(provider);
  const t0 = performance.now();
  const df = build === 'arrays' ? arrayFrame(p) : typedFrame(p, build === 'codes');
  const load = (performance.now() - t0) / 1000;
  const o = pl.col('open'), h = pl.col('high'), l = pl.col('low'), c = pl.col('close');
  const rng = h.minus(l).plus(1e-12);
  const maxOC = pl.when(o.gt(c)).then(o).otherwise(c);
  const minOC = pl.when(o.lt(c)).then(o).otherwise(c);
  const exprs = [
    c.minus(o).div(o).alias('KMID'),
    h.minus(l).div(o).alias('KLEN'),
    c.minus(o).div(rng).alias('KMID2'),
    h.minus(maxOC).div(o).alias('KUP'),
    h.minus(maxOC).div(rng).alias('KUP2'),
    minOC.minus(l).div(o).alias('KLOW'),
    minOC.minus(l).div(rng).alias('KLOW2'),
    c.mul(2).minus(h).minus(l).div(o).alias('KSFT'),
    c.mul(2).minus(h).minus(l).div(rng).alias('KSFT2'),
    o.div(c).alias('OPEN0'),
    h.div(c).alias('HIGH0'),
    l.div(c).alias('LOW0'),
    pl.lit(null).cast(pl.Float64).div(c).alias('VWAP0'),
    ...[5, 10, 20, 30, 60].map((d) => c.shift(d).over('instrument').div(c).alias(`ROC${d}`)),
    ...[5, 10].map((d) => c.rollingMean({ windowSize: d, minPeriods: 1 }).over('instrument').div(c).alias(`MA${d}`)),
  ];
  const query = () => df.lazy().sort(['instrument', 't']).select(pl.col('t'), pl.col('instrument'), ...exprs).sort(['t', 'instrument']).collectSync();
  const t1 = performance.now();
  const out = query();
  const seconds = (performance.now() - t1) / 1000;
  const values = FIRST20.names.map((n) => out.getColumn(n).toArray() as (number | null)[]);
  const check = finiteSum(values);
  const t2 = performance.now();
  query();
  const warm = (performance.now() - t2) / 1000;
  return { seconds, warm_seconds: warm, load_seconds: load, rows: out.height, cols: FIRST20.names.length, peak_rss_mb: peakMb(), check };
}

function runWorker(kind: string, provider: string): Result & { load_seconds?: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/data.ts'), '--worker', kind, '--provider', provider], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${kind} worker failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

function runQlib(provider: string): (Result & { init_seconds: number }) | string {
  const py = join(VENV, 'bin/python');
  if (!existsSync(py)) return `skipped: no qlib venv at ${VENV} (run scripts/golden/setup_venv.sh)`;
  const r = spawnSync(py, [join(ROOT, 'scripts/golden/alpha158_bench.py'), '--provider', provider], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `failed: ${r.stderr.slice(-500)}`;
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const worker = arg('--worker');
  if (worker) {
    const provider = arg('--provider') as string;
    const res =
      worker === 'qtask158' ? workerQtask158(provider)
      : worker === 'qtask20' ? workerQtask20(provider)
      : worker === 'qtask20mem' ? workerQtask20Mem(provider)
      : worker === 'polars20typed' ? workerPolars20(provider, 'typed')
      : worker === 'polars20codes' ? workerPolars20(provider, 'codes')
      : workerPolars20(provider);
    process.stdout.write(JSON.stringify(res) + '\n');
    return;
  }
  const runs = Number(arg('--runs') ?? '1');
  let provider = arg('--provider');
  let tmp: string | undefined;
  if (!provider) {
    tmp = mkdtempSync(join(tmpdir(), 'qtask-bench-data-'));
    provider = join(tmp, 'provider');
    process.stderr.write(`importing ${DATA} → ${provider}\n`);
    importCsv({ srcDir: DATA, targetDir: provider, adjust: true, duplicates: 'first' });
  }
  try {
    const pick = (kind: string) => {
      const rs = Array.from({ length: runs }, () => runWorker(kind, provider as string));
      const best = rs.find((r) => r.seconds === median(rs.map((x) => x.seconds))) as Result & { load_seconds?: number };
      return { ...best, peak_rss_mb: Math.max(...rs.map((r) => r.peak_rss_mb)) };
    };
    process.stderr.write('qtask Alpha158…\n');
    const q158 = pick('qtask158');
    process.stderr.write('first 20: qtask, qtask compute-only and polars, interleaved…\n');
    const load0 = loadavg()[0] as number;
    const triples = Array.from({ length: runs }, () => ({
      q: runWorker('qtask20', provider as string),
      m: runWorker('qtask20mem', provider as string),
      p: runWorker('polars20', provider as string),
      pt: runWorker('polars20typed', provider as string),
      pc: runWorker('polars20codes', provider as string),
    }));
    const load1 = loadavg()[0] as number;
    const med = (f: (t: (typeof triples)[number]) => number) => median(triples.map(f));
    const q20 = { ...(triples[0] as (typeof triples)[number]).q, seconds: med((t) => t.q.seconds), peak_rss_mb: Math.max(...triples.map((t) => t.q.peak_rss_mb)) };
    const p20 = { ...(triples[0] as (typeof triples)[number]).p, seconds: med((t) => t.p.seconds), load_seconds: med((t) => t.p.load_seconds ?? 0), warm_seconds: med((t) => t.p.warm_seconds ?? 0), peak_rss_mb: Math.max(...triples.map((t) => t.p.peak_rss_mb)) };
    const m20 = { seconds: med((t) => t.m.seconds), warm_seconds: med((t) => t.m.warm_seconds ?? 0), load_seconds: med((t) => t.m.load_seconds ?? 0) };
    // Ratios per interleaved run (back to back), then their median.
    const ratioE2E = med((t) => (t.p.seconds + (t.p.load_seconds ?? 0)) / t.q.seconds);
    const e2eTyped = med((t) => t.pt.seconds + (t.pt.load_seconds ?? 0));
    const ratioE2ETyped = med((t) => (t.pt.seconds + (t.pt.load_seconds ?? 0)) / t.q.seconds);
    const e2eCodes = med((t) => t.pc.seconds + (t.pc.load_seconds ?? 0));
    const ratioE2ECodes = med((t) => (t.pc.seconds + (t.pc.load_seconds ?? 0)) / t.q.seconds);
    const ratioCold = med((t) => t.p.seconds / t.m.seconds);
    const ratioWarm = med((t) => (t.p.warm_seconds ?? 0) / (t.m.warm_seconds ?? 1));
    const ratioColdCodes = med((t) => t.pc.seconds / t.m.seconds);
    const ratioWarmCodes = med((t) => (t.pc.warm_seconds ?? 0) / (t.m.warm_seconds ?? 1));
    let qlib: ReturnType<typeof runQlib> = 'skipped (--skip-qlib)';
    if (!process.argv.includes('--skip-qlib')) {
      process.stderr.write('qlib Alpha158 (minutes)…\n');
      qlib = runQlib(provider);
    }
    const mb = (x: number) => `${x.toFixed(0)} MB`;
    const s = (x: number) => `${x.toFixed(2)} s`;
    const typedParts = `${s(med((t) => t.pt.load_seconds ?? 0))} build + ${s(med((t) => t.pt.seconds))} query`;
    const codesParts = `${s(med((t) => t.pc.load_seconds ?? 0))} build + ${s(med((t) => t.pc.seconds))} query`;
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}; runs per qtask/polars row: ${runs} (median)`);
    const threadsNote = process.env['QTASK_DATA_THREADS'] ? `QTASK_DATA_THREADS=${process.env['QTASK_DATA_THREADS']}` : 'default';
    console.log(`qtask data threads (${threadsNote}): Alpha158 + LABEL0 ${defaultThreads(q158.rows * q158.cols)}, first 20 ${defaultThreads(q20.rows * q20.cols)}`);
    console.log('');
    console.log('| engine | task | rows × cols | time | peak RSS | qtask speed-up (their time ÷ qtask time) |');
    console.log('|---|---|---:|---:|---:|---:|');
    console.log(`| qtask | Alpha158 + LABEL0 | ${q158.rows} × ${q158.cols} | ${s(q158.seconds)} | ${mb(q158.peak_rss_mb)} | – |`);
    if (typeof qlib === 'string') console.log(`| qlib 0.9.7 Alpha158 handler | Alpha158 + LABEL0 | ${qlib} | | | |`);
    else console.log(`| qlib ${'0.9.7'} Alpha158 handler | Alpha158 + LABEL0 | ${qlib.rows} × ${qlib.cols} | ${s(qlib.seconds)} (+${s(qlib.init_seconds)} import/init) | ${mb(qlib.peak_rss_mb)} | ${(qlib.seconds / q158.seconds).toFixed(1)}x |`);
    console.log(`| qtask | first 20 features | ${q20.rows} × ${q20.cols} | ${s(q20.seconds)} | ${mb(q20.peak_rss_mb)} | – |`);
    console.log(`| nodejs-polars 0.24.1 lazy | first 20 features | ${p20.rows} × ${p20.cols} | ${s(p20.seconds)} (+${s(p20.load_seconds ?? 0)} building the frame) | ${mb(p20.peak_rss_mb)} | ${(p20.seconds / q20.seconds).toFixed(2)}x (query only), ${((p20.seconds + (p20.load_seconds ?? 0)) / q20.seconds).toFixed(2)}x (incl. building the frame) |`);
    console.log('');
    console.log(`First 20 features, medians of ${runs} interleaved runs (load average ${load0.toFixed(1)} before, ${load1.toFixed(1)} after); speed-up = polars time ÷ qtask time, per run, median:`);
    console.log('');
    console.log('| measure | what is timed | qtask | polars | qtask speed-up |');
    console.log('|---|---|---:|---:|---:|');
    console.log(`| (i) end to end | .bin files → result in memory (qtask fetch; polars frame build from JS arrays + query) | ${s(q20.seconds)} | ${s(p20.seconds + (p20.load_seconds ?? 0))} | ${ratioE2E.toFixed(2)}x |`);
    console.log(`| (i) end to end, polars frame from typed columns | same, polars' frame built with native copies (${typedParts}) | ${s(q20.seconds)} | ${s(e2eTyped)} | ${ratioE2ETyped.toFixed(2)}x |`);
    console.log(`| (ii) compute only, first run | raw columns in memory → result (qtask fetch after reading the .bin columns, ${s(m20.load_seconds)}; polars query on its frame) | ${s(m20.seconds)} | ${s(p20.seconds)} | ${ratioCold.toFixed(2)}x |`);
    console.log(`| (ii) compute only, second run | same, run again in the same process | ${s(m20.warm_seconds)} | ${s(p20.warm_seconds ?? 0)} | ${ratioWarm.toFixed(2)}x |`);
    console.log(`| (i) end to end, polars with int32 instrument codes | typed columns, instruments as codes (${codesParts}) | ${s(q20.seconds)} | ${s(e2eCodes)} | ${ratioE2ECodes.toFixed(2)}x |`);
    console.log(`| (ii) compute only, first run, polars on codes | the query on the coded frame | ${s(m20.seconds)} | ${s(med((t) => t.pc.seconds))} | ${ratioColdCodes.toFixed(2)}x |`);
    console.log(`| (ii) compute only, second run, polars on codes | same, run again | ${s(m20.warm_seconds)} | ${s(med((t) => t.pc.warm_seconds ?? 0))} | ${ratioWarmCodes.toFixed(2)}x |`);
    const rel = Math.abs((q20.check ?? 0) - (p20.check ?? 0)) / Math.abs(q20.check ?? 1);
    console.log('');
    console.log(`cross-check first 20: sum of finite values qtask ${q20.check?.toExponential(9)} vs polars ${p20.check?.toExponential(9)} (rel diff ${rel.toExponential(1)}); rows ${q20.rows} vs ${p20.rows}`);
    const typedSame = triples.every((t) => t.pt.check === t.p.check && t.pt.rows === t.p.rows);
    console.log(`polars from typed columns: ${typedSame ? 'same sum and rows as from JS arrays in every run' : 'DIFFERS from the JS-array frame'}`);
    const codesSame = triples.every((t) => t.pc.check === t.p.check && t.pc.rows === t.p.rows);
    console.log(`polars with instrument codes: ${codesSame ? 'same sum and rows as from JS arrays in every run' : 'DIFFERS from the JS-array frame'}`);
    if (!process.argv.includes('--skip-import')) {
      process.stderr.write('import vs dump_all…\n');
      console.log('');
      console.log('Import of the 482 CSVs (bench/data-import.ts):');
      console.log('');
      console.log(await runImportBench({ runs }));
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
