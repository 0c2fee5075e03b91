/** A small real provider (12 S&P 500 names, 2015–2020, imported from the shared CSVs) and a rolling template. */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importCsv } from '../../src/data/import/index.ts';
import { Calendar } from '../../src/generate/calendar.ts';
import { RollingGen } from '../../src/generate/rollingGen.ts';
import { LocalTrainer, OnlineManager, RollingStrategy } from '../../src/online/index.ts';
import type { TaskDef } from '../../src/task/types.ts';

export const SP500 = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/data/sp500_2015_2020');

/** Imports the first `n` symbols (alphabetical) into `<root>/data`. */
export function smallProvider(root: string, n = 12): string {
  const src = join(root, 'csv');
  mkdirSync(src, { recursive: true });
  for (const f of readdirSync(SP500).filter((x) => x.endsWith('.csv')).sort().slice(0, n)) copyFileSync(join(SP500, f), join(src, f));
  const target = join(root, 'data');
  importCsv({ srcDir: src, targetDir: target, adjust: true, duplicates: 'first' });
  return target;
}

export function template(name = 'lin'): TaskDef {
  return {
    model: { class: 'LinearModel', module_path: 'qlib.contrib.model.linear', kwargs: { estimator: 'ridge', alpha: name === 'lin' ? 0.1 : 1 + name.length } },
    dataset: {
      class: 'DatasetH',
      module_path: 'qlib.data.dataset',
      kwargs: {
        handler: {
          class: 'DataHandlerLP',
          module_path: 'qlib.data.dataset.handler',
          kwargs: {
            instruments: 'all',
            start_time: '2017-01-03',
            end_time: '2019-01-02',
            data_loader: {
              class: 'QlibDataLoader',
              kwargs: {
                config: {
                  feature: [['$close/Ref($close,5)-1', '$close/Mean($close,20)-1', 'Std($close/Ref($close,1)-1,10)'], ['ROC5', 'MA20', 'STD10']],
                  label: [['Ref($close,-2)/Ref($close,-1)-1'], ['LABEL0']],
                },
              },
            },
          },
        },
        segments: { train: ['2017-01-03', '2017-12-29'], valid: ['2018-01-02', '2018-12-31'], test: ['2019-01-02', '2019-01-02'] },
      },
    },
    record: [{ class: 'SignalRecord', module_path: 'qlib.workflow.record_temp', kwargs: { model: '<MODEL>', dataset: '<DATASET>' } }],
  } as unknown as TaskDef;
}

export interface Setup {
  providerUri: string;
  mlruns: string;
  stateDir: string;
}

export function newSetup(root: string, providerUri: string, tag: string): Setup {
  const base = mkdtempSync(join(root, `${tag}-`));
  return { providerUri, mlruns: join(base, 'mlruns'), stateDir: join(base, 'state') };
}

export function strategies(s: Setup, step = 60, names = ['lin']): RollingStrategy[] {
  return names.map(
    (n) =>
      new RollingStrategy({
        name: n,
        template: template(n),
        rollingGen: new RollingGen({ calendar: () => Calendar.fromFile(join(s.providerUri, 'calendars', 'day.txt')), step, rtype: 'sliding' }),
        mlruns: s.mlruns,
      }),
  );
}

export function manager(s: Setup, opts: { beginTime?: string; step?: number; names?: string[]; delay?: boolean } = {}): OnlineManager {
  return new OnlineManager({
    strategies: strategies(s, opts.step, opts.names),
    trainer: new LocalTrainer({ providerUri: s.providerUri, mlruns: s.mlruns, delay: opts.delay ?? false }),
    providerUri: s.providerUri,
    stateDir: s.stateDir,
    beginTime: opts.beginTime ?? '2019-01-02',
  });
}

export function tmpRoot(): string {
  return mkdtempSync(join(tmpdir(), 'qtask-online-'));
}

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const QTASK = join(REPO, 'bin/qtask.js');

export interface ChildRoutine {
  code: number | null;
  signal: string | null;
  out: string;
}

/**
 * Runs one routine of `s` on `day` in a child process (test/online/routineChild.ts), through a SQLite
 * task pool when `pool` is given. With `killWhen`, the child is SIGKILLed as soon as it returns true
 * (polled every 20 ms) or after `deadlineMs`.
 */
export function runRoutineChild(s: Setup, day: string, opts: { pool?: { pool: string; leaseMs: number }; killWhen?: () => boolean; deadlineMs?: number } = {}): Promise<ChildRoutine> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', join(import.meta.dirname, 'routineChild.ts'), JSON.stringify(s), day, ...(opts.pool ? [JSON.stringify(opts.pool)] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    let timer: NodeJS.Timeout | undefined;
    const killWhen = opts.killWhen;
    if (killWhen) {
      const deadline = Date.now() + (opts.deadlineMs ?? 120_000);
      timer = setInterval(() => {
        if (killWhen() || Date.now() > deadline) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 20);
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, out });
    });
  });
}
