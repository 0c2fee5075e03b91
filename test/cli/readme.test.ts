/**
 * Keeps README.md true: its API tour is examples/api-tour.ts verbatim and runs; its CLI session runs
 * as written (against a temp store); the demo it names first finishes; every linked doc exists.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO, snapshotStore, tempDir } from './helpers.ts';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');

function codeBlocks(lang: string): string[] {
  const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
  return [...readme.matchAll(re)].map((m) => m[1]);
}

describe('README.md', () => {
  const tmp = tempDir('qtask-readme-');
  after(() => tmp.cleanup());

  test('the first commands are `npm ci && npm run demo` and `npm test`', () => {
    const first = codeBlocks('sh')[0].trim().split('\n');
    assert.deepEqual(first, ['npm ci && npm run demo', 'npm test']);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.ok(pkg.scripts.demo && pkg.scripts.test);
  });

  test('the API tour is examples/api-tour.ts and runs', () => {
    const tour = readFileSync(join(REPO, 'examples/api-tour.ts'), 'utf8');
    assert.ok(codeBlocks('ts').includes(tour), 'README ts block differs from examples/api-tour.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/api-tour.ts'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\{ done: 12 \}/);
    assert.match(r.stdout, /^[0-9a-f]{24} \{ model: 'LinearModel' \}$/m);
    assert.match(r.stderr, /Total Tasks: 12, New Tasks: 12/);
  });

  test('the CLI session runs as written', async () => {
    const session = codeBlocks('sh')[1];
    assert.ok(session.includes('qtask gen'), 'second sh block is the CLI session');
    const db = join(tmp.dir, 'readme.db');
    const script = session.replace('sqlite:/tmp/qtask-readme.db', `sqlite:${db}`).replaceAll('npx qtask', `node ${join(REPO, 'bin/qtask.js')}`);
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stdout, /Total Tasks: 12, New Tasks: 12/);
    assert.match(r.stdout, /^rolling\s+0\s+0\s+0\s+12\s+0\s+0\s+12$/m, 'list shows 12 done');
    const snap = JSON.parse(await snapshotStore(`sqlite:${db}`)) as Record<string, { status: string }[]>;
    assert.equal(snap.rolling.length, 12);
    assert.ok(snap.rolling.every((t) => t.status === 'done'));
  });

  // The demo the README names first (`npm run demo` → examples/demo.ts) is run end to end, with its
  // report checked, by test/examples/demo.test.ts; running it twice would only add a minute to CI.
  test('npm run demo runs examples/demo.ts, which test/examples/demo.test.ts runs end to end', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.demo ?? '', /examples\/demo\.ts/);
    assert.ok(existsSync(join(REPO, 'test/examples/demo.test.ts')));
  });

  test('every linked file exists', () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]).filter((l) => !l.startsWith('http'));
    assert.ok(links.length > 0);
    for (const link of links) assert.ok(existsSync(join(REPO, link)), `README links to missing ${link}`);
  });
});
