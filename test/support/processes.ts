/** `qtask` as a real child process, for tests: piped output, parsed `--json` event lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');
export const QTASK_BIN = join(REPO, 'bin/qtask.js');

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Parsed JSON lines printed so far (with `--json`). */
  events: () => Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `[...prefix, node, bin/qtask.js, ...args]` in the repo root. `prefix` wraps the command
 * (e.g. `['ip', 'netns', 'exec', 'ns1']`); default none. `env` is added to this process's.
 */
export function startQtask(args: string[], env: Record<string, string> = {}, prefix: string[] = []): CliProcess {
  const fullEnv: Record<string, string | undefined> = { ...process.env, ...env };
  // The child is a CLI, not a test file: without this, node's runner in the child would report to ours.
  delete fullEnv['NODE_TEST_CONTEXT'];
  const cmd = [...prefix, process.execPath, QTASK_BIN, ...args];
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: REPO, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Resolves with the exit of `p`, or null if it has not exited within `ms`. */
export async function exitWithin(p: CliProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.exited, new Promise<null>((res) => (timer = setTimeout(() => res(null), ms)))]);
  clearTimeout(timer);
  return r;
}
