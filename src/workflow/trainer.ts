/**
 * qlib's trainers (qlib/model/trainer.py): `TrainerR` (in this process, in order), `DelayTrainerR`
 * (`train` only logs the tasks, `endTrain` fits), `TrainerRM` (tasks go into a TaskManager pool and
 * are trained through `runTask` here — other processes running `qtask worker --task-fn
 * qtask:taskTrain` on the same pool help), `DelayTrainerRM` (two phases through `part_done`).
 * Differences from qlib: pool results are RecorderRefs (JSON), so reading them back cannot fail the
 * way qlib's restricted unpickler did; `endTrain` treats a recorder without the `train_status` tag as
 * not ended (qlib: KeyError, W20); `worker()` only claims this trainer's tasks (W15, see `query`).
 */
import { dirname } from 'node:path';
import { runTask } from '../run/runTask.ts';
import type { TaskFn } from '../run/types.ts';
import { getStore } from '../recorder/R.ts';
import type { Recorder } from '../recorder/recorder.ts';
import { TaskManager } from '../store/taskManager.ts';
import type { TaskFilter, TaskStore } from '../store/types.ts';
import type { JsonValue, TaskDef } from '../task/types.ts';
import { WorkflowError } from './errors.ts';
import { asRecorderRef, TM_ID } from './taskFns.ts';
import { beginTaskTrain, endTaskTrain, STATUS_BEGIN, STATUS_END, STATUS_KEY, taskTrain } from './taskTrain.ts';
import type { RecorderRef, TaskTrainOptions } from './taskTrain.ts';

export interface TrainerOptions extends Omit<TaskTrainOptions, 'recorderName' | 'tags'> {
  /** Run name for every recorder. Default: each run's id. */
  defaultRecName?: string;
}

function recorderOf(ref: RecorderRef): Recorder {
  return getStore({ uri: ref.mlruns }).getRecorder({ recorderId: ref.recorderId, experimentId: ref.experimentId });
}

function refOfRecorder(rec: Recorder, experimentName: string): RecorderRef {
  return { experimentId: rec.experimentId, experimentName, recorderId: rec.id, mlruns: dirname(dirname(rec.runDir)) };
}

function taskList(tasks: TaskDef | TaskDef[]): TaskDef[] {
  return Array.isArray(tasks) ? tasks : [tasks];
}

export abstract class Trainer {
  readonly delay: boolean = false;
  constructor(readonly options: TrainerOptions) {}

  abstract train(tasks: TaskDef | TaskDef[]): Promise<Recorder[]>;

  /** Completes training begun by `train` (a no-op apart from the status tag for non-delay trainers). */
  async endTrain(recs: Recorder[]): Promise<Recorder[]> {
    for (const r of recs) r.setTags({ [STATUS_KEY]: STATUS_END });
    return recs;
  }

  isDelay(): boolean {
    return this.delay;
  }

  /** qlib's `__call__`: `endTrain(train(tasks))`. */
  async run(tasks: TaskDef | TaskDef[]): Promise<Recorder[]> {
    return this.endTrain(await this.train(tasks));
  }

  hasWorker(): boolean {
    return false;
  }

  async worker(): Promise<void> {
    throw new WorkflowError('TRAINER', `${this.constructor.name} has no worker`, { path: 'trainer', hint: 'use TrainerRM or DelayTrainerRM for workers' });
  }

  protected trainOptions(extra: Partial<TaskTrainOptions> = {}): TaskTrainOptions {
    const { defaultRecName, ...rest } = this.options;
    return { ...rest, ...(defaultRecName !== undefined ? { recorderName: defaultRecName } : {}), ...extra };
  }
}

/** Trains every task in this process, in order. */
export class TrainerR extends Trainer {
  /** What `train` does with one task: fit and run the records (DelayTrainerR: log only). */
  protected trainOne(task: TaskDef): ReturnType<typeof taskTrain> {
    return taskTrain(task, this.trainOptions());
  }

  async train(tasks: TaskDef | TaskDef[]): Promise<Recorder[]> {
    const out: Recorder[] = [];
    for (const t of taskList(tasks)) {
      const rec = recorderOf(await this.trainOne(t));
      rec.setTags({ [STATUS_KEY]: STATUS_BEGIN });
      out.push(rec);
    }
    return out;
  }
}

