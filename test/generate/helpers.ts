import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Calendar } from '../../src/generate/calendar.ts';
import type { TaskDef } from '../../src/task/types.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The inventory's worked-example calendar: Mon–Fri 2020, no holidays, 262 days. */
export const cal2020 = Calendar.weekdays('2020-01-01', '2020-12-31');

/** The inventory's worked-example template (qlib-task-inventory.md §1.2). */
export function exampleTemplate(overrides: { test?: [string, string | null]; handlerEnd?: string | null } = {}): TaskDef {
  return {
    model: { class: 'LGBModel', module_path: 'qlib.contrib.model.gbdt', kwargs: { loss: 'mse' } },
    dataset: {
      class: 'DatasetH',
      module_path: 'qlib.data.dataset',
      kwargs: {
        handler: {
          class: 'Alpha158',
          module_path: 'qlib.contrib.data.handler',
          kwargs: { start_time: '2020-01-01', end_time: overrides.handlerEnd === undefined ? '2020-11-30' : overrides.handlerEnd, instruments: 'all' },
        },
        segments: {
          train: ['2020-01-02', '2020-03-31'],
          valid: ['2020-04-01', '2020-04-30'],
          test: overrides.test ?? ['2020-05-01', '2020-12-31'],
        },
      },
    },
    record: [{ class: 'SignalRecord', module_path: 'qlib.workflow.record_temp' }],
  };
}

/** Segments of a generated task, for compact assertions. */
export function segs(task: TaskDef): Record<string, [string | null, string | null]> {
  const kwargs = (task.dataset as { kwargs: { segments: Record<string, [string | null, string | null]> } }).kwargs;
  return kwargs.segments;
}

export function handlerEnd(task: TaskDef): unknown {
  return (task.dataset as { kwargs: { handler: { kwargs: { end_time?: unknown } } } }).kwargs.handler.kwargs.end_time;
}

/** Trading days of AAPL from the shared S&P 500 data (its `Date` column). */
export function aaplCalendar(): Calendar {
  const text = readFileSync(join(repoRoot, '..', 'shared', 'data', 'sp500_2015_2020', 'AAPL.csv'), 'utf8');
  const days = text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(',')[0]);
  return Calendar.fromDays(days);
}
