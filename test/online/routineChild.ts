/**
 * Child process for the kill -9 tests: reloads the manager from its state directory and runs one
 * routine, in-process (LocalTrainer) or, with a third argument `{"pool": db, "leaseMs": n}`, through
 * a SQLite task pool (PoolTrainer).
 */
import { LocalTrainer, OnlineManager, PoolTrainer } from '../../src/online/index.ts';
import type { OnlineTrainer } from '../../src/online/index.ts';
import { strategies } from './helpers.ts';
import type { Setup } from './helpers.ts';

const [setupJson, day, poolJson] = process.argv.slice(2);
const s = JSON.parse(setupJson!) as Setup & { step?: number };
const pool = poolJson === undefined ? undefined : (JSON.parse(poolJson) as { pool: string; leaseMs: number });
const trainer: OnlineTrainer = pool
  ? new PoolTrainer({ store: `sqlite:${pool.pool}`, providerUri: s.providerUri, mlruns: s.mlruns, leaseMs: pool.leaseMs })
  : new LocalTrainer({ providerUri: s.providerUri, mlruns: s.mlruns });
const m = OnlineManager.load(s.stateDir, strategies(s, s.step), trainer, s.providerUri);
const r = await m.routine(day);
process.stdout.write(JSON.stringify(r) + '\n');
if (trainer instanceof PoolTrainer) await trainer.close();
