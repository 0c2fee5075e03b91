/**
 * Runs the real CLI (`node bin/qtask.js …`) in a child process and snapshots a SQLite pool through
 * the real store, so tests can assert that a failed command changed nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const QTASK_BIN = join(REPO, 'bin/qtask.js');
export const FIXTURES = join(REPO, 'test/cli/fixtures');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Text written to the child's stdin (stdin is closed either way). */
  input?: string;
  /** Extra environment variables. QTASK_STORE/QTASK_POOL are removed unless given here. */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the child after this long, ms. Default 60000. */
  timeoutMs?: number;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
  delete env.QTASK_STORE;
  delete env.QTASK_POOL;
  Object.assign(env, opts.env ?? {});
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [QTASK_BIN, ...args], { cwd: opts.cwd ?? REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the CLI and parses its stdout as JSON; fails with the child's stderr if it exited non-zero. */
export async function runJson<T = unknown>(args: string[], opts: RunOptions = {}): Promise<T> {
  const r = await runCli(args, opts);
  if (r.code !== 0) throw new Error(`qtask ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`qtask ${args.join(' ')} printed non-JSON: ${r.stdout}`);
  }
}

export function tempDir(prefix = 'qtask-cli-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every pool and every task document in a store, as one string (includes times, leases, results). */
export async function snapshotStore(url: string): Promise<string> {
  const { openStore } = await import('../../src/store/url.ts');
  const store = await openStore(url);
  try {
    const pools = (await store.listPools()).sort();
    const out: Record<string, unknown> = {};
    for (const pool of pools) {
      out[pool] = (await store.find(pool, {})).sort((a, b) => a._id.localeCompare(b._id));
    }
    return JSON.stringify(out);
  } finally {
    await store.close();
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
