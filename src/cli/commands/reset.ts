import type { Command } from 'commander';
import { parseFilter, parseStatus, withPool } from '../context.ts';
import { printJson, printLine } from '../output.ts';

/**
 * `qtask reset-waiting` (running → waiting, qlib's `reset_waiting`: for tasks whose worker died)
 * and `qtask reset-status --status S` (any matching task → S, qlib's `reset_status`).
 */
export function register(program: Command): void {
  program
    .command('reset-waiting')
    .description('return running tasks to waiting (e.g. after their workers died)')
    .option('--query <json>', 'only tasks matching this filter (default: all running tasks)')
    .option('--json', 'print JSON: {changed}')
    .action(async (opts: { query?: string; json?: boolean }, cmd: Command) => {
      const filter = parseFilter(opts.query);
      await withPool(cmd, async ({ tm }) => {
        // As in qlib: without a status in the query, only running tasks are reset.
        const changed = await tm.resetWaiting(filter);
        if (opts.json) return printJson({ changed });
        printLine(`${changed} task(s) reset to waiting`);
      });
    });

  program
    .command('reset-status')
    .description('set the status of the matching tasks')
    .requiredOption('--status <status>', 'new status: waiting, running, part_done, done, failed or cancelled')
    .option('--query <json>', 'only tasks matching this filter (default: all tasks)')
    .option('--json', 'print JSON: {changed, status}')
    .action(async (opts: { status: string; query?: string; json?: boolean }, cmd: Command) => {
      const status = parseStatus(opts.status);
      const filter = parseFilter(opts.query);
      await withPool(cmd, async ({ tm }) => {
        const changed = await tm.resetStatus(filter, status);
        if (opts.json) return printJson({ changed, status });
        printLine(`${changed} task(s) set to ${status}`);
      });
    });
}
