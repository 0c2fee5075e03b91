/**
 * qlib's TrainerRM / DelayTrainerRM for the online manager: a routine's tasks go into a TaskManager
 * pool and are trained through `runTask`, so `qtask worker --task-fn qtask:taskTrain` processes on the
 * same pool (with QTASK_EXPERIMENT set to the strategy's experiment) can train them too.
 *
 * Built on the workflow's TrainerRM / DelayTrainerRM. What this adds for online use:
 * - one trainer per strategy experiment; the pool defaults to the experiment name (qlib);
 * - a task still `running` under a dead process (a routine killed mid-training) is taken over once
 *   its lease expires: this process keeps claiming until every task of the call is finished, where
 *   TrainerRM claims once and then only waits (which, with no worker left, waits forever);
 * - results are RecorderRefs, as for the in-process trainer. The pool's dedupe by task hash makes a
 *   repeated routine reuse a task that is already done instead of training it again.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTask } from '../run/runTask.ts';
import { getStore } from '../recorder/R.ts';
import type { Recorder } from '../recorder/recorder.ts';
import { openStore } from '../store/url.ts';
import { WaitTimeoutError } from '../store/taskManager.ts';
import type { TaskFilter, TaskStore } from '../store/types.ts';
import type { TaskDef, TaskStatus } from '../task/types.ts';
import { DelayTrainerRM, TrainerRM } from '../workflow/trainer.ts';
import type { TrainerRMOptions } from '../workflow/trainer.ts';
import type { RecorderRef } from '../workflow/taskTrain.ts';
import { TM_ID } from '../workflow/taskFns.ts';
import { OnlineError } from './errors.ts';
import type { OnlineTrainer } from './trainer.ts';

export interface PoolTrainerOptions {
  /** The task store, or its URL (`sqlite:./pool.db`, `mongodb://…`; opened on first use). Required. */
  store: TaskStore | string;
  /** Data directory. Required. */
  providerUri: string;
  /** mlruns directory. Default: the recorder default. */
  mlruns?: string;
  /** Pool of every strategy's tasks. Default: each strategy's experiment name (qlib). */
  taskPool?: string;
  /** DelayTrainerRM: `train` only logs each task (→ part_done), `endTrain` fits it (→ done). Default false. */
  delay?: boolean;
  /** Only enqueue and wait: worker processes train. Default false (this process trains too). */
  skipRunTask?: boolean;
  /** Lease of the tasks this process runs, ms. Default 60000. */
  leaseMs?: number;
  /** Give up waiting for workers after this long (ONLINE_POOL_TIMEOUT). Default: wait forever. */
  waitTimeoutMs?: number;
  /** How often to look at the pool while others hold tasks, ms. Default 200. */
  pollMs?: number;
  /** Create the directory of a `sqlite:` store URL when it is missing. Default false. */
  createStoreDir?: boolean;
}

type Phase = { before: TaskStatus; after: TaskStatus; fn: 'train' | 'begin' | 'end' };

/**
 * Keeps claiming the tasks in `query` (taking over expired leases) until none is unfinished in this
 * phase. Whether this process runs tasks follows the trainer's own `skipRunTask`, which
 * DelayTrainerRM forces off for its preparation phase (qlib).
 */
async function drain(trainer: TrainerRM, query: TaskFilter, phase: Phase, o: PoolTrainerOptions): Promise<void> {
  const tm = trainer.tm();
  const deadline = o.waitTimeoutMs === undefined ? Infinity : Date.now() + o.waitTimeoutMs;
  const open: TaskStatus[] = [phase.before, 'running'];
  for (;;) {
    if (!trainer.options.skipRunTask) await runTask(trainer.phaseFn(phase.fn), { ...trainer.runOptions(query), beforeStatus: phase.before, afterStatus: phase.after });
    const counts = await tm.taskStat(query);
    if (open.every((s) => !counts[s])) return;
    if (Date.now() > deadline) {
      throw new OnlineError('ONLINE_POOL_TIMEOUT', `pool ${trainer.pool}: tasks still unfinished after ${o.waitTimeoutMs} ms: ${JSON.stringify(counts)}`, {
        path: 'task_pool',
        hint: 'start workers on the pool (qtask --store … --pool … worker --task-fn qtask:taskTrain), or raise the wait timeout',
        cause: new WaitTimeoutError(o.waitTimeoutMs ?? 0, counts),
      });
    }
    await sleep(o.pollMs ?? 200);
  }
}

/** Creates the tasks (dedupe by hash) and drains them through the phase `trainWith` runs next. */
async function drainCreated(trainer: TrainerRM, tasks: TaskDef[], afterStatus: 'done' | 'part_done', o: PoolTrainerOptions): Promise<void> {
  if (tasks.length === 0) return;
  const { ids } = await trainer.tm().createTask(tasks);
  const query: TaskFilter = { _id: { $in: ids.filter((id): id is string => id !== null) } };
  await drain(trainer, query, { before: 'waiting', after: afterStatus, fn: afterStatus === 'done' ? 'train' : 'begin' }, o);
}

