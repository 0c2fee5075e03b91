import type { Command } from 'commander';
import { CliUsageError, parseFilter, withPool } from '../context.ts';
import { printJson, printLine } from '../output.ts';

/**
 * `qtask remove --query JSON | --all`. Unlike qlib's `remove()`, whose default deletes the whole pool,
 * the scope must be explicit.
 */
export function register(program: Command): void {
  program
    .command('remove')
    .description('delete the matching tasks (needs --query or --all)')
    .option('--query <json>', 'delete the tasks matching this filter')
    .option('--all', 'delete every task in the pool')
    .option('--json', 'print JSON: {removed}')
    .action(async (opts: { query?: string; all?: boolean; json?: boolean }, cmd: Command) => {
      if (opts.query === undefined && !opts.all) {
        throw new CliUsageError('REMOVE_NEEDS_QUERY', 'refusing to remove without a scope', {
          path: '--query',
          hint: "pass --query '{…}' for the tasks to delete, or --all for the whole pool",
        });
      }
      if (opts.query !== undefined && opts.all) {
        throw new CliUsageError('REMOVE_NEEDS_QUERY', '--query and --all cannot be combined', {
          path: '--all',
          hint: 'use one of them',
        });
      }
      const filter = parseFilter(opts.query);
      await withPool(cmd, async ({ tm, pool }) => {
        const removed = await tm.remove(filter);
        if (opts.json) return printJson({ removed });
        printLine(`${removed} task(s) removed from pool ${pool}`);
      });
    });
}
