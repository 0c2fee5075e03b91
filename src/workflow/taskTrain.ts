/**
 * qlib's `task_train` / `begin_task_train` / `end_task_train` (trainer.py): inside one recorder,
 * log the task (flattened params, the `task` artifact, a `hostname` tag), build the model and the
 * dataset, fit, save the model (`params` artifact: the model's JSON manifest, not a pickle) and the
 * dataset config (`dataset`), then generate the records in order. The recorder ends FINISHED, or
 * FAILED when anything throws. Returns a JSON reference to the recorder, which is what a task pool
 * stores as the result.
 */
import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { LocalProvider } from '../data/provider/index.ts';
import type { HandlerSource } from '../data/handler/handler.ts';
import type { DatasetH } from '../data/dataset/index.ts';
import type { EvalsResult, Model } from '../model/types.ts';
import { getStore, R } from '../recorder/R.ts';
import type { Recorder } from '../recorder/recorder.ts';
import { readRunMeta, writeRunMeta } from '../recorder/runMeta.ts';
import type { JsonObject, JsonValue } from '../task/types.ts';
import { DATASET_STATE_ARTIFACT, fittedStateJson } from '../data/dataset/fittedState.ts';
import { WorkflowError } from './errors.ts';
import { flattenParams, fillPathPlaceholders } from './placeholders.ts';
import { resolveDataset, resolveModel, resolveRecord } from './resolve.ts';
import type { ResolveOptions } from './resolve.ts';

/** Where a trained task's results live: stored in the task pool instead of a serialised Recorder. */
export interface RecorderRef {
  experimentId: string;
  experimentName: string;
  recorderId: string;
  /** mlruns directory the recorder is in. */
  mlruns: string;
}

export type TrainStage = 'data' | 'fit' | 'predict' | 'records';

export interface TaskTrainOptions extends ResolveOptions {
  experimentName: string;
  /** Run name. Default: the run id (qlib: "mlflow_recorder" for every run, W18). */
  recorderName?: string;
  /** mlruns directory or file: URI. Default: `R.setUri`, `$QTASK_MLRUNS`, else ./mlruns. */
  mlruns?: string;
  /** Data source, or the directory of an imported data set. Required (no global qlib.init). */
  provider?: HandlerSource | string;
  /** Called when a stage starts and ends (`ms` set on end). */
  onStage?: (stage: TrainStage, event: 'start' | 'end', ms?: number) => void;
  /**
   * When it fires (the task's lease was lost), training stops at the next stage boundary and the
   * recorder ends FAILED, so a task taken over by another worker never has two FINISHED recorders.
   */
  signal?: AbortSignal;
  /** Tags set on the recorder when it is created. */
  tags?: Record<string, string>;
  /** Called as the handler loads instruments. */
  onDataProgress?: (done: number, total: number) => void;
}

/** Statuses of qlib's two-phase training, in the `train_status` tag. */
export const STATUS_KEY = 'train_status';
export const STATUS_BEGIN = 'begin_task_train';
export const STATUS_END = 'end_task_train';

const providers = new Map<string, LocalProvider>();

/** A provider from an instance or a data directory (opened once per process). */
export function providerFrom(p: HandlerSource | string | undefined, path = 'provider'): HandlerSource {
  if (p === undefined) {
    throw new WorkflowError('TASK_TRAIN', 'taskTrain needs a data provider', { path, hint: 'pass provider (a LocalProvider or a data directory), set QTASK_PROVIDER_URI, or providerUri in qtask.config.yaml' });
  }
  if (typeof p !== 'string') return p;
  const dir = resolvePath(p.startsWith('~/') ? `${process.env.HOME ?? ''}${p.slice(1)}` : p);
  let prov = providers.get(dir);
  if (!prov) {
    prov = new LocalProvider(dir);
    providers.set(dir, prov);
  }
  return prov;
}

function asTask(task: unknown): JsonObject {
  if (task === null || typeof task !== 'object' || Array.isArray(task)) {
    throw new WorkflowError('TASK_TRAIN', 'a task is {model, dataset, record}', { path: 'task', hint: 'see examples/workflows/*.yaml (the task: section)' });
  }
  const t = task as JsonObject;
  for (const k of ['model', 'dataset'] as const) {
    if (t[k] === undefined) throw new WorkflowError('TASK_TRAIN', `the task has no ${k}`, { path: `task.${k}`, hint: `add task.${k}: {class, module_path, kwargs}` });
  }
  return t;
}

