import type { Command } from 'commander';
import type { TaskDef } from '../../task/types.ts';
import { parseInteger, withPool } from '../context.ts';
import { printJson, printLine } from '../output.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and validates every definition before the store is touched, so bad input changes nothing. */
async function readDefs(file: string): Promise<TaskDef[]> {
  const { loadTaskDefs, loadTaskDefsFile } = await import('../../task/definition.ts');
  if (file === '-') return loadTaskDefs(await readStdin(), { format: 'auto', source: '<stdin>' });
  return loadTaskDefsFile(file);
}

/**
 * `qtask create FILE|-`: adds the task definitions that are new to the pool (qlib's `create_task`;
 * dedupe by canonical hash) and prints "Total Tasks: N, New Tasks: M" as qlib logs it.
 */
export function register(program: Command): void {
  program
    .command('create')
    .description('add tasks from a JSON/YAML file (one task or a list); "-" reads stdin, e.g. `qtask gen … | qtask create -`')
    .argument('<file>', 'task definitions file, or - for stdin')
    .option('--dry-run', 'report what would be new without writing')
    .option('--priority <n>', 'priority of the new tasks (default 0; higher runs first)')
    .option('--json', 'print JSON: {total, new, existing, ids} (ids in input order; null for new tasks under --dry-run)')
    .action(async (file: string, opts: { dryRun?: boolean; priority?: string; json?: boolean }, cmd: Command) => {
      const priority = opts.priority === undefined ? undefined : parseInteger(opts.priority, '--priority');
      const defs = await readDefs(file);
      await withPool(cmd, async ({ tm }) => {
        const result = await tm.createTask(defs, {
          ...(opts.dryRun ? { dryRun: true } : {}),
          ...(priority === undefined ? {} : { priority }),
        });
        if (opts.json) {
          return printJson({ total: defs.length, new: result.created, existing: result.existing, ids: result.ids, dryRun: !!opts.dryRun });
        }
        printLine(result.summary);
      });
    });
}