/** `train` logs the tasks (begin_task_train); `endTrain` fits them in the same recorders. */
export class DelayTrainerR extends TrainerR {
  override readonly delay = true;

  protected override trainOne(task: TaskDef): ReturnType<typeof taskTrain> {
    return beginTaskTrain(task, this.trainOptions());
  }

  override async endTrain(recs: Recorder[]): Promise<Recorder[]> {
    for (const rec of recs) {
      // W20: a recorder without the tag has simply not been ended.
      if (rec.listTags()[STATUS_KEY] === STATUS_END) continue;
      await endTaskTrain(refOfRecorder(rec, this.options.experimentName), this.trainOptions());
      rec.setTags({ [STATUS_KEY]: STATUS_END });
    }
    return recs;
  }
}

export interface TrainerRMOptions extends TrainerOptions {
  store: TaskStore;
  /** Pool name. Default: the experiment name (qlib's default), so a pool holds one experiment's tasks. */
  taskPool?: string;
  /**
   * Only tasks matching this filter are run by `worker()` (W15: qlib's worker drained every task in
   * the pool into its own experiment). Needed when several experiments share one pool. Default `{}`.
   */
  query?: TaskFilter;
  /** Only enqueue and wait; other processes train. Default false. */
  skipRunTask?: boolean;
  /** Lease for tasks run here, ms. Default 60000 (runTask's). */
  leaseMs?: number;
  /** Give up waiting for other workers after this long (WaitTimeoutError). Default: wait forever. */
  waitTimeoutMs?: number;
}

/** Trains through a task pool: enqueue (deduplicated), run here, wait for helpers, read references back. */
export class TrainerRM extends Trainer {
  declare readonly options: TrainerRMOptions;
  readonly pool: string;

  constructor(options: TrainerRMOptions) {
    super(options);
    this.pool = options.taskPool ?? options.experimentName;
  }

  /** The TaskManager of this trainer's pool (public for trainers built on this one, e.g. the online PoolTrainer). */
  tm(): TaskManager {
    return new TaskManager(this.options.store, this.pool, { log: () => {} });
  }

  protected trainFn(): TaskFn {
    return async (param, ctx) => (await taskTrain(param, this.trainOptions({ tags: { [TM_ID]: ctx.taskId }, signal: ctx.signal }))) as unknown as JsonValue;
  }

  protected endFn(): TaskFn {
    return async (param, ctx) => (await endTaskTrain(asRecorderRef(param), this.trainOptions({ signal: ctx.signal }))) as unknown as JsonValue;
  }

  /** The task function of a phase: `train` (fit + records), `begin` (log only, delay trainers), `end` (fit a begun run). */
  phaseFn(phase: 'train' | 'begin' | 'end'): TaskFn {
    return phase === 'train' ? this.trainFn() : phase === 'begin' ? this.beginFn() : this.endFn();
  }

  /** runTask options for `query` on this trainer's pool and store. */
  runOptions(query: TaskFilter) {
    return {
      store: this.options.store,
      pool: this.pool,
      query,
      ...(this.options.leaseMs !== undefined ? { leaseMs: this.options.leaseMs } : {}),
    };
  }

  override async train(tasks: TaskDef | TaskDef[]): Promise<Recorder[]> {
    return this.trainWith(taskList(tasks), 'done');
  }

  protected async trainWith(tasks: TaskDef[], afterStatus: 'done' | 'part_done'): Promise<Recorder[]> {
    if (tasks.length === 0) return [];
    const tm = this.tm();
    const { ids } = await tm.createTask(tasks);
    const idList = ids.filter((id): id is string => id !== null);
    const query: TaskFilter = { _id: { $in: idList } };
    if (!this.options.skipRunTask) {
      await runTask(afterStatus === 'done' ? this.trainFn() : this.beginFn(), { ...this.runOptions(query), beforeStatus: 'waiting', afterStatus });
    }
    // Delay trainers wait only until every task has left waiting/running (qlib did not wait: W19).
    const waitQuery: TaskFilter = afterStatus === 'done' ? query : { ...query, status: { $in: ['waiting', 'running'] } };
    await tm.wait({ query: waitQuery, ...(this.options.waitTimeoutMs !== undefined ? { timeoutMs: this.options.waitTimeoutMs } : {}), pollMs: 200, maxPollMs: 2000 });
    return this.readBack(tm, idList, afterStatus);
  }