/** qlib's `_log_task_info`. */
function logTaskInfo(rec: Recorder, task: JsonObject): void {
  rec.logParams(flattenParams(task));
  rec.saveObjects({ task });
  rec.setTags({ hostname: hostname() });
}

async function timed<T>(stage: TrainStage, opts: TaskTrainOptions, fn: () => T | Promise<T>): Promise<T> {
  opts.onStage?.(stage, 'start');
  const t0 = performance.now();
  const out = await fn();
  opts.onStage?.(stage, 'end', performance.now() - t0);
  throwIfAborted(opts.signal);
  return out;
}

interface Built {
  filled: JsonObject;
  model: Model;
  dataset: DatasetH;
  source: HandlerSource;
}

/**
 * Builds the model and the dataset (no data loaded yet) and checks the segments against the data,
 * before any recorder exists: a bad config (unknown class, a module not allowed, wrong kwargs,
 * segments outside the data) fails with a typed error and leaves no run behind.
 */
async function build(task: JsonObject, opts: TaskTrainOptions): Promise<Built> {
  const filled = fillPathPlaceholders(task);
  const source = providerFrom(opts.provider);
  const model: Model = await resolveModel(filled['model'], opts);
  try {
    const dataset = resolveDataset(filled['dataset'], source);
    checkSegmentsInData(dataset, source);
    return { filled, model, dataset, source };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** qlib's `_exe_task`: load, fit, save, records. */
async function executeTask(rec: Recorder, built: Built, opts: TaskTrainOptions): Promise<void> {
  const { filled, model, dataset, source } = built;
  try {
    await timed('data', opts, () => dataset.setup(opts.onDataProgress ? { onProgress: opts.onDataProgress } : {}));
    checkTrainSegment(dataset, source);
    const evalsResult: EvalsResult = {};
    await timed('fit', opts, () => model.fit(dataset, { evalsResult }));
    // The fitted processor state goes with the model: the online PredUpdater reuses it (qlib IT_LS).
    rec.saveObjects({ params: model.toJSON() as unknown as JsonValue, dataset: filled['dataset'] ?? null, [DATASET_STATE_ARTIFACT]: fittedStateJson(dataset) });
    const records = filled['record'] === undefined || filled['record'] === null ? [] : Array.isArray(filled['record']) ? filled['record'] : [filled['record']];
    const ctx = { recorder: rec, model, dataset, source };
    for (let i = 0; i < records.length; i++) {
      const r = await resolveRecord(records[i], ctx, opts, `task.record[${i}]`);
      // SignalRecord is where the model predicts; the later records read its artifacts.
      const isSignal = r.constructor.name === 'SignalRecord';
      await timed(isSignal ? 'predict' : 'records', opts, () => r.generate());
    }
  } finally {
    model.dispose();
  }
}

function refOf(rec: Recorder, experimentName: string): RecorderRef {
  return { experimentId: rec.experimentId, experimentName, recorderId: rec.id, mlruns: getStore(optsUri(undefined)).root };
}

function optsUri(mlruns: string | undefined): { uri?: string } {
  return mlruns === undefined ? {} : { uri: mlruns };
}

/** qlib's `task_train`: the whole flow in one recorder. */
export async function taskTrain(task: unknown, opts: TaskTrainOptions): Promise<RecorderRef> {
  const t = asTask(task);
  if (typeof opts.experimentName !== 'string' || !opts.experimentName) throw new WorkflowError('TASK_TRAIN', 'experimentName is required', { path: 'experimentName', hint: 'e.g. workflow' });
  const built = await build(t, opts);
  return R.start({ ...optsUri(opts.mlruns), experimentName: opts.experimentName, ...(opts.recorderName ? { recorderName: opts.recorderName } : {}), ...(opts.tags ? { tags: opts.tags } : {}) }, async (rec) => {
    logTaskInfo(rec, t);
    await executeTask(rec, built, opts);
    throwIfAborted(opts.signal);
    return { ...refOf(rec, opts.experimentName), mlruns: getStore(optsUri(opts.mlruns)).root };
  });
}

/** qlib's `begin_task_train`: only logs the task; the recorder ends FINISHED with no model yet. */
export async function beginTaskTrain(task: unknown, opts: TaskTrainOptions): Promise<RecorderRef> {
  const t = asTask(task);
  return R.start({ ...optsUri(opts.mlruns), experimentName: opts.experimentName, ...(opts.recorderName ? { recorderName: opts.recorderName } : {}), ...(opts.tags ? { tags: opts.tags } : {}) }, (rec) => {
    logTaskInfo(rec, t);
    return { ...refOf(rec, opts.experimentName), mlruns: getStore(optsUri(opts.mlruns)).root };
  });
}

/**
 * qlib's `end_task_train`: loads the `task` artifact of a begun recorder and runs the training in
 * that same recorder. It is reopened RUNNING and ends FINISHED (FAILED on error).
 */
export async function endTaskTrain(ref: RecorderRef, opts: Omit<TaskTrainOptions, 'experimentName'> & { experimentName?: string }): Promise<RecorderRef> {
  const store = getStore({ uri: opts.mlruns ?? ref.mlruns });
  const rec = store.getRecorder({ recorderId: ref.recorderId, experimentId: ref.experimentId });
  const task = asTask(rec.loadObject('task'));
  const full = { ...opts, experimentName: ref.experimentName };
  const built = await build(task, full);
  reopenRun(rec);
  try {
    await executeTask(rec, built, full);
  } catch (e) {
    rec.end('FAILED');
    throw e;
  }
  rec.end('FINISHED');
  return ref;
}

/** qlib's `R.start(recorder_id=…, resume=True)`: the run is RUNNING again and ended FAILED if this process dies. */
function reopenRun(rec: Recorder): void {
  const m = readRunMeta(rec.runDir, rec.id, rec.experimentId);
  writeRunMeta(rec.runDir, { ...m, status: 'RUNNING', endTime: null });
  rec.markOpen();
}

/** Every segment must overlap the data's calendar (qlib silently trained/predicted on nothing). */
function checkSegmentsInData(ds: DatasetH, source: HandlerSource): void {
  const cal = source.calendarDays();
  const first = cal[0];
  const last = cal[cal.length - 1];
  if (first === undefined || last === undefined) throw new WorkflowError('WORKFLOW_SEGMENT', 'the data has an empty calendar', { path: 'qlib_init.provider_uri', hint: 'import data first (qtask data import-csv)' });
  if (!ds.segments['train']) throw new WorkflowError('WORKFLOW_SEGMENT', 'the dataset has no train segment', { path: 'task.dataset.kwargs.segments.train', hint: 'add train: [start, end]' });
  for (const [name, [a, b]] of Object.entries(ds.segments)) {
    const lo = a ?? first;
    const hi = b ?? last;
    if (hi < first || lo > last || !cal.some((d) => d >= lo && d <= hi)) {
      throw new WorkflowError('WORKFLOW_SEGMENT', `segment ${name} [${a}, ${b}] has no trading day in the data (${first} … ${last})`, {
        path: `task.dataset.kwargs.segments.${name}`,
        hint: `move it inside ${first} … ${last}`,
      });
    }
  }
}

/** A train segment whose learn view has no rows would fit nothing: a typed error instead. */
function checkTrainSegment(ds: DatasetH, _source: HandlerSource): void {
  const rows = ds.prepare('train', { colSet: 'label', dataKey: 'learn' }).dates.length;
  if (rows === 0) {
    const [a, b] = ds.segments['train']!;
    throw new WorkflowError('WORKFLOW_SEGMENT', `the train segment [${a}, ${b}] has no rows with a label after processing`, {
      path: 'task.dataset.kwargs.segments.train',
      hint: 'widen the train segment or check the handler start_time/end_time cover it',
    });
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new WorkflowError('TASK_TRAIN', `training stopped: ${String(signal.reason instanceof Error ? signal.reason.message : signal.reason)}`, { path: 'task', hint: 'the task was taken over or returned; its recorder ends FAILED' });
  }
}