class OnlineTrainerRM extends TrainerRM {
  constructor(options: TrainerRMOptions, readonly poolOptions: PoolTrainerOptions) {
    super(options);
  }
  protected override async trainWith(tasks: TaskDef[], afterStatus: 'done' | 'part_done'): Promise<Recorder[]> {
    await drainCreated(this, tasks, afterStatus, this.poolOptions);
    return super.trainWith(tasks, afterStatus);
  }
}

class OnlineDelayTrainerRM extends DelayTrainerRM {
  constructor(options: TrainerRMOptions, readonly poolOptions: PoolTrainerOptions) {
    super(options);
  }
  protected override async trainWith(tasks: TaskDef[], afterStatus: 'done' | 'part_done'): Promise<Recorder[]> {
    await drainCreated(this, tasks, afterStatus, this.poolOptions);
    return super.trainWith(tasks, afterStatus);
  }
  override async endTrain(recs: Recorder[]): Promise<Recorder[]> {
    const ids = recs.map((r) => r.listTags()[TM_ID]).filter((id): id is string => typeof id === 'string');
    if (ids.length > 0) await drain(this, { _id: { $in: ids } }, { before: 'part_done', after: 'done', fn: 'end' }, this.poolOptions);
    return super.endTrain(recs);
  }
}

/** qlib's TrainerRM (or, with `delay`, DelayTrainerRM) as an OnlineTrainer. */
export class PoolTrainer implements OnlineTrainer {
  private storePromise: Promise<TaskStore> | undefined;
  private readonly trainers = new Map<string, OnlineTrainerRM | OnlineDelayTrainerRM>();

  constructor(readonly options: PoolTrainerOptions) {
    if (options.taskPool !== undefined && (typeof options.taskPool !== 'string' || options.taskPool === '')) {
      throw new OnlineError('ONLINE_CONFIG', 'taskPool must be a non-empty name', { path: 'task_pool', hint: 'or leave it out: each strategy then uses its experiment name as its pool' });
    }
  }

  isDelay(): boolean {
    return this.options.delay ?? false;
  }

  /** The task store (opened from its URL on first use). */
  store(): Promise<TaskStore> {
    const s = this.options.store;
    if (typeof s === 'string' && this.options.createStoreDir) {
      const m = /^sqlite:(?!\/\/)(.+)$/.exec(s);
      if (m) mkdirSync(dirname(m[1]!), { recursive: true });
    }
    this.storePromise ??= typeof s === 'string' ? openStore(s) : Promise.resolve(s);
    return this.storePromise;
  }

  /** Closes the store if this trainer opened it from a URL. */
  async close(): Promise<void> {
    if (typeof this.options.store === 'string' && this.storePromise) await (await this.storePromise).close();
    this.storePromise = undefined;
  }

  /** The pool of a strategy's tasks. */
  poolOf(experimentName: string): string {
    return this.options.taskPool ?? experimentName;
  }

  private async trainer(experimentName: string): Promise<OnlineTrainerRM | OnlineDelayTrainerRM> {
    let t = this.trainers.get(experimentName);
    if (!t) {
      const o = this.options;
      const opts: TrainerRMOptions = {
        experimentName,
        store: await this.store(),
        taskPool: this.poolOf(experimentName),
        provider: o.providerUri,
        ...(o.mlruns === undefined ? {} : { mlruns: o.mlruns }),
        ...(o.leaseMs === undefined ? {} : { leaseMs: o.leaseMs }),
        ...(o.skipRunTask === undefined ? {} : { skipRunTask: o.skipRunTask }),
        ...(o.waitTimeoutMs === undefined ? {} : { waitTimeoutMs: o.waitTimeoutMs }),
      };
      t = this.isDelay() ? new OnlineDelayTrainerRM(opts, o) : new OnlineTrainerRM(opts, o);
      this.trainers.set(experimentName, t);
    }
    return t;
  }

  private refOf(rec: Recorder, experimentName: string): RecorderRef {
    return { experimentId: rec.experimentId, experimentName, recorderId: rec.id, mlruns: getStore(this.options.mlruns === undefined ? {} : { uri: this.options.mlruns }).root };
  }

  async train(tasks: TaskDef[], experimentName: string): Promise<RecorderRef[]> {
    if (tasks.length === 0) return [];
    const recs = await (await this.trainer(experimentName)).train(tasks);
    return recs.map((r) => this.refOf(r, experimentName));
  }

  async endTrain(refs: RecorderRef[], experimentName: string): Promise<RecorderRef[]> {
    if (refs.length === 0) return refs;
    const recs = refs.map((r) => getStore({ uri: r.mlruns }).getRecorder({ recorderId: r.recorderId, experimentId: r.experimentId }));
    await (await this.trainer(experimentName)).endTrain(recs);
    return refs;
  }
}
