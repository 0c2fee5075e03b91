/**
 * qtask's MongoDB store vs qlib's own TaskManager on the SAME server in the same run
 * (`npm run bench:store -- --store mongodb://HOST:PORT/ [--write]`, or `node --import tsx bench/store-qlib.ts …`).
 *
 * (a) claim+commit throughput with 1, 2 and 4 worker processes, each side starting from a pool of
 *     N waiting tasks for each N of `--sizes` (default 500,5000) and draining for at most `--budget-ms` (default 30 000);
 *     before each size, single-request latencies (`probe`), and per run the requests per task and the server's CPU per task;
 *     the rate is tasks done / wall time from the common start signal.
 *     qtask: `claim` + `commit` (bench child below). qlib: `TaskManager.fetch_task` + `commit_task_res`
 *     (bench/store-qlib.py in the venv of scripts/golden/setup_venv.sh, pyqlib 0.9.7).
 * (b) creating `--defs` definitions (default 10 000): qtask `createTasks` in one call vs qlib
 *     `create_task` in chunks of 100 until `--create-budget-ms` (default 30 000); qlib's per-definition
 *     cost only grows with the pool (a find by `filter` without an index), so its measured rate is an
 *     upper bound and the ratio a lower bound.
 * `--write` replaces the section of BENCHMARKS.md (`--benchmarks-file F` another file) for this server kind (FerretDB's SQLite
 * or PostgreSQL handler, or MongoDB), adding it after the other MongoDB sections when it is new.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import type { Document, ObjectId } from 'mongodb';
import { openMongoStore } from '../src/store/mongodb.ts';
import type { MongoTaskStore } from '../src/store/mongodb.ts';
import { redactMongoUrl } from '../src/store/mongodb/url.ts';

const REPO = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const PYTHON = process.env['QTASK_QLIB_PYTHON'] ?? join(homedir(), '.cache/qtask/venv-qlib/bin/python');

/** Per request kind (`command collection`): [count, total ms]. */
type Commands = Record<string, [number, number]>;

interface Drained {
  count: number;
  start: number;
  end: number;
  commands?: Commands;
}

interface DrainResult {
  rate: number;
  count: number;
  commands: Commands;
  /** Server CPU ms spent during the run, per task done. */
  serverMsPerTask: number;
}

function addCommand(into: Commands, key: string, ms: number, n = 1): void {
  const c = (into[key] ??= [0, 0]);
  c[0] += n;
  c[1] += ms;
}

function mergeCommands(list: (Commands | undefined)[]): Commands {
  const out: Commands = {};
  for (const c of list) for (const [k, [n, ms]] of Object.entries(c ?? {})) addCommand(out, k, ms, n);
  return out;
}

/** "3.0 × insert tickets (1.2 ms)" per task, biggest share first. */
function perTask(commands: Commands, tasks: number, pool: string): string {
  return Object.entries(commands)
    .map(([k, [n, ms]]) => ({ k: k.replace(` ${pool}`, ' pool').replace(' _qtask_tickets', ' tickets'), n, ms }))
    .sort((a, b) => b.ms - a.ms)
    .map(({ k, n, ms }) => `${(n / Math.max(1, tasks)).toFixed(2)} × ${k} (${(ms / n).toFixed(1)} ms)`)
    .join(', ');
}

/** Child: drain `pool` with claim + commit until empty or the budget ends. */
async function child(url: string, pool: string, budgetMs: number): Promise<void> {
  const commands: Commands = {};
  let counting = false;
  const store = await openMongoStore(url, {
    onCommand: (e) => {
      if (counting) addCommand(commands, `${e.command} ${e.collection === pool ? 'pool' : e.collection}`, e.ms);
    },
  });
  process.stdout.write('ready\n');
  await new Promise<void>((r) => process.stdin.once('data', () => r()));
  process.stdin.pause();
  const start = Date.now();
  counting = true;
  let count = 0;
  while (Date.now() - start < budgetMs) {
    const c = await store.claim(pool, { worker: `bench:${process.pid}`, leaseMs: 60_000 });
    if (!c) break;
    await store.commit(pool, c.lease, { ok: true, n: count });
    count++;
  }
  counting = false;
  process.stdout.write(`${JSON.stringify({ count, start, end: Date.now(), commands })}\n`);
  await store.close();
}

