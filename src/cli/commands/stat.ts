import type { Command } from 'commander';
import { parseFilter, withPool } from '../context.ts';
import { fullCounts, printJson, printTable, statRows } from '../output.ts';

/** `qtask stat`: counts per status of the pool's tasks (qlib's `task_stat`), computed in the store. */
export function register(program: Command): void {
  program
    .command('stat')
    .description('count the tasks in the pool per status')
    .option('--query <json>', 'only tasks matching this Mongo-style filter (default: all)')
    .option('--json', 'print JSON: {waiting, running, part_done, done, failed, cancelled, total}')
    .action(async (opts: { query?: string; json?: boolean }, cmd: Command) => {
      const filter = parseFilter(opts.query);
      await withPool(cmd, async ({ tm }) => {
        const counts = await tm.taskStat(filter);
        if (opts.json) return printJson(fullCounts(counts));
        printTable(['status', 'tasks'], statRows(counts));
      });
    });
}
