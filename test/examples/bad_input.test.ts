/** The rolling example's bad input: typed errors (code, path, hint), exit status 2, nothing created. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { removeAtExit, runNode, tsx } from './helpers.ts';

it('a --provider that is not a qlib data directory is EXAMPLE_PROVIDER, and no pool or data is written', { timeout: 60_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'qtask-bad-provider-'));
  removeAtExit(work);
  const ran = await runNode([...tsx('examples/task_manager_rolling.ts'), 'generate', '--provider', join(work, 'nope'), '--work-dir', work], 50_000);
  assert.equal(ran.code, 2, ran.stderr);
  assert.match(ran.stderr, /error \[EXAMPLE_PROVIDER\] .*no calendars\/day\.txt\) \(at --provider\)\n {2}hint: import one first/);
  assert.deepEqual(readdirSync(work), []);
});

it('an unknown --rtype is EXAMPLE_OPTION before anything runs', { timeout: 60_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'qtask-bad-rtype-'));
  removeAtExit(work);
  const ran = await runNode([...tsx('examples/task_manager_rolling.ts'), 'main', '--rtype', 'rolling', '--work-dir', join(work, 'w')], 50_000);
  assert.equal(ran.code, 2, ran.stderr);
  assert.match(ran.stderr, /EXAMPLE_OPTION.*--rtype/);
  assert.equal(existsSync(join(work, 'w')), false);
});
