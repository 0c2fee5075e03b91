/** Real experiment stores on disk for the collect tests: runs made through the Recorder API. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExperimentStore } from '../../src/recorder/store.ts';
import type { Recorder } from '../../src/recorder/recorder.ts';
import type { RunStatus } from '../../src/recorder/runMeta.ts';
import type { Panel } from '../../src/data/types.ts';

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tempStore(): ExperimentStore {
  const dir = mkdtempSync(join(tmpdir(), 'qtask-collect-'));
  made.push(dir);
  return new ExperimentStore({ uri: join(dir, 'mlruns') });
}

/** A pred panel from `{date: {instrument: score}}`; rows in the given order (not necessarily sorted). */
export function panel(rows: Record<string, Record<string, number>>): Panel {
  const dates: string[] = [];
  const instruments: string[] = [];
  const v: number[] = [];
  for (const [d, byInst] of Object.entries(rows)) {
    for (const [inst, x] of Object.entries(byInst)) {
      dates.push(d);
      instruments.push(inst);
      v.push(x);
    }
  }
  return { dates, instruments, columns: ['score'], groups: ['score'], values: [Float64Array.from(v)] };
}

export function rollingTask(model: string, test: [string, string | null]): Record<string, unknown> {
  return {
    model: { class: model, module_path: 'qtask.model' },
    dataset: { class: 'DatasetH', kwargs: { segments: { train: ['2010-01-01', '2014-12-31'], test } } },
  };
}

/** One trained-looking run: the task artifact, a flattened model.class param, pred.csv; ended with `status`. */
export function addRun(store: ExperimentStore, experiment: string, model: string, test: [string, string | null], pred: Panel | null, status: RunStatus = 'FINISHED'): Recorder {
  const rec = store.start({ experimentName: experiment });
  rec.logParams({ 'model.class': model });
  rec.saveObjects({ task: rollingTask(model, test) as never });
  if (pred) rec.saveObjects({ pred });
  rec.end(status);
  return rec;
}

/** `[date, instrument, score]` rows of a panel, for exact comparisons (NaN stays NaN). */
export function rowsOf(p: Panel): [string, string, number][] {
  return p.dates.map((d, i) => [d, p.instruments[i]!, p.values[0]![i]!]);
}
