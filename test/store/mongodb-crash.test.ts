/**
 * The crash test on MongoDB: `qtask worker --store mongodb://…` processes SIGKILLed at random
 * and restarted; every task ends done exactly once, nothing lost, no stale commit accepted.
 * Seed: $QTASK_CRASH_SEED.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { openMongoStore } from '../../src/store/mongodb.ts';
import type { MongoTaskStore } from '../../src/store/mongodb.ts';
import { runCrashScenario } from '../multihost/crashScenario.ts';
import { freshDatabase, mongoTestServer, urlFor } from './mongodbServer.ts';
import type { MongoTestServer } from './mongodbServer.ts';

const SEED = Number(process.env['QTASK_CRASH_SEED'] ?? 20261126);
let server: MongoTestServer;
let store: MongoTaskStore;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'qtask-mongo-crash-'));
before(async () => {
  server = await mongoTestServer();
  url = urlFor(server, freshDatabase('crash'));
  store = await openMongoStore(url);
});
after(async () => {
  await store?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it(`crash test on MongoDB (seed ${SEED}): 150 tasks, 3 workers SIGKILLed and restarted, every task done exactly once`, { timeout: 240_000 }, async () => {
  const r = await runCrashScenario({
    store,
    workerUrl: url,
    pool: 'crash',
    dir,
    seed: SEED,
    tasks: 150,
    slots: [[], [], []],
    leaseSeconds: 2,
    maxKills: 6,
    killPhaseMs: 25_000,
    drainDeadlineMs: 150_000,
  });
  console.log(
    `# mongodb crash test: seed ${SEED}, ${r.processes} worker processes, ${r.kills} SIGKILLs, ${r.takenOver} tasks taken over, ${r.rerun} re-run, ` +
      `${r.overlaps} overlaps (all with a dead/lease-lost holder), ${r.leaseLost} lease-lost reports, ${(r.elapsedMs / 1000).toFixed(1)} s`,
  );
});
