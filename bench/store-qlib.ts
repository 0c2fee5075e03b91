/**
 * qtask's MongoDB store vs qlib's own TaskManager on the SAME server in the same run
 * (`npm run bench:store -- --store mongodb://HOST:PORT/ [--write]`, or `node --import tsx bench/store-qlib.ts …`).
 *
 * (a) claim+commit throughput with 1, 2 and 4 worker processes, each side starting from a pool of
 *     `--tasks` waiting tasks (default 500) and draining for at most `--budget-ms` (default 20 000);
 *     the rate is tasks done / wall time from the common start signal.
 *     qtask: `claim` + `commit` (bench child below). qlib: `TaskManager.fetch_task` + `commit_task_res`
 *     (bench/store-qlib.py in the venv of scripts/golden/setup_venv.sh, pyqlib 0.9.7).
 * (b) creating `--defs` definitions (default 10 000): qtask `createTasks` in one call vs qlib
 *     `create_task` in chunks of 100 until `--create-budget-ms` (default 30 000); qlib's per-definition
 *     cost only grows with the pool (a find by `filter` without an index), so its measured rate is an
 *     upper bound and the ratio a lower bound.
 * `--write` replaces the MongoDB section of BENCHMARKS.md.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openMongoStore } from '../src/store/mongodb.ts';
import { redactMongoUrl } from '../src/store/mongodb/url.ts';

const REPO = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const PYTHON = process.env['QTASK_QLIB_PYTHON'] ?? join(homedir(), '.cache/qtask/venv-qlib/bin/python');

interface Drained {
  count: number;
  start: number;
  end: number;
}

/** Child: drain `pool` with claim + commit until empty or the budget ends. */
async function child(url: string, pool: string, budgetMs: number): Promise<void> {
  const store = await openMongoStore(url);
  process.stdout.write('ready\n');
  await new Promise<void>((r) => process.stdin.once('data', () => r()));
  process.stdin.pause();
  const start = Date.now();
  let count = 0;
  while (Date.now() - start < budgetMs) {
    const c = await store.claim(pool, { worker: `bench:${process.pid}`, leaseMs: 60_000 });
    if (!c) break;
    await store.commit(pool, c.lease, { ok: true, n: count });
    count++;
  }
  process.stdout.write(`${JSON.stringify({ count, start, end: Date.now() })}\n`);
  await store.close();
}

