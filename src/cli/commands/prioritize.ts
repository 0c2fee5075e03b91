import type { Command } from 'commander';
import { parseInteger, withPool } from '../context.ts';
import { printJson, printLine } from '../output.ts';

/** `qtask prioritize ID N`: higher priority runs first (qlib's `prioritize`). */
export function register(program: Command): void {
  program
    .command('prioritize')
    .description('set a task\'s priority (higher runs first; default 0)')
    .argument('<id>', 'task id')
    .argument('<priority>', 'an integer, may be negative')
    .option('--json', 'print JSON: {id, priority}')
    .action(async (id: string, priorityText: string, opts: { json?: boolean }, cmd: Command) => {
      const priority = parseInteger(priorityText, 'priority');
      await withPool(cmd, async ({ tm }) => {
        await tm.reQuery(id);
        await tm.prioritize(id, priority);
        if (opts.json) return printJson({ id, priority });
        printLine(`task ${id}: priority ${priority}`);
      });
    });
}
