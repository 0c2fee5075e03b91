/**
 * A worker whose store answers late must not run a task outside its lease. The store is the real
 * SQLite store on a temp file; `HeldStore` only holds a claim's reply or a heartbeat's request
 * back, the way a cut link does (the netns test in test/multihost cuts a real link).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseLostError } from '../../src/errors.ts';
import { runTask } from '../../src/run/runTask.ts';
import { emptyStats, type RunEvent, type TaskContext } from '../../src/run/types.ts';
import { openStore } from '../../src/store/url.ts';
import type { ClaimedTask, ClaimOptions, CreateTasksResult, FindOptions, Lease, ReleaseOptions, StatusCounts, TaskFilter, TaskStore } from '../../src/store/types.ts';
import type { JsonValue, TaskDef, TaskDocument, TaskStatus } from '../../src/task/types.ts';
import { tempStore, waitUntil, type TempStore } from './helpers.ts';

/** Resolves when `open()` is called; `opened` is the performance.now() of that call. */
class Gate {
  opened: number | undefined;
  private release!: () => void;
  readonly promise = new Promise<void>((r) => (this.release = r));
  open(): void {
    this.opened ??= performance.now();
    this.release();
  }
}

interface Holds {
  /** The first claim's reply is delivered only after this (the claim itself has been applied). */
  claimReply?: (claimed: ClaimedTask | null) => Promise<void>;
  /** Every heartbeat request reaches the store only after this. */
  heartbeatRequest?: () => Promise<void>;
}

