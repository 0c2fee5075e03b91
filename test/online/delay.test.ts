/** simulate with a delay trainer (models only begun during the run, fitted at the end) gives the same signal as a normal trainer. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { manager, newSetup, smallProvider, tmpRoot } from './helpers.ts';

const root = tmpRoot();
after(() => rmSync(root, { recursive: true, force: true }));
const providerUri = smallProvider(root, 6);

test('delay trainer: end_train postponed to the end of the simulation, same signals and switch days as TrainerR', async () => {
  const a = manager(newSetup(root, providerUri, 'normal'), { step: 40 });
  const b = manager(newSetup(root, providerUri, 'delay'), { step: 40, delay: true });
  await a.simulate({ end: '2019-04-30' });
  let signalRowsDuring = 0;
  await b.simulate({ end: '2019-04-30', onDay: (r) => (signalRowsDuring += r.signalRows) });
  assert.equal(signalRowsDuring, 0, 'no signals while training is postponed');
  assert.equal(b.state.pending.length, 0);
  const switches = (m: typeof a) => m.state.history.filter((h, i, arr) => i === 0 || h.recorderIds.join() !== arr[i - 1]!.recorderIds.join()).map((h) => h.time);
  assert.deepEqual(switches(b), switches(a));
  assert.equal(switches(a).length, 3);
  const sa = readFileSync(a.signalsPath, 'utf8');
  assert.ok(sa.split('\n').length > 80 * 5);
  assert.equal(readFileSync(b.signalsPath, 'utf8'), sa);
});
