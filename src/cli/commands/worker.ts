import type { Command } from 'commander';
import { runWorker } from '../../run/worker.ts';
import { globalOptions, parseFilter, parseInteger, parseSeconds, parseStatus } from '../context.ts';

interface WorkerFlags {
  taskFn: string;
  beforeStatus: string;
  afterStatus: string;
  lease: string;
  heartbeat?: string;
  maxAttempts: string;
  once?: boolean;
  fork?: boolean;
  grace: string;
  poll: string;
  idleExit?: string;
  query?: string;
  workerId?: string;
  connectTimeout?: string;
  json?: boolean;
}

/** `--connect-timeout`: seconds, or `inf` to wait until stopped. */
function parseConnectTimeout(text: string): number {
  return /^\s*(inf|infinity)\s*$/i.test(text) ? Number.POSITIVE_INFINITY : parseSeconds(text, '--connect-timeout');
}

/**
 * `qtask worker`: qlib's `run_task` as a process. Runs tasks until the pool is drained; the first
 * SIGINT/SIGTERM lets the running task finish (within --grace), the second returns it at once.
 * Exit code 0, or 130/143 after a signal.
 */
export function register(program: Command): void {
  program
    .command('worker')
    .description('claim and run tasks until the pool is drained (Ctrl-C once: finish the running task; twice: return it)')
    .requiredOption('--task-fn <module[#export]>', 'task function: a module path relative to the cwd, a package, or qtask:echo / qtask:sleep')
    .option('--before-status <status>', 'claim tasks in this status: waiting (fn gets def) or part_done (fn gets res)', 'waiting')
    .option('--after-status <status>', 'status a successful result is stored with', 'done')
    .option('--lease <seconds>', 'lease length; a task whose worker stops heartbeating is taken over after this', '60')
    .option('--heartbeat <seconds>', 'heartbeat interval (default: lease / 3)')
    .option('--max-attempts <n>', 'attempts per task before it is failed', '3')
    .option('--once', 'exit as soon as nothing is claimable, even while other workers still run tasks')
    .option('--fork', 'run every task in a fresh child process (qlib force_release)')
    .option('--grace <seconds>', 'after the first signal, how long the running task may take before it is returned', '30')
    .option('--poll <seconds>', 'how often to look again while other workers hold tasks', '1')
    .option('--idle-exit <seconds>', 'stop waiting for other workers after this long without work (default: wait until they finish)')
    .option('--query <json>', 'only claim tasks matching this filter')
    .option('--worker-id <id>', 'worker id recorded on tasks (default host:pid:random)')
    .option(
      '--connect-timeout <seconds>',
      'if the store is unreachable at start, keep retrying (backoff, one log line per attempt) this long before exit 2; 0: try once, inf: until stopped (default: 120, the window a running worker gets to reconnect)',
    )
    .option('--json', 'print one JSON line per finished task and a final summary line on stdout')
    .action(async (flags: WorkerFlags, cmd: Command) => {
      const { store: storeUrl, pool } = globalOptions(cmd);
      const json = flags.json ?? false;
      const leaseMs = parseSeconds(flags.lease, '--lease');
      const connectTimeoutMs = flags.connectTimeout !== undefined ? parseConnectTimeout(flags.connectTimeout) : undefined;
      const result = await runWorker({
        storeUrl,
        pool,
        taskFn: flags.taskFn,
        query: parseFilter(flags.query),
        beforeStatus: parseStatus(flags.beforeStatus, '--before-status'),
        afterStatus: parseStatus(flags.afterStatus, '--after-status'),
        leaseMs,
        ...(flags.heartbeat !== undefined ? { heartbeatMs: parseSeconds(flags.heartbeat, '--heartbeat') } : {}),
        maxAttempts: parseInteger(flags.maxAttempts, '--max-attempts', 1),
        once: flags.once ?? false,
        fork: flags.fork ?? false,
        graceMs: parseSeconds(flags.grace, '--grace'),
        pollMs: Math.max(20, parseSeconds(flags.poll, '--poll')),
        ...(flags.idleExit !== undefined ? { idleExitMs: parseSeconds(flags.idleExit, '--idle-exit') } : {}),
        ...(flags.workerId !== undefined ? { worker: flags.workerId } : {}),
        ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
        onEvent: json
          ? (e) => {
              if (e.type === 'finished' || e.type === 'claimed') process.stdout.write(`${JSON.stringify(e)}\n`);
            }
          : undefined,
      });
      if (json) {
        process.stdout.write(`${JSON.stringify({ type: 'summary', worker: result.worker, ...result.stats, elapsedMs: result.elapsedMs, exitCode: result.exitCode })}\n`);
      }
      process.exitCode = result.exitCode;
      if (result.exitCode !== 0) {
        // A task function that ignored its abort signal may keep the event loop alive; don't wait for it.
        setTimeout(() => process.exit(result.exitCode), 200).unref();
      }
    });
}
