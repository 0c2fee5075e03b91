import type { Command } from 'commander';
import { parseFilter, withPool } from '../context.ts';
import { printJson, printLine } from '../output.ts';

/**
 * `qtask cancel`: waiting, part_done and running tasks → cancelled. A running task's worker loses its
 * lease, so its eventual commit is rejected. Finished tasks keep their status.
 */
export function register(program: Command): void {
  program
    .command('cancel')
    .description('cancel unfinished tasks (waiting, part_done, running)')
    .option('--query <json>', 'only tasks matching this filter (default: every unfinished task in the pool)')
    .option('--json', 'print JSON: {changed}')
    .action(async (opts: { query?: string; json?: boolean }, cmd: Command) => {
      const filter = parseFilter(opts.query);
      await withPool(cmd, async ({ tm }) => {
        const changed = await tm.cancel(filter);
        if (opts.json) return printJson({ changed });
        printLine(`${changed} task(s) cancelled`);
      });
    });
}
