import type { Command } from 'commander';
import { withPool } from '../context.ts';
import { printJson, printLine } from '../output.ts';

/** `qtask show ID`: one task in full (qlib's `re_query`). */
export function register(program: Command): void {
  program
    .command('show')
    .description('print one task: definition, status, result, attempts and last error')
    .argument('<id>', 'task id (24 hex characters, as printed by `qtask query`)')
    .option('--json', 'print the task document as JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await withPool(cmd, async ({ tm }) => {
        const task = await tm.reQuery(id);
        if (opts.json) return printJson(task);
        const { def, res, filter: _filter, ...meta } = task;
        for (const [key, value] of Object.entries(meta)) {
          printLine(`${key.padEnd(15)} ${value === null ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
        }
        printLine(`def\n${JSON.stringify(def, null, 2)}`);
        if (res !== undefined) printLine(`res\n${JSON.stringify(res, null, 2)}`);
      });
    });
}
