/**
 * `npm run demo`: qlib's task-management loop on the embedded defaults — no server, no data.
 *
 *   1. generate: roll the qlib-shaped template in examples/templates/rolling_linear.yaml over the
 *      built-in weekday calendar with RollingGen (quarterly test windows, expanding train);
 *   2. store: put the tasks into a SQLite pool (twice, to show that known tasks are not re-added);
 *   3. run: two `qtask worker` processes share the pool (examples/demoTask.ts stands in for training);
 *   4. show: progress while they run, then the pool's final counts and a few results.
 *
 * Output goes to a fresh temp directory (printed), or to the directory given as the first argument.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForPool } from '../src/cli/commands/wait.ts';
import { formatTable, statRows } from '../src/cli/output.ts';
import { Calendar } from '../src/generate/calendar.ts';
import { RollingGen } from '../src/generate/rollingGen.ts';
import { taskGenerator } from '../src/generate/taskGen.ts';
import { openStore } from '../src/store/url.ts';
import { loadTaskDefsFile } from '../src/task/definition.ts';
import type { JsonObject } from '../src/task/types.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POOL = 'rolling_demo';
const WORKERS = 2;

function out(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function runWorker(name: string, storeUrl: string): Promise<{ name: string; code: number | null; lines: string[] }> {
  const child = spawn(
    process.execPath,
    [join(REPO, 'bin/qtask.js'), '--store', storeUrl, '--pool', POOL, 'worker', '--task-fn', 'examples/demoTask.ts#demoTask', '--worker-id', name, '--lease', '10'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const collect = (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolveRun, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ name, code, lines }));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const outDir = process.argv[2] ? resolve(process.argv[2]) : mkdtempSync(join(tmpdir(), 'qtask-demo-'));
  mkdirSync(outDir, { recursive: true });
  const storeUrl = `sqlite:${join(outDir, 'tasks.db')}`;
  out(`qtask demo — output in ${outDir}\n`);

  // 1. Generate.
  const templatePath = join(REPO, 'examples/templates/rolling_linear.yaml');
  const templates = loadTaskDefsFile(templatePath);
  const calendar = Calendar.weekdays('2015-01-01', '2020-12-31');
  const gen = new RollingGen({ calendar, step: '1Q', rtype: RollingGen.ROLL_EX });
  const tasks = taskGenerator(templates, gen);
  out(`1. generate: RollingGen(step="1Q", rtype=expanding) over ${calendar.length} weekdays turned ${relative(REPO, templatePath)} into ${tasks.length} tasks:`);
  const segmentsOf = (t: JsonObject) => ((t.dataset as JsonObject).kwargs as JsonObject).segments as Record<string, [string | null, string | null]>;
  out(
    formatTable(
      ['#', 'train', 'valid', 'test'],
      tasks.map((t, i) => {
        const s = segmentsOf(t);
        return [i + 1, `${s.train[0]}..${s.train[1]}`, `${s.valid[0]}..${s.valid[1]}`, `${s.test[0]}..${s.test[1] ?? '(open)'}`];
      }),
    ).replace(/^/gm, '   '),
  );

  // 2. Store.
  const store = await openStore(storeUrl);
  try {
    const first = await store.createTasks(POOL, tasks);
    out(`\n2. store: ${storeUrl}, pool "${POOL}"`);
    out(`   Total Tasks: ${tasks.length}, New Tasks: ${first.created}`);
    const again = await store.createTasks(POOL, tasks);
    out(`   again:  Total Tasks: ${tasks.length}, New Tasks: ${again.created}   (same definitions hash to the same tasks)`);

    // 3. Run with two worker processes.
    out(`\n3. run: ${WORKERS} worker processes: qtask worker --task-fn examples/demoTask.ts#demoTask`);
    const workers = Array.from({ length: WORKERS }, (_, i) => runWorker(`demo-w${i + 1}`, storeUrl));
    const counts = await waitForPool(store, POOL, { pollMs: 200, timeoutMs: 120_000 });
    const finished = await Promise.all(workers);
    for (const w of finished) {
      const summary = w.lines.filter((l) => l.includes(w.name)).at(-1) ?? w.lines.at(-1) ?? '(no output)';
      out(`   ${w.name} exited ${w.code}: ${summary}`);
    }

    // 4. Show the pool.
    out(`\n4. pool "${POOL}" now:`);
    out(formatTable(['status', 'tasks'], statRows(counts)).replace(/^/gm, '   '));
    const done = await store.find(POOL, { status: 'done' }, { limit: 3, sort: 'created' });
    out('\n   first results:');
    out(
      formatTable(
        ['id', 'worker', 'attempts', 'res'],
        done.map((t) => [t._id, t.worker ?? '', t.attempts, JSON.stringify(t.res)]),
      ).replace(/^/gm, '   '),
    );
    const workersUsed = new Set((await store.find(POOL, { status: 'done' })).map((t) => t.worker));
    out(`\n   ${counts.done ?? 0} of ${tasks.length} tasks done by ${workersUsed.size} worker(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    out(`\nLook around:  node bin/qtask.js --store ${storeUrl} --pool ${POOL} query '{"status": "done"}' --limit 2 --json`);
    if (finished.some((w) => w.code !== 0) || (counts.done ?? 0) !== tasks.length) process.exitCode = 1;
  } finally {
    await store.close();
  }
}

await main();
