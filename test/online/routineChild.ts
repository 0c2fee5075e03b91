/** Child process for the kill -9 test: reloads the manager from its state directory and runs one routine. */
import { LocalTrainer, OnlineManager } from '../../src/online/index.ts';
import { strategies } from './helpers.ts';
import type { Setup } from './helpers.ts';

const [setupJson, day] = process.argv.slice(2);
const s = JSON.parse(setupJson!) as Setup;
const m = OnlineManager.load(s.stateDir, strategies(s), new LocalTrainer({ providerUri: s.providerUri, mlruns: s.mlruns }), s.providerUri);
const r = await m.routine(day);
process.stdout.write(JSON.stringify(r) + '\n');
