/** Online bad input: typed errors with code, path and hint, and nothing changed on disk. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTrainer, OnlineError, OnlineManager, OnlineToolR } from '../../src/online/index.ts';
import { manager, newSetup, smallProvider, strategies, tmpRoot } from './helpers.ts';

const root = tmpRoot();
after(() => rmSync(root, { recursive: true, force: true }));
const providerUri = smallProvider(root, 6);

function isOnlineError(code: string, path?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof OnlineError, String(e));
    assert.equal(e.code, code);
    if (path !== undefined) assert.equal(e.path, path);
    assert.ok(e.hint && e.hint.length > 0);
    return true;
  };
}

test('routine before firstTrain: ONLINE_NOT_STARTED, no state written', async () => {
  const s = newSetup(root, providerUri, 'nostart');
  const m = manager(s);
  await assert.rejects(m.routine('2019-01-03'), isOnlineError('ONLINE_NOT_STARTED', 'routine'));
  assert.equal(existsSync(join(s.stateDir, 'state.json')), false);
});

test('a calendar that ends before the routine date / simulation end / beginTime: ONLINE_CALENDAR, state unchanged', async () => {
  const s = newSetup(root, providerUri, 'cal');
  assert.throws(() => manager(s, { beginTime: '2021-03-01' }), isOnlineError('ONLINE_CALENDAR', 'beginTime'));
  const m = manager(s);
  await assert.rejects(m.simulate({ end: '2021-01-04' }), isOnlineError('ONLINE_CALENDAR', 'end'));
  await m.firstTrain();
  const before = readFileSync(m.statePath, 'utf8');
  await assert.rejects(m.routine('2021-01-04'), (e: unknown) => isOnlineError('ONLINE_CALENDAR', 'curTime')(e) && /ends on 2020-/.test((e as Error).message));
  await assert.rejects(m.routine('2018-12-31'), isOnlineError('ONLINE_CALENDAR', 'curTime'));
  await assert.rejects(m.routine('2019-13-01'), isOnlineError('ONLINE_CALENDAR', 'curTime'));
  assert.equal(readFileSync(m.statePath, 'utf8'), before);
});

test('strategies with unknown or duplicate names', async () => {
  const s = newSetup(root, providerUri, 'names');
  const m = manager(s);
  await m.firstTrain();
  const trainer = new LocalTrainer({ providerUri, mlruns: s.mlruns });
  const other = strategies(s, 60, ['other']);
  assert.throws(() => OnlineManager.load(s.stateDir, other, trainer, providerUri), isOnlineError('ONLINE_UNKNOWN_STRATEGY', 'strategies.lin'));
  assert.throws(() => new OnlineManager({ strategies: [...strategies(s), ...strategies(s)], trainer, providerUri, stateDir: s.stateDir }), isOnlineError('ONLINE_CONFIG', 'strategies.lin'));
  await assert.rejects(m.firstTrain(['nope']), isOnlineError('ONLINE_UNKNOWN_STRATEGY'));
  assert.throws(() => OnlineManager.load(join(root, 'nowhere'), strategies(s), trainer, providerUri), isOnlineError('ONLINE_STATE'));
});

test('online set: unknown recorder ids are refused before anything is written; the switch is one versioned document', async () => {
  const s = newSetup(root, providerUri, 'tool');
  const m = manager(s);
  await m.firstTrain();
  const tool: OnlineToolR = m.strategies[0]!.tool;
  const set = tool.readSet();
  assert.equal(set.version, 1);
  assert.equal(set.recorderIds.length, 1);
  assert.throws(() => tool.resetOnline('0'.repeat(32)));
  assert.deepEqual(tool.readSet(), set);
  assert.equal(tool.setOnline('offline', set.recorderIds), 2);
  assert.deepEqual(tool.onlineModels(), []);
  assert.equal(tool.getOnlineTag(set.recorderIds[0]!), 'offline');
  assert.equal(tool.setOnline('online', set.recorderIds), 3);
  assert.equal(tool.resetOnline(set.recorderIds), 3, 'same set: no new version');
});
