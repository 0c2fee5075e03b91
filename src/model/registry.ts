/**
 * Model classes by qlib `class` / `module_path`: `{class: LinearModel, module_path:
 * qlib.contrib.model.linear, kwargs: {…}}` builds qtask's LinearModel. `module_path` may be omitted
 * or `qtask`. LightGBM configs (`LGBModel`, qlib.contrib.model.gbdt) fail with MODEL_UNSUPPORTED and
 * the equivalent XGBModel config; other classes with MODEL_CLASS_UNKNOWN listing the known ones.
 * Users add their own classes with `registerModel`.
 */
import { ModelError } from './errors.ts';
import { LinearModel } from './linear.ts';
import { XGBModel } from './xgboost/model.ts';
import { readManifest } from './fileio.ts';
import { join } from 'node:path';
import type { Model, ModelManifest } from './types.ts';

export interface ModelClass {
  className: string;
  /** qlib module paths under which configs name this class. */
  modulePaths: readonly string[];
  /** Builds an unfitted model; kwargs errors use `path` (e.g. `task.model.kwargs`). */
  create(kwargs: Record<string, unknown>, path: string): Model;
  /** Rebuilds a fitted model from its manifest (`dir` holds any side files). */
  fromManifest(manifest: ModelManifest, dir: string | null, where: string): Model;
}

const registry = new Map<string, ModelClass>();

export function registerModel(entry: ModelClass): void {
  registry.set(entry.className, entry);
}

registerModel({
  className: 'LinearModel',
  modulePaths: [LinearModel.modulePath],
  create: (kwargs, path) => new LinearModel(kwargs, path),
  fromManifest: (manifest, _dir, where) => LinearModel.fromJSON(manifest, where),
});
registerModel({
  className: 'XGBModel',
  modulePaths: [XGBModel.modulePath],
  create: (kwargs, path) => new XGBModel(kwargs, path),
  fromManifest: (manifest, dir, where) => XGBModel.fromJSON(manifest, dir, where),
});

export function knownModelClasses(): string[] {
  return [...registry.keys()];
}

/** The registered class for a config's `class` / `module_path` (path = the config's location, e.g. `task.model`). */
export function resolveModelClass(className: unknown, modulePath: unknown, path = 'model'): ModelClass {
  const known = knownModelClasses();
  if (typeof className !== 'string' || className.length === 0) {
    throw new ModelError('MODEL_CLASS_UNKNOWN', 'a model config needs a class name', { path: `${path}.class`, hint: `known models: ${known.join(', ')}` });
  }
  const entry = registry.get(className);
  if (!entry) {
    if (className === 'LGBModel' || modulePath === 'qlib.contrib.model.gbdt') {
      throw new ModelError('MODEL_UNSUPPORTED', `${className} (LightGBM) is not available in qtask`, { path: `${path}.class`, hint: 'use class: XGBModel, module_path: qlib.contrib.model.xgboost (see lgbToXgbConfig for the kwargs mapping)' });
    }
    const near = known.find((k) => k.toLowerCase() === className.toLowerCase());
    throw new ModelError('MODEL_CLASS_UNKNOWN', `unknown model class ${JSON.stringify(className)}`, { path: `${path}.class`, hint: `${near ? `did you mean ${near}? ` : ''}known models: ${known.join(', ')}` });
  }
  if (modulePath !== undefined && modulePath !== null && modulePath !== 'qtask' && !entry.modulePaths.includes(modulePath as string)) {
    throw new ModelError('MODEL_CLASS_UNKNOWN', `${className} from module ${JSON.stringify(modulePath)} is not known`, { path: `${path}.module_path`, hint: `qtask provides ${className} as ${entry.modulePaths.join(' or ')} (or omit module_path)` });
  }
  return entry;
}

/**
 * A model from a task config's `model` section (`{class, module_path, kwargs}`). LGBModel configs
 * throw MODEL_UNSUPPORTED whose hint carries the mapped XGBModel kwargs.
 */
