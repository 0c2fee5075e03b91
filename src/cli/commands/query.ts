import type { Command } from 'commander';
import { parseFilter, parseInteger, withPool } from '../context.ts';
import { printJson, printTable, TASK_HEADERS, taskRows } from '../output.ts';

/** `qtask query JSON`: the matching task documents (qlib's `query`), highest priority first. */
export function register(program: Command): void {
  program
    .command('query')
    .description("print the tasks matching a Mongo-style filter, e.g. '{\"status\": \"done\"}' ('{}' for all)")
    .argument('<json>', 'filter; `filter.*` and `def.*` paths address the task definition')
    .option('--limit <n>', 'print at most N tasks (default: all)')
    .option('--json', "print the task documents as JSON (qlib's shape: _id, def, filter, status, priority, res, …)")
    .action(async (query: string, opts: { limit?: string; json?: boolean }, cmd: Command) => {
      const filter = parseFilter(query, 'query');
      const limit = opts.limit === undefined ? undefined : parseInteger(opts.limit, '--limit', 1);
      await withPool(cmd, async ({ tm }) => {
        const tasks = await tm.query(filter, limit === undefined ? {} : { limit });
        if (opts.json) return printJson(tasks);
        printTable(TASK_HEADERS, taskRows(tasks));
      });
    });
}