/**
 * The server's process, found by the port it listens on (`--server-pid` overrides), so the bench can
 * report server CPU per task: unlike wall time, it barely moves with the load other jobs put on
 * a shared machine. null when it cannot be found (e.g. a remote server).
 */
function serverPid(url: string): number | null {
  const given = flag('--server-pid');
  if (given) return Number(given);
  const port = /:(\d+)\/?/.exec(url.replace(/^mongodb:\/\/[^@/]*@/, 'mongodb://'))?.[1] ?? '27017';
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid ? Number(pid) : null;
  } catch {
    return null;
  }
}

/** User + system CPU of `pid` in ms (Linux /proc). */
function cpuMs(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return Number.NaN;
  }
}

let SERVER_PID: number | null = null;
/** FerretDB's storage, found with `explain` (a PostgreSQL plan has "Node Type"). */
let HANDLER: 'sqlite' | 'postgresql' | 'mongodb' = 'sqlite';

/**
 * CPU the server spent so far: FerretDB's process, plus on the PostgreSQL handler every `postgres`
 * process on this machine (the cluster's backends do the SQL work; run the bench with no other
 * PostgreSQL busy).
 */
function serverCpuMs(): number {
  let ms = cpuMs(SERVER_PID);
  if (HANDLER !== 'postgresql') return ms;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') ms += cpuMs(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return ms;
}