export function createModel(spec: unknown, path = 'model'): Model {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new ModelError('MODEL_CLASS_UNKNOWN', 'a model config is {class, module_path, kwargs}', { path, hint: `e.g. {class: LinearModel, module_path: qlib.contrib.model.linear, kwargs: {estimator: ols}}` });
  }
  const s = spec as Record<string, unknown>;
  const cls = s['class'];
  const kwargs = s['kwargs'] ?? {};
  if (cls === 'LGBModel' || s['module_path'] === 'qlib.contrib.model.gbdt') {
    const mapped = kwargs !== null && typeof kwargs === 'object' && !Array.isArray(kwargs) ? lgbToXgbConfig(kwargs as Record<string, unknown>) : null;
    throw new ModelError('MODEL_UNSUPPORTED', `${String(cls)} (LightGBM) is not available in qtask; XGBModel trains the same kind of model`, {
      path: `${path}.class`,
      hint: `use ${JSON.stringify({ class: 'XGBModel', module_path: 'qlib.contrib.model.xgboost', kwargs: mapped?.kwargs ?? {} })}${mapped && mapped.dropped.length ? ` (no XGBoost equivalent, dropped: ${mapped.dropped.join(', ')})` : ''}`,
    });
  }
  const entry = resolveModelClass(cls, s['module_path'], path);
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
    throw new ModelError('MODEL_KWARGS', `${entry.className} kwargs must be a mapping`, { path: `${path}.kwargs`, hint: 'e.g. kwargs: {}' });
  }
  return entry.create(kwargs as Record<string, unknown>, `${path}.kwargs`);
}

/** Loads any registered model saved with `save(dir)`, by the class named in `dir/model.json`. */
export function loadModel(dir: string): Model {
  const where = join(dir, 'model.json');
  const manifest = readManifest(dir);
  const entry = registry.get(manifest.class);
  if (!entry) throw new ModelError('MODEL_FILE', `the saved model is a ${manifest.class}, which is not registered`, { path: `${where}.class`, hint: `known models: ${knownModelClasses().join(', ')}` });
  return entry.fromManifest(manifest, dir, where);
}

const LGB_TO_XGB: Record<string, string> = {
  learning_rate: 'eta', eta: 'eta', shrinkage_rate: 'eta',
  num_leaves: 'max_leaves', max_leaves: 'max_leaves',
  lambda_l1: 'alpha', reg_alpha: 'alpha', l1_regularization: 'alpha',
  lambda_l2: 'lambda', reg_lambda: 'lambda', l2_regularization: 'lambda',
  colsample_bytree: 'colsample_bytree', feature_fraction: 'colsample_bytree',
  subsample: 'subsample', bagging_fraction: 'subsample',
  max_depth: 'max_depth', num_threads: 'nthread', n_jobs: 'nthread', nthread: 'nthread',
  min_child_weight: 'min_child_weight', min_sum_hessian_in_leaf: 'min_child_weight',
  min_split_gain: 'gamma', seed: 'seed', random_state: 'seed', max_bin: 'max_bin',
  num_boost_round: 'num_boost_round', early_stopping_rounds: 'early_stopping_rounds',
};

/** LightGBM (qlib LGBModel) kwargs → XGBModel kwargs, with the names that have no counterpart. */
export function lgbToXgbConfig(kwargs: Record<string, unknown>): { kwargs: Record<string, unknown>; dropped: string[] } {
  const out: Record<string, unknown> = {};
  const dropped: string[] = [];
  for (const [k, v] of Object.entries(kwargs)) {
    if (k === 'loss') {
      if (v === 'mse') out['objective'] = 'reg:squarederror';
      else if (v === 'binary') out['objective'] = 'binary:logistic';
      else dropped.push(k);
      continue;
    }
    const target = LGB_TO_XGB[k];
    if (target) out[target] = v;
    else dropped.push(k);
  }
  // LightGBM grows leaf-wise; XGBoost's max_leaves only applies with the loss-guided policy.
  if ('max_leaves' in out) out['grow_policy'] = 'lossguide';
  return { kwargs: out, dropped };
}
