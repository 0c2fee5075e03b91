/**
 * A real MongoDB-wire server for tests: `QTASK_TEST_MONGO_URL` when set; otherwise FerretDB 1.24.2
 * (built once by scripts/ferretdb.sh into the cache) started on loopback with a temp SQLite dir.
 * Under CI a missing URL is an error: CI must exercise MongoDB.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const REPO = resolve(import.meta.dirname, '../..');

export interface MongoTestServer {
  /** `mongodb://host:port/` with no database. */
  url: string;
  host: string;
  port: number;
  /** Stops the server if this helper started it; a no-op for an external URL. */
  stop(): Promise<void>;
}

/** Path of the FerretDB binary, building it first if the cache does not have it. */
export async function ferretBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(REPO, 'scripts/ferretdb.sh'), 'bin'], { maxBuffer: 1 << 24 });
  return stdout.trim().split('\n').pop()!;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((ok) => {
    const sock = connect({ host, port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      ok(true);
    });
    sock.once('error', () => ok(false));
    sock.once('timeout', () => {
      sock.destroy();
      ok(false);
    });
  });
}

export interface StartOptions {
  host?: string;
  /** Extra FerretDB flags, e.g. the auth setup flags. */
  extraArgs?: string[];
  /**
   * FerretDB's storage: `sqlite` (default, a temp dir) or `postgresql` (a private PostgreSQL cluster
   * started by scripts/postgres.sh, stopped with the server).
   */
  handler?: 'sqlite' | 'postgresql';
  /** Prefix for the command (e.g. `['ip', 'netns', 'exec', 'ns1']`). */
  wrap?: string[];
  /**
   * Also listen on this Unix socket and wait on it (a socket file is reachable from every network
   * namespace, so a test can reach a server whose TCP address exists only inside one).
   */
  unixSocket?: string;
}

/** Starts a private FerretDB and waits (≤ 30 s) until it accepts connections. */
export async function startFerretDB(opts: StartOptions = {}): Promise<MongoTestServer> {
  const bin = await ferretBinary();
  const host = opts.host ?? '127.0.0.1';
  const port = await freePort();
  const debugPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'qtask-ferretdb-'));
  let backend = ['--handler=sqlite', `--sqlite-url=file:${dir}/`];
  let stopBackend = async (): Promise<void> => {};
  if (opts.handler === 'postgresql') {
    chmodSync(dir, 0o755); // the cluster runs as the postgres user when the tests run as root
    const script = join(REPO, 'scripts/postgres.sh');
    const pg = join(dir, 'pg');
    const { stdout } = await promisify(execFile)('bash', [script, 'start', pg]).catch((e: { stderr?: string; message: string }) => {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`PostgreSQL for FerretDB's PostgreSQL handler did not start: ${e.stderr?.trim() || e.message}`);
    });
    backend = ['--handler=postgresql', `--postgresql-url=${stdout.trim()}`];
    stopBackend = async () => {
      await promisify(execFile)('bash', [script, 'stop', pg]).catch(() => undefined);
    };
  }
  const args = [
    ...backend,
    `--state-dir=${dir}`,
    `--listen-addr=${host}:${port}`,
    `--debug-addr=127.0.0.1:${debugPort}`,
    '--telemetry=disable',
    '--log-level=error',
    ...(opts.unixSocket ? [`--listen-unix=${opts.unixSocket}`] : []),
    ...(opts.extraArgs ?? []),
  ];
  const wrap = opts.wrap ?? [];
  const child: ChildProcess = spawn(wrap[0] ?? bin, wrap.length > 0 ? [...wrap.slice(1), bin, ...args] : args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await stopBackend();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  const ready = (): Promise<boolean> => (opts.unixSocket ? canConnectUnix(opts.unixSocket) : canConnect(host, port));
  while (!(await ready())) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`FerretDB exited with ${child.exitCode}: ${stderr}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`FerretDB did not answer on ${host}:${port} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `mongodb://${host}:${port}/`, host, port, stop };
}

function canConnectUnix(path: string): Promise<boolean> {
  return new Promise((ok) => {
    const sock = connect({ path });
    sock.once('connect', () => {
      sock.destroy();
      ok(true);
    });
    sock.once('error', () => ok(false));
  });
}

/** A `mongodb://` URL for a Unix socket path (percent-encoded, as the driver wants it). */
export function unixSocketUrl(path: string, database: string): string {
  return `mongodb://${encodeURIComponent(path)}/${database}`;
}

/** The server the MongoDB tests run against; see the module comment. */
export async function mongoTestServer(): Promise<MongoTestServer> {
  const external = process.env['QTASK_TEST_MONGO_URL'];
  if (external) {
    const m = /^mongodb:\/\/(?:[^@/]*@)?([^:/,]+):?(\d+)?/.exec(external);
    const base = external.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]*)\/?[^?]*/, '$1/');
    return { url: base, host: m?.[1] ?? '127.0.0.1', port: Number(m?.[2] ?? 27017), stop: async () => undefined };
  }
  if (process.env['CI']) {
    throw new Error('MongoDB URL not configured: CI must set QTASK_TEST_MONGO_URL (see .ci/run) so the MongoDB store is exercised');
  }
  return startFerretDB();
}

let counter = 0;
/** A database name no other test run uses (FerretDB allows [A-Za-z0-9_-]{1,63}). */
export function freshDatabase(tag = 't'): string {
  counter += 1;
  return `qt_${tag}_${process.pid}_${Date.now().toString(36)}_${counter}`.slice(0, 63);
}

/** `mongodb://h:p/` + db (+ the external URL's query string, if any). */
export function urlFor(server: MongoTestServer, database: string): string {
  const external = process.env['QTASK_TEST_MONGO_URL'];
  const query = external?.includes('?') ? external.slice(external.indexOf('?')) : '';
  return `${server.url}${database}${query}`;
}
