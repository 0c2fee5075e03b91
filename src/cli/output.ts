/**
 * Shared printing for the CLI: data goes to stdout (a table for people, `--json` for scripts),
 * notes and progress go to stderr so that stdout stays pipe-able.
 */
import { writeSync } from 'node:fs';
import type { StatusCounts } from '../store/types.ts';
import type { TaskDocument } from '../task/types.ts';
import { TASK_STATUSES } from '../task/types.ts';

/**
 * The reader of stdout went away (EPIPE: `qtask … | head` once head has its lines). Not a failure
 * of the command: the CLI stops writing and exits 0 quietly (the reader's own status tells how it
 * went).
 */
export class OutputClosedError extends Error {
  constructor() {
    super('the reader of the output closed it');
    this.name = 'OutputClosedError';
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `data` to `fd`, synchronously. stdout is often a non-blocking pipe or socket
 * (libuv makes it so once `process.stdout` is used): when the reader is slower, a write takes only
 * part of the data or fails with EAGAIN, so this writes the rest after a 1 ms pause until none is
 * left. Throws `OutputClosedError` on EPIPE.
 */
export function writeAllSync(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
      else if (code === 'EPIPE') throw new OutputClosedError();
      else throw e;
    }
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** A note for people (progress, summaries); never part of the data on stdout. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Left-aligned text columns; numbers are right-aligned. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return cells
    .map((r) =>
      r
        .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function printTable(headers: string[], rows: (string | number)[][]): void {
  printLine(formatTable(headers, rows));
}

/** Every status with its count (zeros included) and the total, in the canonical status order. */
export function fullCounts(counts: StatusCounts): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const s of TASK_STATUSES) {
    out[s] = counts[s] ?? 0;
    total += out[s];
  }
  out.total = total;
  return out;
}

/** Tasks still to be finished: waiting, running or part_done (qlib's "undone"). */
export function undoneCount(counts: StatusCounts): number {
  return (counts.waiting ?? 0) + (counts.running ?? 0) + (counts.part_done ?? 0);
}

export function statRows(counts: StatusCounts): (string | number)[][] {
  const full = fullCounts(counts);
  return Object.entries(full).map(([status, n]) => [status, n]);
}

/** A short, single-line description of a task for tables: its model class and test segment when present. */
export function describeDef(task: TaskDocument): string {
  const def = task.def;
  const model = def.model;
  const cls = model && typeof model === 'object' && !Array.isArray(model) && typeof model.class === 'string' ? model.class : '';
  const dataset = def.dataset;
  let test = '';
  if (dataset && typeof dataset === 'object' && !Array.isArray(dataset)) {
    const kwargs = dataset.kwargs;
    if (kwargs && typeof kwargs === 'object' && !Array.isArray(kwargs)) {
      const segments = kwargs.segments;
      if (segments && typeof segments === 'object' && !Array.isArray(segments) && Array.isArray(segments.test)) {
        test = `test ${segments.test.map((d) => (d === null ? '…' : String(d))).join('..')}`;
      }
    }
  }
  const text = [cls, test].filter(Boolean).join(' ');
  return text || JSON.stringify(def).slice(0, 60);
}

export function taskRows(tasks: TaskDocument[]): (string | number)[][] {
  return tasks.map((t) => [t._id, t.status, t.priority, t.attempts, t.lastError ? t.lastError.code : '', describeDef(t)]);
}

export const TASK_HEADERS = ['id', 'status', 'priority', 'attempts', 'error', 'task'];