/** Starts `workers` processes, releases them together, returns tasks per second over the union of their runs. */
async function drain(cmd: string, cmdArgs: string[], workers: number, budgetMs: number): Promise<{ rate: number; count: number }> {
  const procs = Array.from({ length: workers }, () => spawn(cmd, cmdArgs, { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = procs.map((p) => {
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    return { ready: waitFor(() => out.includes('ready')), done: new Promise<string>((r) => p.on('close', () => r(out))) };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const p of procs) p.stdin.write('go\n');
  const killer = setTimeout(() => procs.forEach((p) => p.kill('SIGKILL')), budgetMs + 120_000);
  const results = (await Promise.all(outputs.map((o) => o.done))).map((out) => JSON.parse(out.trim().split('\n').pop()!) as Drained);
  clearTimeout(killer);
  const count = results.reduce((n, r) => n + r.count, 0);
  const span = Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start));
  return { rate: (count / span) * 1000, count };
}

function waitFor(check: () => boolean): Promise<void> {
  return new Promise((ok) => {
    const t = setInterval(() => {
      if (check()) {
        clearInterval(t);
        ok();
      }
    }, 20);
  });
}

async function main(): Promise<void> {
  if (args[0] === '--child') return child(args[1]!, args[2]!, Number(args[3]));
  const base = flag('--store');
  if (!base?.startsWith('mongodb')) throw new Error('usage: bench/store-qlib.ts --store mongodb://HOST:PORT/ [--write]');
  if (!existsSync(PYTHON)) execFileSyncSetup();
  const tasks = Number(flag('--tasks') ?? 500);
  const budgetMs = Number(flag('--budget-ms') ?? 20_000);
  const defs = Number(flag('--defs') ?? 10_000);
  const createBudgetMs = Number(flag('--create-budget-ms') ?? 30_000);
  const root = base.replace(/\/[^/?]*(\?.*)?$/, '/');
  const db = `bench_${Date.now().toString(36)}`;
  const url = `${root}${db}`;
  const store = await openMongoStore(url);
  const started = Date.now();
  const rows: string[] = [];
  const load0 = loadavg()[0]!;
  const def = (i: number) => ({ model: { class: 'LinearModel', kwargs: { i } }, n: i });

  for (const workers of [1, 2, 4]) {
    const qPool = `q${workers}`;
    await store.createTasks(qPool, Array.from({ length: tasks }, (_, i) => def(i)));
    const q = await drain(process.execPath, ['--import', 'tsx', 'bench/store-qlib.ts', '--child', url, qPool, String(budgetMs)], workers, budgetMs);
    const lPool = `l${workers}`;
    await promisify(execFile)(PYTHON, ['bench/store-qlib.py', root, db, lPool, 'seed', String(tasks)], { cwd: REPO, maxBuffer: 1 << 24 });
    const l = await drainQlib(root, db, lPool, workers, budgetMs);
    rows.push(`| claim+commit, ${workers} worker${workers > 1 ? 's' : ''} | ${q.rate.toFixed(1)} tasks/s (${q.count}) | ${l.rate.toFixed(1)} tasks/s (${l.count}) | **${(q.rate / l.rate).toFixed(1)}x** |`);
    console.log(rows[rows.length - 1]);
  }

  const t0 = performance.now();
  const created = await store.createTasks('create', Array.from({ length: defs }, (_, i) => def(i)));
  const qMs = performance.now() - t0;
  const l = await qlibCreate(root, db, defs, createBudgetMs);
  const qRate = (created.created / qMs) * 1000;
  const lRate = (l.count / l.ms) * 1000;
  rows.push(
    `| create ${defs} definitions | ${(qMs / 1000).toFixed(1)} s (${qRate.toFixed(0)}/s, one call) | ${l.count < defs ? `stopped after ${(l.ms / 1000).toFixed(0)} s at ${l.count}` : `${(l.ms / 1000).toFixed(1)} s`} (${lRate.toFixed(1)}/s) | **${(qRate / lRate).toFixed(0)}x**${l.count < defs ? ' (lower bound)' : ''} |`,
  );
  console.log(rows[rows.length - 1]);
  await store.close();

  const section = [
    '## MongoDB store vs qlib TaskManager (same server, same run)',
    '',
    `Server: FerretDB/MongoDB at \`${redactMongoUrl(root)}\`, database \`${db}\`; qtask \`${store.server}\` path, time source \`${store.timeSource}\`, claim tickets ${store.claimTickets ? 'on' : 'off'}. ` +
      `qlib: pyqlib 0.9.7 \`TaskManager\` unchanged (\`fetch_task\` + \`commit_task_res\`; \`create_task\`). Each claim run starts from ${tasks} waiting tasks and stops after ${budgetMs / 1000} s or an empty pool. ` +
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${load0.toFixed(1)} at start (shared with other jobs). Run time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    '',
    '| measure | qtask | qlib | qtask / qlib |',
    '|---|---|---|---|',
    ...rows,
    '',
    'Target: ≥ 10x qlib on both. On FerretDB 1.x every request costs a Go-side read-and-replace, and a qtask claim',
    'needs 3 requests (ticket insert, task update, commit) against qlib\'s 2 (find_one_and_update, update_one): the ticket',
    'is what makes claims exclusive there (FerretDB\'s findAndModify is not atomic; qlib\'s concurrent fetches can hand one',
    'task to two workers). qtask wins where qlib scans: one candidate scan serves 32 claims, and createTasks is 2 requests per batch.',
    '',
    'Command: `npm run bench:store -- --store $(scripts/ferretdb.sh start) --write` (runs bench/store-qlib.ts; qlib from the venv of scripts/golden/setup_venv.sh).',
    '',
  ].join('\n');
  console.log(section);
  if (args.includes('--write')) {
    const path = join(REPO, 'BENCHMARKS.md');
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
    const re = /## MongoDB store vs qlib TaskManager[\s\S]*?(?=\n## |$)/;
    writeFileSync(path, re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}`);
  }
}

function execFileSyncSetup(): void {
  throw new Error(`no Python with pyqlib at ${PYTHON}: run \`bash scripts/golden/setup_venv.sh\` (or set QTASK_QLIB_PYTHON)`);
}

async function drainQlib(root: string, db: string, pool: string, workers: number, budgetMs: number): Promise<{ rate: number; count: number }> {
  // qlib's loop has no budget of its own: the processes are stopped after the budget and the
  // tasks committed by then are counted in the database.
  const procs = Array.from({ length: workers }, () => spawn(PYTHON, ['bench/store-qlib.py', root, db, pool, 'drain'], { cwd: REPO, stdio: ['pipe', 'pipe', 'ignore'] }));
  const ready = procs.map((p) => {
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    return { ready: waitFor(() => out.includes('ready')), done: new Promise<void>((r) => p.on('close', () => r())), out: () => out };
  });
  await Promise.all(ready.map((r) => r.ready));
  const start = Date.now();
  for (const p of procs) p.stdin.write('go\n');
  const timer = setTimeout(() => procs.forEach((p) => p.kill('SIGTERM')), budgetMs);
  await Promise.all(ready.map((r) => r.done));
  clearTimeout(timer);
  const end = Date.now();
  const { stdout } = await promisify(execFile)(
    PYTHON,
    ['-c', `import pymongo,sys;print(pymongo.MongoClient(sys.argv[1])[sys.argv[2]][sys.argv[3]].count_documents({"status":"done"}))`, root, db, pool],
    { cwd: REPO },
  );
  const count = Number(stdout.trim());
  return { rate: (count / (end - start)) * 1000, count };
}

async function qlibCreate(root: string, db: string, defs: number, budgetMs: number): Promise<{ count: number; ms: number }> {
  let count = 0;
  let ms = 0;
  const chunk = 100;
  while (count < defs && ms < budgetMs) {
    // Each chunk is a separate create_task call on the growing pool (definitions continue the numbering).
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', QLIB_CREATE_CHUNK, root, db, 'lcreate', String(count), String(chunk)], { cwd: REPO, maxBuffer: 1 << 24 });
    ms += Number(stdout.trim().split('\n').pop());
    count += chunk;
  }
  return { count, ms };
}

const QLIB_CREATE_CHUNK = `
import sys, time
from qlib.config import C
from qlib.workflow.task.manage import TaskManager
root, db, pool, start, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
C["mongo"] = {"task_url": root, "task_db_name": db}
tm = TaskManager(task_pool=pool)
defs = [{"model": {"class": "LinearModel", "kwargs": {"i": i}}, "n": i} for i in range(start, start + n)]
t0 = time.perf_counter()
tm.create_task(defs)
print((time.perf_counter() - t0) * 1000)
`;

await main();
