/**
 * Entry point of the child process `runTask` forks per task under `forceRelease`. It receives one
 * `run` message, loads the task function by its spec, runs it, checks the result is JSON and sends
 * it back, then exits. The parent holds the lease and heartbeats; this process never touches the store.
 */
import { LeaseLostError, QtaskError } from '../errors.ts';
import type { ChildMessage, ParentMessage } from './childProtocol.ts';
import { RemoteTaskError, serializeError } from './errorInfo.ts';
import { assertJsonResult } from './jsonResult.ts';
import { loadTaskFunction } from './taskFunction.ts';

const controller = new AbortController();
let currentTaskId = '';

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

async function finish(msg: ChildMessage): Promise<never> {
  await send(msg);
  // Exit even if the task function left timers or sockets open: one task per process.
  process.exit(0);
}

async function run(msg: Extract<ParentMessage, { type: 'run' }>): Promise<void> {
  currentTaskId = msg.taskId;
  try {
    const fn = await loadTaskFunction({ module: msg.module, export: msg.export });
    const res = await fn(msg.param, {
      taskId: msg.taskId,
      attempt: msg.attempt,
      worker: msg.worker,
      signal: controller.signal,
      log: (text: string) => void send({ type: 'log', msg: text }),
    });
    await finish({ type: 'result', res: assertJsonResult(res) });
  } catch (e) {
    await finish({ type: 'error', error: serializeError(e) });
  }
}

process.on('message', (raw: ParentMessage) => {
  if (raw.type === 'run') void run(raw);
  else if (raw.type === 'abort') {
    const reason: QtaskError = raw.reason.code === 'LEASE_LOST' ? new LeaseLostError(currentTaskId, raw.reason.message) : new RemoteTaskError(raw.reason);
    controller.abort(reason);
  }
});
// The parent going away means nobody holds the lease any more: stop.
process.on('disconnect', () => process.exit(1));
