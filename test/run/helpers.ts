/** Shared helpers for the run tests: temp SQLite stores, polling, the real CLI as a process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskStore } from '../../src/store/types.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const QTASK_BIN = join(REPO, 'bin/qtask.js');
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

export interface WorkerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Parsed JSON lines printed so far (with `--json`). */
  events: () => Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node bin/qtask.js ARGS` with piped output. */
export function startCli(args: string[], env: Record<string, string> = {}): WorkerProcess {
  const fullEnv: Record<string, string | undefined> = { ...process.env, ...env };
  delete fullEnv.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [QTASK_BIN, ...args], { cwd: REPO, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('close', (code, signal) => res({ code, signal })));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    events: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
  };
}
