import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importedSp500, SP500_SRC } from '../support/sp500Fixture.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SP500 = SP500_SRC;
export const QTASK = join(REPO, 'bin/qtask.js');
export const MLFLOW_PYTHON = join(process.env.QTASK_MLFLOW_VENV ?? join(homedir(), '.cache/qtask/venv-mlflow'), 'bin/python');

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The S&P 500 CSVs imported (adjusted, first of duplicate rows) once per test process by
 * test/support/sp500Fixture.ts; returns the provider directory. It lives in the fixture's own temp
 * directory, not under `_dir` (kept so callers need not change); the tests only read it.
 */
export function importSp500(_dir?: string): string {
  return importedSp500().dir;
}

/** The first `n` symbols of the data set, alphabetically. */
export function firstSymbols(n: number): string[] {
  return readdirSync(SP500).filter((f) => f.endsWith('.csv')).sort().slice(0, n).map((f) => f.slice(0, -4));
}

/** The example workflow with the data path (and optional text edits) replaced, written to `dir`. */
export function exampleWorkflow(name: string, dir: string, provider: string, edits: [string | RegExp, string][] = []): string {
  let text = readFileSync(join(REPO, 'examples/workflows', name), 'utf8').replace('"./data/sp500"', JSON.stringify(provider));
  for (const [from, to] of edits) {
    const before = text;
    text = text.replace(from, to);
    if (text === before) throw new Error(`edit ${String(from)} matched nothing in ${name}`);
  }
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the qtask CLI as a child process. */
export function qtask(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [QTASK, ...args], { cwd: opts.cwd ?? REPO, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
  });
}
