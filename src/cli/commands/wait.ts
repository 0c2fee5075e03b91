import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { QtaskError } from '../../errors.ts';
import type { StatusCounts, TaskFilter, TaskStore } from '../../store/types.ts';
import { parseFilter, parseSeconds, withPool } from '../context.ts';
import { fullCounts, note, printJson, printTable, statRows, undoneCount } from '../output.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function totalOf(counts: StatusCounts): number {
  return Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);
}

export interface WaitOptions {
  /** Only tasks matching this filter. Default `{}`. */
  filter?: TaskFilter;
  /** Give up after this long (a `WAIT_TIMEOUT` error). Default: never. */
  timeoutMs?: number;
  /** Time between two `stat` calls. Default 1000. */
  pollMs?: number;
  /** Show a done/total bar on stderr (one line every few seconds without a TTY). Default true. */
  progress?: boolean;
}

/**
 * Polls the pool's counts until no matching task is waiting, running or part_done (qlib's
 * `TaskManager.wait`, plus a timeout). Resolves with the final counts.
 */
export async function waitForPool(store: TaskStore, pool: string, opts: WaitOptions = {}): Promise<StatusCounts> {
  const filter = opts.filter ?? {};
  const timeoutMs = opts.timeoutMs ?? Number.POSITIVE_INFINITY;
  const pollMs = opts.pollMs ?? 1000;
  const deadline = Date.now() + timeoutMs;
  let counts = await store.stat(pool, filter);
  let bar: SingleBar | null = null;
  if ((opts.progress ?? true) && undoneCount(counts) > 0) {
    note(`Waiting for ${undoneCount(counts)} undone task(s) in pool ${pool}. Please make sure workers are running.`);
    bar = new SingleBar(
      {
        format: 'tasks [{bar}] {value}/{total} finished | {undone} to go | {duration_formatted}',
        stream: process.stderr,
        // Without a TTY (CI logs, pipes) the bar prints a line every few seconds instead of redrawing.
        noTTYOutput: true,
        notTTYSchedule: 3000,
        hideCursor: false,
      },
      Presets.shades_classic,
    );
    bar.start(totalOf(counts), totalOf(counts) - undoneCount(counts), { undone: undoneCount(counts) });
  }
  try {
    while (undoneCount(counts) > 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        bar?.stop();
        bar = null;
        throw new QtaskError(
          'WAIT_TIMEOUT',
          `${undoneCount(counts)} of ${totalOf(counts)} task(s) still unfinished after ${timeoutMs / 1000} s`,
          {
            path: '--timeout',
            hint: 'start workers (`qtask worker --task-fn …`); tasks left running by dead workers are taken over when their lease expires',
          },
        );
      }
      await sleep(Math.min(pollMs, left));
      counts = await store.stat(pool, filter);
      if (bar) {
        bar.setTotal(totalOf(counts));
        bar.update(totalOf(counts) - undoneCount(counts), { undone: undoneCount(counts) });
      }
    }
  } finally {
    bar?.stop();
  }
  return counts;
}

/**
 * `qtask wait`: blocks until no matching task is waiting, running or part_done, with a progress
 * bar on stderr. Unlike qlib, it can give up: `--timeout` ends it with `WAIT_TIMEOUT` (exit 2).
 */
export function register(program: Command): void {
  program
    .command('wait')
    .description('wait until every matching task is finished (done, failed or cancelled), showing progress')
    .option('--timeout <seconds>', 'give up after this many seconds (default: wait forever)')
    .option('--poll <seconds>', 'seconds between checks', '1')
    .option('--query <json>', 'only tasks matching this filter (default: all)')
    .option('--no-progress', 'no progress bar (only the result)')
    .option('--json', 'print the final counts as JSON')
    .action(async (opts: { timeout?: string; poll: string; query?: string; progress: boolean; json?: boolean }, cmd: Command) => {
      const filter = parseFilter(opts.query);
      const timeoutMs = opts.timeout === undefined ? undefined : parseSeconds(opts.timeout, '--timeout');
      const pollMs = Math.max(50, parseSeconds(opts.poll, '--poll'));
      await withPool(cmd, async ({ store, pool }) => {
        const counts = await waitForPool(store, pool, { filter, pollMs, progress: opts.progress, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
        if (opts.json) return printJson(fullCounts(counts));
        printTable(['status', 'tasks'], statRows(counts));
      });
    });
}