  protected beginFn(): TaskFn {
    return async (param, ctx) => (await beginTaskTrain(param, this.trainOptions({ tags: { [TM_ID]: ctx.taskId }, signal: ctx.signal }))) as unknown as JsonValue;
  }

  protected async readBack(tm: TaskManager, ids: string[], expected: 'done' | 'part_done'): Promise<Recorder[]> {
    const out: Recorder[] = [];
    for (const id of ids) {
      const doc = await tm.reQuery(id);
      if (doc.status !== expected && !(expected === 'part_done' && doc.status === 'done')) {
        throw new WorkflowError('TRAINER', `task ${id} ended ${doc.status}${doc.lastError ? `: ${doc.lastError.message}` : ''}`, {
          path: `${this.pool}/${id}`,
          hint: doc.status === 'failed' ? 'see `qtask show` for the error; fix the task and `qtask reset` it' : 'it was changed by someone else',
        });
      }
      const rec = recorderOf(asRecorderRef(doc.res, `${this.pool}/${id}.res`));
      rec.setTags({ [STATUS_KEY]: STATUS_BEGIN, [TM_ID]: id });
      out.push(rec);
    }
    return out;
  }

  override hasWorker(): boolean {
    return true;
  }

  /** qlib's `TrainerRM.worker`: trains this trainer's waiting tasks (its `query`) until none is left. */
  override async worker(): Promise<void> {
    await runTask(this.trainFn(), { ...this.runOptions(this.options.query ?? {}), beforeStatus: 'waiting', afterStatus: 'done' });
  }
}

/** TrainerRM in two phases: `train` logs the tasks (→ part_done), `endTrain`/`worker` fit them (→ done). */
export class DelayTrainerRM extends TrainerRM {
  override readonly delay = true;

  override async train(tasks: TaskDef | TaskDef[]): Promise<Recorder[]> {
    // qlib forces skip_run_task off for the preparation phase.
    const skip = this.options.skipRunTask;
    this.options.skipRunTask = false;
    try {
      return await this.trainWith(taskList(tasks), 'part_done');
    } finally {
      this.options.skipRunTask = skip;
    }
  }

  override async endTrain(recs: Recorder[]): Promise<Recorder[]> {
    if (recs.length === 0) return recs;
    const ids = recs.map((r, i) => {
      const id = r.listTags()[TM_ID];
      if (!id) throw new WorkflowError('TRAINER', `recorder ${r.id} has no ${JSON.stringify(TM_ID)} tag`, { path: `recs[${i}]`, hint: 'pass the recorders DelayTrainerRM.train returned' });
      return id;
    });
    const query: TaskFilter = { _id: { $in: ids } };
    const tm = this.tm();
    if (!this.options.skipRunTask) {
      await runTask(this.endFn(), { ...this.runOptions(query), beforeStatus: 'part_done', afterStatus: 'done' });
    }
    await tm.wait({ query, ...(this.options.waitTimeoutMs !== undefined ? { timeoutMs: this.options.waitTimeoutMs } : {}), pollMs: 200, maxPollMs: 2000 });
    for (const id of ids) {
      const doc = await tm.reQuery(id);
      if (doc.status !== 'done') throw new WorkflowError('TRAINER', `task ${id} ended ${doc.status}${doc.lastError ? `: ${doc.lastError.message}` : ''}`, { path: `${this.pool}/${id}`, hint: 'see `qtask show` for the error' });
    }
    for (const r of recs) r.setTags({ [STATUS_KEY]: STATUS_END });
    return recs;
  }

  /** qlib's `DelayTrainerRM.worker`: fits this trainer's part_done tasks. */
  override async worker(): Promise<void> {
    await runTask(this.endFn(), { ...this.runOptions(this.options.query ?? {}), beforeStatus: 'part_done', afterStatus: 'done' });
  }
}