/** A real store whose replies or requests are held back; everything else passes straight through. */
class HeldStore implements TaskStore {
  private claims = 0;
  constructor(
    private readonly inner: TaskStore,
    private readonly holds: Holds,
  ) {}
  get url(): string {
    return this.inner.url;
  }
  listPools(): Promise<string[]> {
    return this.inner.listPools();
  }
  createTasks(pool: string, defs: TaskDef[], opts?: { dryRun?: boolean; priority?: number }): Promise<CreateTasksResult> {
    return this.inner.createTasks(pool, defs, opts);
  }
  replaceTask(pool: string, id: string, def: TaskDef): Promise<void> {
    return this.inner.replaceTask(pool, id, def);
  }
  find(pool: string, filter?: TaskFilter, opts?: FindOptions): Promise<TaskDocument[]> {
    return this.inner.find(pool, filter, opts);
  }
  get(pool: string, id: string): Promise<TaskDocument | null> {
    return this.inner.get(pool, id);
  }
  async claim(pool: string, opts: ClaimOptions): Promise<ClaimedTask | null> {
    const claimed = await this.inner.claim(pool, opts);
    if (this.claims++ === 0 && this.holds.claimReply) await this.holds.claimReply(claimed);
    return claimed;
  }
  async heartbeat(pool: string, lease: Lease, leaseMs: number): Promise<Lease> {
    await this.holds.heartbeatRequest?.();
    return this.inner.heartbeat(pool, lease, leaseMs);
  }
  commit(pool: string, lease: Lease, res: JsonValue, status?: TaskStatus): Promise<void> {
    return this.inner.commit(pool, lease, res, status);
  }
  release(pool: string, lease: Lease, opts?: ReleaseOptions): Promise<void> {
    return this.inner.release(pool, lease, opts);
  }
  fail(pool: string, lease: Lease, error: { message: string; code: string }): Promise<void> {
    return this.inner.fail(pool, lease, error);
  }
  reclaimExpired(pool: string, opts?: { maxAttempts?: number }): Promise<number> {
    return this.inner.reclaimExpired(pool, opts);
  }
  setStatus(pool: string, filter: TaskFilter, status: TaskStatus): Promise<number> {
    return this.inner.setStatus(pool, filter, status);
  }
  setPriority(pool: string, id: string, priority: number): Promise<void> {
    return this.inner.setPriority(pool, id, priority);
  }
  remove(pool: string, filter: TaskFilter): Promise<number> {
    return this.inner.remove(pool, filter);
  }
  stat(pool: string, filter?: TaskFilter): Promise<StatusCounts> {
    return this.inner.stat(pool, filter);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

let t: TempStore;
const own: TaskStore[] = [];
before(async () => {
  t = await tempStore('qtask-slowlease-');
});
after(async () => {
  for (const s of own) await s.close();
  await t.cleanup();
});

/** A second connection to the same database file: worker A's own, as on another host. */
async function connection(): Promise<TaskStore> {
  const s = await openStore(t.url);
  own.push(s);
  return s;
}

/** Worker B: claims until it gets the task (once A's lease has run out) and finishes it. */
async function takeOver(pool: string, runs: string[]): Promise<void> {
  await waitUntil(
    () => runTask((_def, ctx) => (runs.push(`B/${ctx.attempt}`), { by: 'B', attempt: ctx.attempt }), { store: t.store, pool, worker: 'B', leaseMs: 60_000 }),
    30_000,
    'worker B to take the task over',
    50,
  );
}

function finishedEvents(events: RunEvent[]): Extract<RunEvent, { type: 'finished' }>[] {
  return events.filter((e): e is Extract<RunEvent, { type: 'finished' }> => e.type === 'finished');
}

describe('runTask with a slow store: no task runs outside its lease', () => {
  it('a claim answered after another worker took the task over: the function never runs, the task is done once by the new holder', async () => {
    const pool = 'late-claim';
    const [id] = (await t.store.createTasks(pool, [{ n: 1 }])).ids as string[];
    const reply = new Gate();
    let claimApplied!: () => void;
    const applied = new Promise<void>((r) => (claimApplied = r));
    const slow = new HeldStore(await connection(), {
      claimReply: async () => {
        claimApplied();
        await reply.promise;
      },
    });
    const runs: string[] = [];
    const events: RunEvent[] = [];
    const stats = emptyStats();
    const sentAt = performance.now();
    const a = runTask((_def, ctx) => (runs.push(`A/${ctx.attempt}`), { by: 'A' }), { store: slow, pool, worker: 'A', leaseMs: 600, stats, onEvent: (e) => events.push(e) });
    await applied;
    // B's claims return nothing until A's lease (applied in the store, reply still held) runs out.
    await takeOver(pool, runs);
    reply.open();
    assert.equal(await a, true);
    const replyMs = reply.opened! - sentAt;

    assert.deepEqual(runs, ['B/2'], 'only the new holder ran the task');
    const finished = finishedEvents(events);
    assert.equal(finished.length, 1);
    assert.equal(finished[0]!.outcome, 'lease_lost', 'giving the task back was refused: B had it');
    assert.equal(finished[0]!.error?.code, 'CLAIM_TOO_SLOW');
    assert.ok(replyMs > 600, `the claim reply was held ${replyMs} ms, past the lease`);
    assert.equal(stats.leaseLost, 1);
    const doc = await t.store.get(pool, id!);
    assert.equal(doc?.status, 'done');
    assert.equal(doc?.worker, 'B');
    assert.equal(doc?.attempts, 2);
    assert.deepEqual(doc?.res, { by: 'B', attempt: 2 });
  });

  it('a claim answered after the safe part of its lease, with nobody else around: given back, then run once on a fresh claim', async () => {
    const pool = 'late-alone';
    const [id] = (await t.store.createTasks(pool, [{ n: 1 }])).ids as string[];
    // Lease 2000 ms, safe part 1500 ms: a real 1600 ms delay of the first reply.
    const slow = new HeldStore(await connection(), { claimReply: () => new Promise((r) => setTimeout(r, 1600)) });
    const runs: number[] = [];
    const events: RunEvent[] = [];
    await runTask((_def, ctx) => (runs.push(ctx.attempt), 'ok'), { store: slow, pool, worker: 'A', leaseMs: 2000, onEvent: (e) => events.push(e) });
    assert.deepEqual(runs, [2], 'the function ran once, under the second claim');
    assert.deepEqual(
      finishedEvents(events).map((e) => [e.attempt, e.outcome, e.error?.code]),
      [
        [1, 'released', 'CLAIM_TOO_SLOW'],
        [2, 'done', undefined],
      ],
    );
    const doc = await t.store.get(pool, id!);
    assert.equal(doc?.status, 'done');
    assert.equal(doc?.attempts, 2);
    assert.equal(doc?.res, 'ok');
  });

  it('on its last attempt a late claim fails the task instead (a store too slow for the lease cannot keep a worker claiming)', async () => {
    const pool = 'late-last';
    const [id] = (await t.store.createTasks(pool, [{ n: 1 }])).ids as string[];
    const slow = new HeldStore(await connection(), { claimReply: () => new Promise((r) => setTimeout(r, 400)) });
    let ran = 0;
    await runTask(() => (ran++, 'ok'), { store: slow, pool, worker: 'A', leaseMs: 500, maxAttempts: 1 });
    assert.equal(ran, 0);
    const doc = await t.store.get(pool, id!);
    assert.equal(doc?.status, 'failed');
    assert.equal(doc?.lastError?.code, 'CLAIM_TOO_SLOW');
    assert.match(doc?.lastError?.message ?? '', /attempt 1 of 1/);
  });

  it('a heartbeat held up past the safe part of the lease fires ctx.signal while it is still unanswered; the new holder finishes the task once', async () => {
    const pool = 'held-heartbeat';
    const [id] = (await t.store.createTasks(pool, [{ n: 1 }])).ids as string[];
    const link = new Gate();
    const slow = new HeldStore(await connection(), { heartbeatRequest: () => link.promise });
    const runs: string[] = [];
    const events: RunEvent[] = [];
    let startedAt = 0;
    let abortedAt: number | undefined;
    let reason: unknown;
    const a = runTask(
      async (_def, ctx: TaskContext) => {
        runs.push(`A/${ctx.attempt}`);
        startedAt = performance.now();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 60_000);
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        abortedAt = performance.now();
        reason = ctx.signal.reason;
        return { by: 'A' };
      },
      { store: slow, pool, worker: 'A', leaseMs: 800, heartbeatMs: 150, onEvent: (e) => events.push(e) },
    );
    await waitUntil(() => abortedAt !== undefined, 30_000, 'ctx.signal to fire while the heartbeat is held');
    assert.equal(link.opened, undefined, 'the signal fired while the heartbeat was still unanswered');
    assert.ok(reason instanceof LeaseLostError, String(reason));
    assert.match((reason as Error).message, /no heartbeat was answered within 600 ms/);
    // The safe part is 600 ms from the claim's send time, which came before the function started.
    assert.ok(abortedAt! - startedAt < 600 + 5_000, `aborted ${abortedAt! - startedAt} ms after the start`);

    await takeOver(pool, runs);
    link.open();
    await a;
    assert.deepEqual(runs, ['A/1', 'B/2']);
    const finished = finishedEvents(events);
    assert.deepEqual(finished.map((e) => e.outcome), ['lease_lost']);
    const doc = await t.store.get(pool, id!);
    assert.equal(doc?.status, 'done');
    assert.equal(doc?.worker, 'B');
    assert.deepEqual(doc?.res, { by: 'B', attempt: 2 });
  });
});