/** Starts `workers` processes, releases them together, returns tasks per second over the union of their runs. */
async function drain(cmd: string, cmdArgs: string[], workers: number, budgetMs: number): Promise<DrainResult> {
  const procs = Array.from({ length: workers }, () => spawn(cmd, cmdArgs, { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = procs.map((p) => {
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    return { ready: waitFor(() => out.includes('ready')), done: new Promise<string>((r) => p.on('close', () => r(out))) };
  });
  await Promise.all(outputs.map((o) => o.ready));
  const cpu0 = serverCpuMs();
  for (const p of procs) p.stdin.write('go\n');
  const killer = setTimeout(() => procs.forEach((p) => p.kill('SIGKILL')), budgetMs + 120_000);
  const results = (await Promise.all(outputs.map((o) => o.done))).map((out) => JSON.parse(out.trim().split('\n').pop()!) as Drained);
  clearTimeout(killer);
  const count = results.reduce((n, r) => n + r.count, 0);
  const span = Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start));
  const serverMsPerTask = (serverCpuMs() - cpu0) / Math.max(1, count);
  return { rate: (count / span) * 1000, count, commands: mergeCommands(results.map((r) => r.commands)), serverMsPerTask };
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
  const budgetMs = Number(flag('--budget-ms') ?? 30_000);
  const defs = Number(flag('--defs') ?? 10_000);
  const createBudgetMs = Number(flag('--create-budget-ms') ?? 30_000);
  const root = base.replace(/\/[^/?]*(\?.*)?$/, '/');
  const db = `bench_${Date.now().toString(36)}`;
  const url = `${root}${db}`;
  const store = await openMongoStore(url);
  SERVER_PID = serverPid(root);
  HANDLER = await detectHandler(url, store.server);
  const started = Date.now();
  const rows: string[] = [];
  /** qtask / qlib claim+commit throughput per (pool, workers), for the verdict line. */
  const ratios: { size: number; workers: number; ratio: number }[] = [];
  const load0 = loadavg()[0]!;
  const def = (i: number) => ({ model: { class: 'LinearModel', kwargs: { i } }, n: i });

  const sizes = (flag('--sizes') ?? '500,5000').split(',').map(Number);
  const probes: string[] = [];
  const where: string[] = [];
  for (const size of sizes) {
    probes.push(await probe(store, root, db, size));
    console.log(probes[probes.length - 1]);
    for (const workers of [1, 2, 4]) {
      const qPool = `q${size}_${workers}`;
      await store.createTasks(qPool, Array.from({ length: size }, (_, i) => def(i)));
      const q = await drain(process.execPath, ['--import', 'tsx', 'bench/store-qlib.ts', '--child', url, qPool, String(budgetMs)], workers, budgetMs);
      const lPool = `l${size}_${workers}`;
      await promisify(execFile)(PYTHON, ['bench/store-qlib.py', root, db, lPool, 'seed', String(size)], { cwd: REPO, maxBuffer: 1 << 24 });
      const l = await drainQlib(root, db, lPool, workers, budgetMs);
      ratios.push({ size, workers, ratio: q.rate / l.rate });
      rows.push(
        `| ${size} waiting | ${workers} | ${q.rate.toFixed(1)} tasks/s (${q.count}) | ${l.rate.toFixed(1)} tasks/s (${l.count}) | **${(q.rate / l.rate).toFixed(1)}x** | ` +
          `${q.serverMsPerTask.toFixed(0)} / ${l.serverMsPerTask.toFixed(0)} ms (${(l.serverMsPerTask / q.serverMsPerTask).toFixed(1)}x) |`,
      );
      console.log(rows[rows.length - 1]);
      if (workers === 1) {
        where.push(`- ${size} waiting, 1 worker, qtask per task: ${perTask(q.commands, q.count, qPool)}`);
        where.push(`- ${size} waiting, 1 worker, qlib per task: ${perTask(l.commands, l.count, lPool)}`);
      }
    }
  }

  const t0 = performance.now();
  const created = await store.createTasks('create', Array.from({ length: defs }, (_, i) => def(i)));
  const qMs = performance.now() - t0;
  const l = await qlibCreate(root, db, defs, createBudgetMs);
  const qRate = (created.created / qMs) * 1000;
  const lRate = (l.count / l.ms) * 1000;
  const createRow = (
    `| create ${defs} definitions | ${(qMs / 1000).toFixed(1)} s (${qRate.toFixed(0)}/s, one call) | ${l.count < defs ? `stopped after ${(l.ms / 1000).toFixed(0)} s at ${l.count}` : `${(l.ms / 1000).toFixed(1)} s`} (${lRate.toFixed(1)}/s) | **${(qRate / lRate).toFixed(0)}x**${l.count < defs ? ' (lower bound)' : ''} |`
  );
  console.log(createRow);
  await store.close();

  const title = HANDLER === 'mongodb' ? 'MongoDB' : `FerretDB ${HANDLER === 'postgresql' ? 'PostgreSQL' : 'SQLite'} handler`;
  const section = [
    `## MongoDB store vs qlib TaskManager (same server, same run): ${title}`,
    '',
    `Server: \`${store.server}\` at \`${redactMongoUrl(root)}\`${HANDLER === 'mongodb' ? '' : ` on its ${HANDLER === 'postgresql' ? 'PostgreSQL (Debian\'s PostgreSQL 15, private cluster of scripts/postgres.sh)' : 'SQLite'} handler`}, database \`${db}\`; time source \`${store.timeSource}\`, claim tickets ${store.claimTickets ? 'on' : 'off'}. ` +
      `qlib: pyqlib 0.9.7 \`TaskManager\` unchanged (\`fetch_task\` + \`commit_task_res\`; \`create_task\`). Each claim run starts from a fresh pool of N waiting tasks ` +
      `and stops after ${budgetMs / 1000} s or an empty pool; each worker is its own process. ` +
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at the end. Run time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    '',
    '| pool | workers | qtask claim+commit | qlib fetch_task+commit_task_res | qtask / qlib | server CPU per task, qtask / qlib |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Server CPU per task: the server's user+system CPU during the run (/proc${HANDLER === 'postgresql' ? ': FerretDB plus every `postgres` process' : ''}) divided by the tasks done —`,
    'what each task costs the server, which moves much less than wall time with the load of other jobs.',
    '',
    '| measure | qtask | qlib | qtask / qlib |',
    '|---|---|---|---|',
    createRow,
    '',
    `Target: ≥ 10x qlib on both. This run: claim+commit ≥ 10x in ${ratios.filter((r) => r.ratio >= 10).length} of ${ratios.length} rows` +
      (ratios.some((r) => r.ratio < 10) ? ` (below: ${ratios.filter((r) => r.ratio < 10).map((r) => `${r.size}/${r.workers}w ${r.ratio.toFixed(1)}x`).join(', ')})` : '') +
      `; createTask ${qRate / lRate >= 10 ? 'met' : 'not met'} (${(qRate / lRate).toFixed(0)}x${l.count < defs ? ', lower bound' : ''}).`,
    '',
    '### Where the time goes',
    '',
    'Single requests (median ms, one client, no other load from this bench) on a pool of N tasks, the document',
    'in the middle of the table.',
    '',
    ...(HANDLER === 'postgresql'
      ? [
          'What FerretDB 1.24.2\'s PostgreSQL handler does with them (read in its source, confirmed with `explain`):',
          '',
          '- Top-level equalities on scalars are pushed down to SQL (`_jsonb->\'status\' @> \'"waiting"\'`), `_id` through',
          '  the `_id` index; operators (`$type`, `$in`, …), anything inside `$and`, and every sort other than `$natural`',
          '  are evaluated in Go after decoding the matching documents.',
          '- So updates and finds by `_id` cost a few ms whatever the pool size (one FerretDB request is several',
          '  PostgreSQL statements in a transaction). qlib\'s `fetch_task` decodes and sorts every waiting task in Go per',
          '  call, so its cost grows with the pool; qtask pays a fixed ~4 requests per task (ticket insert + write by `_id`,',
          '  twice) and one candidate scan (the same Go decode and sort) per up to 1,024 claims.',
          '- With one worker on a small pool qlib\'s decode is cheap (tens of ms at 500 tasks), and 4 requests of',
          '  ~2–5 ms each cannot be 10x faster than qlib\'s 2 requests plus that decode: the ratio grows with the pool.',
        ]
      : HANDLER === 'sqlite'
        ? [
            'What FerretDB 1.24.2\'s SQLite handler does with them (read in its source, confirmed with `explain` and',
            'SQLite\'s `EXPLAIN QUERY PLAN` on its data file):',
            '',
            '- A filter reaches SQLite only when it is exactly `{_id: <ObjectId or string>}`; any other filter (qtask\'s old',
            '  fence `{_id, leaseToken, status}`, qlib\'s `{status: "waiting"}`) is evaluated in Go after decoding every document.',
            '- Even `_id` is no index lookup: the handler writes `_ferretdb_sjson->\'$._id\'`, which does not match the',
            '  expression of the `_id` index it created (`_ferretdb_sjson->"_id"`). A find by `_id` walks the table up to the',
            '  document; an **update or delete by `_id` is a full-table scan** (`UPDATE … WHERE …` visits every row). Inserts',
            '  are the only per-task request whose cost does not grow with the pool (the unique index checks duplicates).',
            '- So every task costs both sides at least two full-table scans (the claim\'s write and the commit\'s write). qlib',
            '  adds a Go decode and sort of the whole pool per `fetch_task`; qtask adds two constant-cost ticket inserts and,',
            '  per up to 1,024 claims, one candidate scan, plus an expiry sweep every ≥ 5 s. SQLite parses each row\'s JSON during',
            '  those scans, and qtask\'s documents are larger (JSON `def` and `filter`, lease and bookkeeping fields; qlib pickles',
            '  `def`), which is why qtask\'s update by `_id` costs more than qlib\'s. With one worker that bounds the ratio at',
            '  about (qlib fetch + qlib commit) / (two qtask writes) — below the 10x target on this server; with several',
            '  workers qlib\'s whole-pool scans compete for the same two cores while qtask\'s per-task cost stays flat.',
          ]
        : ['A real MongoDB: both sides use indexes.']),
    '',
    '| N | ticket insert | find / update by `_id` | update by `{_id, leaseToken, status}` | qtask candidate scan (up to 1,024) | expiry sweep scan | qlib fetch_task\'s find+sort | mean document bytes, qtask / qlib |',
    '|---|---|---|---|---|---|---|---|',
    ...probes,
    '',
    'Requests per task as the drivers saw them (1 worker; count per task × mean latency):',
    '',
    ...where,
    '',
    'qtask on FerretDB (`claimTickets`): claim = ticket insert + `findAndModify` by `_id` (returns the document as',
    'it was, so nothing is re-read; a task changed since the candidate scan is put back); commit = end-ticket insert',
    '+ `update` by `_id` (the process that claimed the task knows its token and attempt, so it does not read the task;',
    'a sweep or an operator that ended the attempt first holds the end ticket). Candidates come from one scan (up to',
    '1,024, `_id` and `attempts` only), rescanned after max(2 s, 20× the scan\'s time) or once ticket inserts lost to other',
    'workers on that list have cost as much as the scan; expired leases are swept at most every max(5 s, 20× a',
    'whole-pool scan\'s time), the first time no sooner than that after start, or whenever nothing is claimable. qlib\'s `fetch_task` is a',
    '`find_one_and_update({status: waiting}, sort priority)`, not atomic on FerretDB (two workers can get the same',
    'task), and its commit an `update_one` by `_id`. On a real MongoDB both sides use indexes; these numbers do not transfer.',
    '',
    `Command: \`npm run bench:store -- --store $(${HANDLER === 'postgresql' ? 'FERRETDB_HANDLER=postgresql ' : ''}scripts/ferretdb.sh start) --write [--sizes 500,5000] [--budget-ms 30000]\` (runs bench/store-qlib.ts; qlib from the venv of scripts/golden/setup_venv.sh).`,
    '',
  ].join('\n');
  console.log(section);
  if (args.includes('--write')) {
    const path = flag('--benchmarks-file') ?? join(REPO, 'BENCHMARKS.md');
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
    // One section per server kind; the SQLite one was written before titles named the handler.
    const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const re = HANDLER === 'sqlite'
      ? new RegExp(`## MongoDB store vs qlib TaskManager \\(same server, same run\\)(?:: ${escaped})?\\n[\\s\\S]*?(?=\\n## |$)`)
      : new RegExp(`## MongoDB store vs qlib TaskManager \\(same server, same run\\): ${escaped}\\n[\\s\\S]*?(?=\\n## |$)`);
    // A new section goes after the other MongoDB sections, else at the end.
    const others = [...text.matchAll(/## MongoDB store vs qlib TaskManager[^\n]*\n[\s\S]*?(?=\n## |$)/g)].pop();
    const at = others ? others.index + others[0].length : text.trimEnd().length;
    writeFileSync(path, re.test(text) ? text.replace(re, () => section) : `${text.slice(0, at).trimEnd()}\n\n${section}\n${text.slice(at)}`);
  }
}

/** Which storage answers at `url`: FerretDB's explain of a PostgreSQL query carries PostgreSQL's plan. */
async function detectHandler(url: string, server: string): Promise<typeof HANDLER> {
  if (!/ferretdb/i.test(server)) return 'mongodb';
  const client = new MongoClient(url);
  try {
    await client.connect();
    // An existing collection: FerretDB explains a missing one without asking its storage.
    const probe = client.db().collection('qtask_bench_probe');
    await probe.insertOne({ status: 'waiting' });
    const plan = await client.db().command({ explain: { find: probe.collectionName, filter: { status: 'waiting' } } });
    await probe.drop();
    return JSON.stringify(plan).includes('"Node Type"') ? 'postgresql' : 'sqlite';
  } finally {
    await client.close();
  }
}

function execFileSyncSetup(): void {
  throw new Error(`no Python with pyqlib at ${PYTHON}: run \`bash scripts/golden/setup_venv.sh\` (or set QTASK_QLIB_PYTHON)`);
}

async function drainQlib(root: string, db: string, pool: string, workers: number, budgetMs: number): Promise<DrainResult> {
  // Like the qtask children, each process stops starting tasks after the budget; stragglers are
  // killed a minute later. Tasks done are counted in the database (a task that two of qlib's
  // non-atomic fetches handed out twice counts once).
  const procs = Array.from({ length: workers }, () =>
    spawn(PYTHON, ['bench/store-qlib.py', root, db, pool, 'drain', String(budgetMs)], { cwd: REPO, stdio: ['pipe', 'pipe', 'ignore'] }),
  );
  const ready = procs.map((p) => {
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    return { ready: waitFor(() => out.includes('ready')), done: new Promise<void>((r) => p.on('close', () => r())), out: () => out };
  });
  await Promise.all(ready.map((r) => r.ready));
  const cpu0 = serverCpuMs();
  const start = Date.now();
  for (const p of procs) p.stdin.write('go\n');
  const timer = setTimeout(() => procs.forEach((p) => p.kill('SIGTERM')), budgetMs + 60_000);
  await Promise.all(ready.map((r) => r.done));
  clearTimeout(timer);
  const end = Date.now();
  const cpu1 = serverCpuMs();
  const { stdout } = await promisify(execFile)(
    PYTHON,
    ['-c', `import pymongo,sys;print(pymongo.MongoClient(sys.argv[1])[sys.argv[2]][sys.argv[3]].count_documents({"status":"done"}))`, root, db, pool],
    { cwd: REPO },
  );
  const count = Number(stdout.trim());
  const commands = mergeCommands(
    ready.map((r) => {
      const last = r.out().trim().split('\n').pop() ?? '';
      try {
        return (JSON.parse(last) as Drained).commands;
      } catch {
        return undefined; // killed before it could report
      }
    }),
  );
  return { rate: (count / (end - start)) * 1000, count, commands, serverMsPerTask: (cpu1 - cpu0) / Math.max(1, count) };
}

async function avgObjSize(d: import('mongodb').Db, coll: string): Promise<string> {
  const st = await d.command({ collStats: coll }).catch(() => null);
  const v = st?.['avgObjSize'];
  return typeof v === 'number' ? v.toFixed(0) : '?';
}

/** Medians of single requests on a pool of `size` tasks, at the middle of the table (FerretDB scans in insertion order). */
async function probe(store: MongoTaskStore, root: string, db: string, size: number): Promise<string> {
  const client = new MongoClient(root);
  await client.connect();
  try {
    const d = client.db(db);
    const pool = `probe${size}`;
    await store.createTasks(pool, Array.from({ length: size }, (_, i) => ({ model: { class: 'LinearModel', kwargs: { i } }, n: i })));
    const lPool = `lprobe${size}`;
    await promisify(execFile)(PYTHON, ['bench/store-qlib.py', root, db, lPool, 'seed', String(size)], { cwd: REPO, maxBuffer: 1 << 24 });
    const c = d.collection<Document>(pool);
    const ids = (await c.find({}, { projection: { _id: 1 } }).toArray()).map((x) => x['_id'] as ObjectId);
    const mid = ids[Math.floor(ids.length / 2)]!;
    const scratch = d.collection<Document>('_qtask_probe');
    const median = async (n: number, f: (i: number) => Promise<unknown>): Promise<string> => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await f(i);
        xs.push(performance.now() - t);
      }
      xs.sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)]!.toFixed(1);
    };
    const pushed = async (filter: Document) => ((await d.command({ explain: { find: pool, filter } }))['filterPushdown'] ? 'pushed down' : 'evaluated in Go');
    const tag = Date.now().toString(36);
    const cells = [
      `${size}`,
      await median(9, (i) => scratch.insertOne({ _id: `bench:${tag}:${i}` } as Document)),
      `${await median(9, () => c.findOne({ _id: mid }))} / ${await median(9, (i) => c.updateOne({ _id: mid }, { $set: { probe: i } }))} (${await pushed({ _id: mid })})`,
      `${await median(9, (i) => c.updateOne({ _id: mid, leaseToken: null, status: 'waiting' }, { $set: { probe: i } }))} (${await pushed({ _id: mid, status: 'waiting' })})`,
      await median(5, () => c.find({ status: 'waiting', hash: { $type: 'string' } }).sort({ priority: -1, createdAt: 1, _id: 1 }).limit(64).toArray()),
      await median(5, () => c.find({ status: 'running' }).project({ _id: 1, leaseExpiresAt: 1 }).toArray()),
      await median(5, () => d.collection(lPool).find({ status: 'waiting' }).sort({ priority: -1 }).limit(1).toArray()),
      `${await avgObjSize(d, pool)} / ${await avgObjSize(d, lPool)}`,
    ];
    return `| ${cells.join(' | ')} |`;
  } finally {
    await client.close();
  }
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
