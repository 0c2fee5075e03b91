/** Shared helpers for the recorder tests: temp mlruns directories and the child-process fixture. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHILD = join(REPO, 'test/recorder/fixtures/child.ts');

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh `<tmp>/qtask-rec-XXXX/mlruns` path (not created), removed when the test process exits. */
export function tempRoot(prefix = 'qtask-rec-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return join(dir, 'mlruns');
}

export interface Child {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(args: string[]): Child {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Polls `check` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs: number, what: string, pollMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The id printed by the child as `READY <id>` or `ID <id>`. */
export function printedId(out: string): string | undefined {
  return /(?:READY|ID) ([0-9a-f]{32})/.exec(out)?.[1];
}
