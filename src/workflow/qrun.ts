/**
 * qlib's `qrun` for qlib-shaped YAML: `qlib_init: {provider_uri, region}`, anchors/merge keys,
 * `task: {model, dataset, record}`, `experiment_name`, `exp_manager.uri` (top level or under
 * qlib_init). Differences from qlib: no Jinja2 templating, no BASE_CONFIG_PATH, no `sys.path` entries
 * (class resolution never imports modules a config names unless the local config allows them).
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { parse } from 'yaml';
import type { JsonObject, JsonValue } from '../task/types.ts';
import { getStore } from '../recorder/R.ts';
import { resolveMlrunsUri } from '../recorder/uri.ts';
import type { MlrunsConfig } from '../recorder/uri.ts';
import { WorkflowError } from './errors.ts';
import { loadLocalConfig } from './localConfig.ts';
import { taskTrain } from './taskTrain.ts';
import type { RecorderRef, TrainStage } from './taskTrain.ts';

export interface WorkflowConfig {
  /** The task section, as JSON (YAML dates become `YYYY-MM-DD`). */
  task: JsonObject;
  providerUri: string;
  region?: string;
  experimentName?: string;
  /** mlruns from the config's `exp_manager`, if any. */
  expManager?: MlrunsConfig;
  /** The whole parsed document. */
  raw: JsonObject;
}

function toJson(v: unknown, path: string): JsonValue {
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new WorkflowError('WORKFLOW_CONFIG', `${v} is not a usable number`, { path, hint: 'use a finite number' });
    return v;
  }
  if (v === undefined) return null;
  if (Array.isArray(v)) return v.map((x, i) => toJson(x, `${path}[${i}]`));
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toJson(x, `${path}.${k}`)]));
  throw new WorkflowError('WORKFLOW_CONFIG', `unsupported YAML value ${String(v)}`, { path, hint: 'configs hold plain data' });
}

/** Parses a workflow YAML text (anchors, aliases and `<<` merge keys resolved). */
export function parseWorkflowConfig(text: string, where = 'workflow'): WorkflowConfig {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true, maxAliasCount: -1 });
  } catch (e) {
    throw new WorkflowError('WORKFLOW_CONFIG', `${where} is not valid YAML: ${(e as Error).message}`, { path: where, hint: 'fix the YAML syntax', cause: e });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new WorkflowError('WORKFLOW_CONFIG', `${where} must be a mapping with qlib_init and task`, { path: where, hint: 'see examples/workflows/workflow_config_linear_Alpha158.yaml' });
  const raw = toJson(doc, '') as JsonObject;
  const init = raw['qlib_init'];
  if (init === null || typeof init !== 'object' || Array.isArray(init)) throw new WorkflowError('WORKFLOW_CONFIG', 'qlib_init is missing', { path: 'qlib_init', hint: 'qlib_init: {provider_uri: <imported data dir>, region: us}' });
  const providerUri = init['provider_uri'];
  if (typeof providerUri !== 'string' || !providerUri) throw new WorkflowError('WORKFLOW_CONFIG', 'qlib_init.provider_uri must be a data directory', { path: 'qlib_init.provider_uri', hint: 'import CSVs with `qtask data import-csv`, then point provider_uri at the target' });
  const task = raw['task'];
  if (task === null || typeof task !== 'object' || Array.isArray(task)) throw new WorkflowError('WORKFLOW_CONFIG', 'task is missing', { path: 'task', hint: 'task: {model, dataset, record}' });
  const em = (raw['exp_manager'] ?? init['exp_manager']) as MlrunsConfig['exp_manager'] | undefined;
  const exp = raw['experiment_name'];
  return {
    task: task as JsonObject,
    providerUri,
    ...(typeof init['region'] === 'string' ? { region: init['region'] } : {}),
    ...(typeof exp === 'string' ? { experimentName: exp } : {}),
    ...(em ? { expManager: { exp_manager: em } } : {}),
    raw,
  };
}

export interface RunWorkflowOptions {
  /** mlruns location; wins over the config's exp_manager. */
  mlruns?: string;
  /** Default: the config's experiment_name, else `workflow` (qrun's default). */
  experimentName?: string;
  onStage?: (stage: TrainStage, event: 'start' | 'end', ms?: number) => void;
  onDataProgress?: (done: number, total: number) => void;
  /** Base for relative paths. Default `process.cwd()`. */
  cwd?: string;
}

export interface WorkflowResult extends RecorderRef {
  metrics: Record<string, number>;
  /** Wall time per stage, ms. */
  stages: Partial<Record<TrainStage, number>>;
  totalMs: number;
}

/** Runs a workflow YAML file end to end (qlib's `qrun config.yaml`). */
export async function runWorkflowFile(file: string, opts: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  const cwd = opts.cwd ?? process.cwd();
  let text: string;
  try {
    text = readFileSync(resolvePath(cwd, file), 'utf8');
  } catch (e) {
    throw new WorkflowError('WORKFLOW_CONFIG', `cannot read ${file}: ${(e as Error).message}`, { path: file, hint: 'give the path of a workflow YAML', cause: e });
  }
  return runWorkflow(parseWorkflowConfig(text, file), opts);
}

export async function runWorkflow(config: WorkflowConfig, opts: RunWorkflowOptions = {}): Promise<WorkflowResult> {
  const cwd = opts.cwd ?? process.cwd();
  const local = loadLocalConfig({ cwd });
  const mlruns = resolveMlrunsUri({
    ...(opts.mlruns !== undefined ? { uri: opts.mlruns } : local.mlruns !== undefined && !config.expManager ? { uri: local.mlruns } : {}),
    ...(config.expManager ? { config: config.expManager } : {}),
    cwd,
  });
  const stages: Partial<Record<TrainStage, number>> = {};
  const t0 = performance.now();
  const providerUri = config.providerUri.startsWith('~/') ? `${process.env.HOME ?? ''}${config.providerUri.slice(1)}` : resolvePath(cwd, config.providerUri);
  const ref = await taskTrain(config.task, {
    experimentName: opts.experimentName ?? config.experimentName ?? 'workflow',
    mlruns,
    provider: providerUri,
    allowModules: local.allowModules,
    cwd,
    onStage: (stage, event, ms) => {
      if (event === 'end' && ms !== undefined) stages[stage] = (stages[stage] ?? 0) + ms;
      opts.onStage?.(stage, event, ms);
    },
    ...(opts.onDataProgress ? { onDataProgress: opts.onDataProgress } : {}),
  });
  const rec = getStore({ uri: mlruns }).getRecorder({ recorderId: ref.recorderId, experimentId: ref.experimentId });
  return { ...ref, metrics: rec.listMetrics(), stages, totalMs: performance.now() - t0 };
}
