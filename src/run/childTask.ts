import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TaskFunctionError } from '../errors.ts';
import type { JsonValue } from '../task/types.ts';
import type { ChildMessage, ParentMessage } from './childProtocol.ts';
import { RemoteTaskError, serializeError } from './errorInfo.ts';

const RUNNER_PATH = fileURLToPath(new URL('./childRunner.ts', import.meta.url));
// The child must load TypeScript (the runner and the user's module) whatever flags started us.
const TSX_LOADER = import.meta.resolve('tsx');

/** How long a child gets to exit after it was told to abort, before SIGKILL. */
const ABORT_KILL_MS = 1000;

export interface ChildTaskRequest {
  module: string;
  export: string;
  param: JsonValue;
  taskId: string;
  attempt: number;
  worker: string;
  onLog(msg: string): void;
}

export interface ChildTaskHandle {
  /** Resolves with the result; rejects with the task's error, or `CHILD_CRASHED`. */
  result: Promise<JsonValue>;
  pid: number | undefined;
  /** Tells the child to stop (its `ctx.signal` fires) and kills it if it has not exited shortly after. */
  abort(reason: unknown): void;
}

/** Runs one task in a fresh Node process (qlib's `force_release`). */
export function runTaskInChild(req: ChildTaskRequest): ChildTaskHandle {
  const child: ChildProcess = fork(RUNNER_PATH, [], {
    execArgv: ['--import', TSX_LOADER],
    // The child's stdout goes to our stderr so it never mixes into `--json` output.
    stdio: ['ignore', 2, 2, 'ipc'],
    serialization: 'json',
  });
  let settled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const result = new Promise<JsonValue>((resolve, reject) => {
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'log') req.onLog(msg.msg);
      else if (msg.type === 'result') settle(() => resolve(msg.res));
      else if (msg.type === 'error') settle(() => reject(new RemoteTaskError(msg.error)));
    });
    child.on('error', (e) =>
      settle(() => reject(new TaskFunctionError('CHILD_CRASHED', `task process could not run: ${e.message}`, { cause: e }))),
    );
    child.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      settle(() =>
        reject(
          new TaskFunctionError(
            'CHILD_CRASHED',
            signal ? `task process ${child.pid} was killed by ${signal}` : `task process ${child.pid} exited with code ${code} without a result`,
            { hint: 'look for out-of-memory kills or process.exit() in the task function' },
          ),
        ),
      );
    });
  });
  const run: ParentMessage = { type: 'run', module: req.module, export: req.export, param: req.param, taskId: req.taskId, attempt: req.attempt, worker: req.worker };
  child.send(run);
  return {
    result,
    pid: child.pid,
    abort(reason: unknown) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) {
        const msg: ParentMessage = { type: 'abort', reason: serializeError(reason) };
        child.send(msg, (err) => void err);
      }
      killTimer = setTimeout(() => child.kill('SIGKILL'), ABORT_KILL_MS);
      killTimer.unref();
    },
  };
}
