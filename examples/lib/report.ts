/** Printing helpers shared by the examples. */
import { formatTable } from '../../src/cli/output.ts';
import type { JsonObject, TaskDef } from '../../src/task/types.ts';

export function out(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x));
export const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : String(x));

/**
 * Runs one stage of a flow, printing its name when it starts and its duration when it ends, so the
 * reader sees progress through every stage (the long one, training, has its own progress bar).
 */
export function stage<T>(name: string, fn: () => T): T {
  out(`\n${name} …`);
  const t0 = performance.now();
  const done = () => out(`   (${name.replace(/^\d+\.\s*/, '')}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const r = fn();
  if (r instanceof Promise) return r.then((v: unknown) => (done(), v)) as T;
  done();
  return r;
}

export type Seg = [string | null, string | null];

export function segmentsOf(t: TaskDef | JsonObject): Record<string, Seg> {
  return ((t.dataset as JsonObject).kwargs as JsonObject).segments as unknown as Record<string, Seg>;
}

/** The generated tasks' train/valid/test windows as an indented table (`(open)` for an open test end). */
export function taskWindowsTable(tasks: readonly (TaskDef | JsonObject)[]): string {
  return formatTable(
    ['#', 'train', 'valid', 'test'],
    tasks.map((t, i) => {
      const s = segmentsOf(t);
      return [i + 1, `${s.train[0]}..${s.train[1]}`, `${s.valid[0]}..${s.valid[1]}`, `${s.test[0]}..${s.test[1] ?? '(open)'}`];
    }),
  ).replace(/^/gm, '   ');
}
