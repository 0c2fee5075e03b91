/**
 * Model-based test of the SQLite store's state machine: random sequences of create / claim /
 * commit / release / fail / setStatus / setPriority / remove (with stale leases reused on
 * purpose) are run against the store and against a tiny in-memory model; after every step the
 * claimed task, the success or LEASE_LOST outcome, the returned counts and `stat` must agree.
 * Leases are long, so no expiry happens here (conformance covers expiry).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import type { TaskStatus } from '../../src/task/types.ts';
import type { Lease, StatusCounts } from '../../src/store/types.ts';

interface ModelTask {
  key: number;
  status: TaskStatus;
  priority: number;
  seq: number;
  token: string | null;
  claimedFrom: TaskStatus | null;
}

type Command =
  | { kind: 'create'; keys: number[]; priority: number }
  | { kind: 'claim'; from: 'waiting' | 'part_done' }
  | { kind: 'commit'; lease: number; to: 'done' | 'part_done' }
  | { kind: 'release'; lease: number; to: 'waiting' | 'part_done' }
  | { kind: 'fail'; lease: number }
  | { kind: 'setStatus'; keys: number[]; to: 'waiting' | 'done' | 'cancelled' }
  | { kind: 'setPriority'; key: number; priority: number }
  | { kind: 'remove'; keys: number[] };

const key = fc.integer({ min: 0, max: 7 });
const keys = fc.uniqueArray(key, { minLength: 1, maxLength: 4 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('create' as const), keys, priority: fc.integer({ min: -1, max: 2 }) }),
  fc.record({ kind: fc.constant('claim' as const), from: fc.constantFrom('waiting' as const, 'part_done' as const) }),
  fc.record({ kind: fc.constant('claim' as const), from: fc.constant('waiting' as const) }),
  fc.record({ kind: fc.constant('commit' as const), lease: fc.nat(20), to: fc.constantFrom('done' as const, 'part_done' as const) }),
  fc.record({ kind: fc.constant('release' as const), lease: fc.nat(20), to: fc.constantFrom('waiting' as const, 'part_done' as const) }),
  fc.record({ kind: fc.constant('fail' as const), lease: fc.nat(20) }),
  fc.record({ kind: fc.constant('setStatus' as const), keys, to: fc.constantFrom('waiting' as const, 'done' as const, 'cancelled' as const) }),
  fc.record({ kind: fc.constant('setPriority' as const), key, priority: fc.integer({ min: -1, max: 3 }) }),
  fc.record({ kind: fc.constant('remove' as const), keys }),
);

function modelStat(model: Map<number, ModelTask>): StatusCounts {
  const counts: StatusCounts = {};
  for (const t of model.values()) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return counts;
}

describe('SQLite store state machine (model-based)', () => {
  it('agrees with a reference model on random operation sequences', async () => {
    const store = new SqliteTaskStore(':memory:');
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 40 }), async (commands) => {
          const pool = `m${run++}`;
          const model = new Map<number, ModelTask>();
          const idOf = new Map<number, string>();
          const leases: Lease[] = [];
          let seq = 0;
          const fenced = async (lease: Lease | undefined, action: (l: Lease) => Promise<void>, apply: (t: ModelTask) => void): Promise<void> => {
            if (lease === undefined) return;
            const t = [...model.values()].find((m) => idOf.get(m.key) === lease.taskId);
            const valid = t !== undefined && t.status === 'running' && t.token === lease.token;
            if (valid) {
              await action(lease);
              apply(t);
              t.token = null;
            } else {
              await assert.rejects(action(lease), (e: { code?: string }) => e.code === 'LEASE_LOST');
            }
          };
          for (const cmd of commands) {
            switch (cmd.kind) {
              case 'create': {
                const r = await store.createTasks(pool, cmd.keys.map((k) => ({ k })), { priority: cmd.priority });
                let created = 0;
                cmd.keys.forEach((k, i) => {
                  if (!model.has(k)) {
                    model.set(k, { key: k, status: 'waiting', priority: cmd.priority, seq: seq++, token: null, claimedFrom: null });
                    idOf.set(k, r.ids[i]!);
                    created++;
                  }
                  assert.equal(r.ids[i], idOf.get(k));
                });
                assert.equal(r.created, created);
                break;
              }
              case 'claim': {
                const candidates = [...model.values()].filter((t) => t.status === cmd.from).sort((a, b) => b.priority - a.priority || a.seq - b.seq);
                const c = await store.claim(pool, { status: cmd.from, worker: 'w', leaseMs: 600_000 });
                if (candidates.length === 0) {
                  assert.equal(c, null);
                  break;
                }
                assert.ok(c);
                const expected = candidates[0]!;
                assert.equal(c.task._id, idOf.get(expected.key), `claim order (${cmd.from})`);
                expected.status = 'running';
                expected.token = c.lease.token;
                expected.claimedFrom = cmd.from;
                leases.push(c.lease);
                break;
              }
              case 'commit':
                await fenced(leases[cmd.lease], (l) => store.commit(pool, l, { ok: 1 }, cmd.to), (t) => (t.status = cmd.to));
                break;
              case 'release':
                await fenced(leases[cmd.lease], (l) => store.release(pool, l, { status: cmd.to }), (t) => (t.status = cmd.to));
                break;
              case 'fail':
                await fenced(leases[cmd.lease], (l) => store.fail(pool, l, { message: 'x', code: 'X' }), (t) => (t.status = 'failed'));
                break;
              case 'setStatus': {
                const n = await store.setStatus(pool, { 'def.k': { $in: cmd.keys } }, cmd.to);
                let expected = 0;
                for (const k of cmd.keys) {
                  const t = model.get(k);
                  if (t) {
                    t.status = cmd.to;
                    t.token = null;
                    expected++;
                  }
                }
                assert.equal(n, expected, 'setStatus count');
                break;
              }
              case 'setPriority': {
                const t = model.get(cmd.key);
                if (t) {
                  await store.setPriority(pool, idOf.get(cmd.key)!, cmd.priority);
                  t.priority = cmd.priority;
                }
                break;
              }
              case 'remove': {
                const n = await store.remove(pool, { 'filter.k': { $in: cmd.keys } });
                let expected = 0;
                for (const k of cmd.keys) if (model.delete(k)) expected++;
                assert.equal(n, expected, 'remove count');
                break;
              }
            }
            assert.deepEqual(await store.stat(pool), modelStat(model), `stat after ${JSON.stringify(cmd)}`);
          }
        }),
        { numRuns: 150, seed: 424242 },
      );
    } finally {
      await store.close();
    }
  });
});
