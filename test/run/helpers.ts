/** Shared helpers for the run tests: temp SQLite stores, polling, the real CLI as a process. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskStore } from '../../src/store/types.ts';
import { startQtask, type CliProcess } from '../support/processes.ts';

export const TASKS = 'test/run/fixtures/tasks.ts';

export interface TempStore {
  store: TaskStore;
  url: string;
  dir: string;
  cleanup(): Promise<void>;
}

export async function tempStore(prefix = 'qtask-run-'): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const url = `sqlite:${join(dir, 'tasks.db')}`;
  const { openStore } = await import('../../src/store/url.ts');
  const store = await openStore(url);
  return {
    store,
    url,
    dir,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export type WorkerProcess = CliProcess;

/** Starts `node bin/qtask.js ARGS` with piped output. */
export function startCli(args: string[], env: Record<string, string> = {}): WorkerProcess {
  return startQtask(args, env);
}
