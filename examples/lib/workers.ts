/** Starting `qtask worker` processes for the examples, and which task function they run. */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findBuiltinTaskFn } from '../../src/run/builtinTaskFns.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `qtask:taskTrain` once the workflow module registers it as a built-in; until then the examples'
 * own wrapper around `taskTrain`, which reads the same environment variables.
 */
export async function trainTaskFnSpec(): Promise<string> {
  return findBuiltinTaskFn('taskTrain') ? 'qtask:taskTrain' : 'examples/trainTask.ts#trainTask';
}

export interface WorkerRun {
  name: string;
  code: number | null;
  lines: string[];
}

export interface TrainWorkerOptions {
  storeUrl: string;
  pool: string;
  taskFn: string;
  provider: string;
  experiment: string;
  mlruns: string;
  /** Lease, seconds. Default 60. */
  lease?: number;
  /** Called with each output line of the worker. Default: none. */
  onLine?: (name: string, line: string) => void;
}

/** One `qtask worker` child process training tasks of `pool` into `experiment`; resolves when it exits. */
export function startTrainWorker(name: string, o: TrainWorkerOptions): Promise<WorkerRun> {
  const child = spawn(
    process.execPath,
    [join(REPO, 'bin/qtask.js'), '--store', o.storeUrl, '--pool', o.pool, 'worker', '--task-fn', o.taskFn, '--worker-id', name, '--lease', String(o.lease ?? 60)],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, QTASK_PROVIDER_URI: o.provider, QTASK_EXPERIMENT: o.experiment, QTASK_MLRUNS: o.mlruns },
    },
  );
  const lines: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      o.onLine?.(name, line);
    }
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ name, code, lines }));
  });
}
