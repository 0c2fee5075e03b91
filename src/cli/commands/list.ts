import type { Command } from 'commander';
import { withPool } from '../context.ts';
import { fullCounts, printJson, printTable } from '../output.ts';
import { TaskManager } from '../../store/taskManager.ts';
import { TASK_STATUSES } from '../../task/types.ts';

/** `qtask list`: every pool in the store with its counts per status (qlib's `TaskManager.list`). */
export function register(program: Command): void {
  program
    .command('list')
    .description('list the pools in the store with their task counts')
    .option('--json', 'print JSON: [{pool, counts}]')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withPool(cmd, async ({ store }) => {
        const pools = (await TaskManager.list(store)).sort();
        const rows = [];
        for (const pool of pools) rows.push({ pool, counts: fullCounts(await store.stat(pool)) });
        if (opts.json) return printJson(rows);
        printTable(
          ['pool', ...TASK_STATUSES, 'total'],
          rows.map((r) => [r.pool, ...TASK_STATUSES.map((s) => r.counts[s]), r.counts.total]),
        );
      });
    });
}
