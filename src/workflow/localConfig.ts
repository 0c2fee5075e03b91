/**
 * The local qtask config: settings that belong to this machine, never to a task. A task read from a
 * shared store cannot widen them — in particular it cannot make qtask import a module (`allowModules`).
 * Looked up at `$QTASK_CONFIG`, else `./qtask.config.yaml`, `./qtask.config.yml`, `./qtask.config.json`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { WorkflowError } from './errors.ts';

export const CONFIG_ENV = 'QTASK_CONFIG';
export const PROVIDER_ENV = 'QTASK_PROVIDER_URI';
export const EXPERIMENT_ENV = 'QTASK_EXPERIMENT';
const CANDIDATES = ['qtask.config.yaml', 'qtask.config.yml', 'qtask.config.json'];

export interface LocalConfig {
  /** Absolute paths of modules task configs may name in `module_path`. Default: none. */
  allowModules: string[];
  /** Data directory for tasks that do not come with a provider. Default: `$QTASK_PROVIDER_URI`. */
  providerUri?: string;
  /** mlruns location. Default: `$QTASK_MLRUNS`, else ./mlruns. */
  mlruns?: string;
  /** Experiment for `qtask:taskTrain` workers. Default: `$QTASK_EXPERIMENT`, else `workflow`. */
  experimentName?: string;
  /** File the config was read from, if any. */
  file?: string;
}

/** Reads the local config (missing file = empty config); relative paths are resolved against its directory. */
export function loadLocalConfig(opts: { file?: string; cwd?: string; env?: Record<string, string | undefined> } = {}): LocalConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit = opts.file ?? env[CONFIG_ENV];
  const file = explicit ? resolve(cwd, explicit) : CANDIDATES.map((c) => resolve(cwd, c)).find((p) => existsSync(p));
  const base: LocalConfig = { allowModules: [] };
  if (env[PROVIDER_ENV]) base.providerUri = resolve(cwd, env[PROVIDER_ENV]!);
  if (env[EXPERIMENT_ENV]) base.experimentName = env[EXPERIMENT_ENV]!;
  if (!file) return base;
  if (!existsSync(file)) throw new WorkflowError('WORKFLOW_CONFIG', `local config ${file} does not exist`, { path: CONFIG_ENV, hint: 'unset it or point it at a qtask.config.yaml' });
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new WorkflowError('WORKFLOW_CONFIG', `local config ${file} is not valid YAML/JSON: ${(e as Error).message}`, { path: file, hint: 'fix the syntax', cause: e });
  }
  if (raw === null || raw === undefined) return { ...base, file };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new WorkflowError('WORKFLOW_CONFIG', 'the local config must be a mapping', { path: file, hint: 'e.g. allowModules: [./my/models.ts]' });
  const c = raw as Record<string, unknown>;
  const dir = dirname(file);
  const out: LocalConfig = { ...base, file };
  const allow = c['allowModules'] ?? [];
  if (!Array.isArray(allow) || !allow.every((m) => typeof m === 'string' && m.length > 0)) {
    throw new WorkflowError('WORKFLOW_CONFIG', 'allowModules must be a list of module paths', { path: `${file}:allowModules`, hint: 'e.g. allowModules: [./my/models.ts]' });
  }
  out.allowModules = (allow as string[]).map((m) => resolve(dir, m));
  for (const key of ['providerUri', 'mlruns', 'experimentName'] as const) {
    const v = c[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v.length === 0) throw new WorkflowError('WORKFLOW_CONFIG', `${key} must be a non-empty string`, { path: `${file}:${key}`, hint: 'or remove it' });
    // The environment wins over the file, so one config can serve several workers.
    if (key === 'providerUri' && !env[PROVIDER_ENV]) out.providerUri = resolve(dir, v);
    if (key === 'mlruns') out.mlruns = v.startsWith('file:') ? v : resolve(dir, v);
    if (key === 'experimentName' && !env[EXPERIMENT_ENV]) out.experimentName = v;
  }
  return out;
}
