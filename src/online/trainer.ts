/**
 * What the online manager needs from a trainer (qlib's Trainer: `train`, `end_train`, `is_delay`),
 * and a default in-process one (qlib's TrainerR / DelayTrainerR) built on `taskTrain`.
 *
 * Beyond qlib: training is idempotent per task. Before training, a FINISHED recorder of the
 * experiment whose `task` artifact has the same canonical hash is reused, so a routine killed after
 * some models finished and run again does not train them twice, and ends with the same models.
 */
import { getStore } from '../recorder/R.ts';
import type { Recorder } from '../recorder/recorder.ts';
import { taskHash } from '../task/canonical.ts';
import type { TaskDef } from '../task/types.ts';
import { beginTaskTrain, endTaskTrain, STATUS_BEGIN, STATUS_END, STATUS_KEY, taskTrain } from '../workflow/taskTrain.ts';
import type { RecorderRef } from '../workflow/taskTrain.ts';

export type { RecorderRef };

export interface OnlineTrainer {
  /** Trains (or, for a delay trainer, begins) each task in `experimentName`; one reference per task, in order. */
  train(tasks: TaskDef[], experimentName: string): Promise<RecorderRef[]>;
  /** Finishes delayed training; a no-op for a normal trainer. */
  endTrain(refs: RecorderRef[], experimentName: string): Promise<RecorderRef[]>;
  /** True when `train` only logs the task and `endTrain` fits (qlib's DelayTrainer*). */
  isDelay(): boolean;
  /** Releases what the trainer opened (a task store from a URL). Optional; called by `OnlineManager.close`. */
  close?(): Promise<void>;
}

export interface LocalTrainerOptions {
  /** Data directory. Required. */
  providerUri: string;
  /** mlruns directory. Default: the recorder default. */
  mlruns?: string;
  /** qlib's DelayTrainerR: `train` logs the task only, `endTrain` fits. Default false. */
  delay?: boolean;
  /** Called once per task actually trained (not reused). */
  onTrained?: (ref: RecorderRef, task: TaskDef) => void;
}

/** FINISHED recorders of `experimentName` by the hash of their `task` artifact (the newest wins). */
export function trainedByHash(experimentName: string, mlruns: string | undefined): Map<string, Recorder> {
  const store = getStore(mlruns === undefined ? {} : { uri: mlruns });
  const out = new Map<string, Recorder>();
  let listing;
  try {
    listing = store.listRecorders({ experimentName });
  } catch {
    return out;
  }
  listing.recorders.forEach((rec, i) => {
    if (listing.infos[i]!.status !== 'FINISHED') return;
    let task;
    try {
      task = rec.loadObject('task');
    } catch {
      return;
    }
    const h = taskHash(task as TaskDef);
    if (!out.has(h)) out.set(h, rec);
  });
  return out;
}

export class LocalTrainer implements OnlineTrainer {
  constructor(readonly options: LocalTrainerOptions) {}

  isDelay(): boolean {
    return this.options.delay ?? false;
  }

  private refOf(rec: Recorder, experimentName: string): RecorderRef {
    return { experimentId: rec.experimentId, experimentName, recorderId: rec.id, mlruns: getStore(this.options.mlruns === undefined ? {} : { uri: this.options.mlruns }).root };
  }

  async train(tasks: TaskDef[], experimentName: string): Promise<RecorderRef[]> {
    if (tasks.length === 0) return [];
    const done = trainedByHash(experimentName, this.options.mlruns);
    const out: RecorderRef[] = [];
    const common = { experimentName, provider: this.options.providerUri, ...(this.options.mlruns === undefined ? {} : { mlruns: this.options.mlruns }) };
    for (const task of tasks) {
      const hit = done.get(taskHash(task));
      if (hit) {
        out.push(this.refOf(hit, experimentName));
        continue;
      }
      const ref = this.isDelay() ? await beginTaskTrain(task, common) : await taskTrain(task, common);
      if (this.isDelay()) getStore({ uri: ref.mlruns }).getRecorder({ recorderId: ref.recorderId, experimentId: ref.experimentId }).setTags({ [STATUS_KEY]: STATUS_BEGIN });
      this.options.onTrained?.(ref, task);
      out.push(ref);
    }
    return out;
  }

  async endTrain(refs: RecorderRef[], experimentName: string): Promise<RecorderRef[]> {
    if (!this.isDelay()) return refs;
    for (const ref of refs) {
      const rec = getStore({ uri: ref.mlruns }).getRecorder({ recorderId: ref.recorderId, experimentId: ref.experimentId });
      // a missing tag counts as not ended (qlib raises KeyError, W20)
      if (rec.listTags()[STATUS_KEY] === STATUS_END) continue;
      await endTaskTrain(ref, { provider: this.options.providerUri, experimentName, ...(this.options.mlruns === undefined ? {} : { mlruns: this.options.mlruns }) });
      rec.setTags({ [STATUS_KEY]: STATUS_END });
    }
    return refs;
  }
}
