/**
 * `qtask` command line. Each command lives in `cli/commands/<name>.ts` and exports
 * `register(program)`. User mistakes (any QtaskError) print one line and exit non-zero;
 * only unexpected bugs print a stack.
 */
import { Command, CommanderError } from 'commander';
import { isQtaskError } from '../errors.ts';
import { commandModules } from './commands/index.ts';
import { OutputClosedError } from './output.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('qtask')
    .description("qlib's Task Management in TypeScript: generate, store, run and collect model-training tasks")
    .option('--store <url>', 'task store URL (sqlite:PATH or mongodb://…); env QTASK_STORE', process.env.QTASK_STORE ?? 'sqlite:./qtask.db')
    .option('--pool <name>', 'task pool name; env QTASK_POOL', process.env.QTASK_POOL ?? 'default')
    .showHelpAfterError(false)
    .exitOverride();
  for (const mod of commandModules) mod.register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // A closed reader (`qtask … | head`) surfaces here, asynchronously, for output written through
  // process.stdout: the rest of the output is dropped (the stream is destroyed, later writes fail
  // quietly) and the command goes on to its end; a running `qtask worker` keeps working.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof OutputClosedError) return 0; // `qtask … | head`: the reader had enough
    if (e instanceof CommanderError) {
      // commander already printed its message (usage errors, --help, --version).
      return e.exitCode;
    }
    if (isQtaskError(e)) {
      process.stderr.write(`qtask: ${e.toLine()}\n`);
      return 2;
    }
    process.stderr.write(`qtask: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 70;
  }
}

process.exitCode = await main(process.argv);
