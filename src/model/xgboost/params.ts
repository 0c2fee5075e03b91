/**
 * qlib's XGBModel kwargs: everything is an XGBoost training parameter (qlib passes `**kwargs` to
 * `xgb.train` as params), except the fit controls qtask also accepts here. Known parameters are
 * type-checked with their path; unknown scalar ones are passed through, and XGBoost warns about
 * names it does not use (as it does under qlib, e.g. for `n_estimators`).
 */
import { ModelError } from '../errors.ts';
import { describe, numberArg, type Kwargs } from '../kwargs.ts';

/** Fit controls (qlib takes them as `fit()` arguments; qtask also reads them from kwargs). */
export const FIT_CONTROL_KEYS = ['num_boost_round', 'early_stopping_rounds', 'verbose_eval'] as const;

export interface FitControls {
  /** Boosting rounds. Default 1000 (qlib's fit default). */
  numBoostRound: number;
  /** Stop when the valid metric has not improved for this many rounds; 0/null = never. Default 50. */
  earlyStoppingRounds: number | null;
  /** Log every N rounds (true = 1, false = never). Default 20. */
  verboseEval: number;
}

type NumCheck = { integer?: boolean; min?: number; max?: number; gt?: number };
const NUMERIC: Record<string, NumCheck> = {
  eta: { min: 0 }, learning_rate: { min: 0 },
  max_depth: { integer: true, min: 0 }, max_leaves: { integer: true, min: 0 }, max_bin: { integer: true, min: 2 },
  min_child_weight: { min: 0 }, max_delta_step: { min: 0 }, gamma: { min: 0 }, min_split_loss: { min: 0 },
  subsample: { gt: 0, max: 1 }, colsample_bytree: { gt: 0, max: 1 }, colsample_bylevel: { gt: 0, max: 1 }, colsample_bynode: { gt: 0, max: 1 },
  lambda: { min: 0 }, reg_lambda: { min: 0 }, alpha: { min: 0 }, reg_alpha: { min: 0 },
  nthread: { integer: true, min: 0 }, n_jobs: { integer: true, min: 0 }, seed: { integer: true }, random_state: { integer: true },
  verbosity: { integer: true, min: 0, max: 3 }, num_parallel_tree: { integer: true, min: 1 }, base_score: {}, scale_pos_weight: { min: 0 },
};
const STRINGS = ['objective', 'tree_method', 'booster', 'grow_policy', 'sampling_method', 'eval_metric', 'process_type', 'updater'];

/** sklearn-API aliases qlib users write, mapped to the core parameter names. */
const ALIASES: Record<string, string> = { learning_rate: 'eta', reg_alpha: 'alpha', reg_lambda: 'lambda', n_jobs: 'nthread', random_state: 'seed' };

export interface XGBParams {
  /** Parameters in the order they are set on the booster (`eval_metric` may repeat). */
  params: Array<[string, string]>;
  /** Eval metrics asked for (empty = XGBoost's default for the objective, rmse for regression). */
  evalMetrics: string[];
  nthread: number;
  controls: FitControls;
}

export function parseXGBKwargs(kw: Kwargs, path: string): XGBParams {
  const params: Array<[string, string]> = [['tree_method', 'hist']];
  const evalMetrics: string[] = [];
  for (const [key, value] of Object.entries(kw)) {
    if ((FIT_CONTROL_KEYS as readonly string[]).includes(key)) continue;
    const p = `${path}.${key}`;
    if (key in NUMERIC) {
      const chk = NUMERIC[key]!;
      const v = numberArg(kw, key, 0, path, { ...(chk.integer ? { integer: true } : {}), ...(chk.min !== undefined ? { min: chk.min } : {}) });
      if ((chk.max !== undefined && v > chk.max) || (chk.gt !== undefined && !(v > chk.gt))) {
        throw new ModelError('MODEL_KWARGS', `must be in ${chk.gt !== undefined ? `(${chk.gt}` : `[${chk.min ?? '-inf'}`}, ${chk.max ?? 'inf'}], got ${v}`, { path: p, hint: 'see XGBoost\'s parameter docs' });
      }
      params.push([ALIASES[key] ?? key, String(v)]);
      continue;
    }
    if (key === 'eval_metric') {
      const list = Array.isArray(value) ? value : [value];
      if (list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) {
        throw new ModelError('MODEL_KWARGS', `expected a metric name or a list of them, got ${describe(value)}`, { path: p, hint: 'e.g. eval_metric: rmse' });
      }
      for (const m of list as string[]) {
        evalMetrics.push(m);
        params.push(['eval_metric', m]);
      }
      continue;
    }
    if (STRINGS.includes(key)) {
      if (typeof value !== 'string' || value.length === 0) {
        throw new ModelError('MODEL_KWARGS', `expected a string, got ${describe(value)}`, { path: p, hint: key === 'tree_method' ? 'e.g. tree_method: hist' : 'see XGBoost\'s parameter docs' });
      }
      if (key === 'tree_method') params.splice(0, 1);
      params.push([key, value]);
      continue;
    }
    if (key === 'loss') {
      throw new ModelError('MODEL_KWARGS', 'XGBModel has no loss argument (that is LGBModel\'s)', { path: p, hint: 'use objective: reg:squarederror (XGBoost\'s default)' });
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new ModelError('MODEL_KWARGS', `XGBoost parameters are scalars, got ${describe(value)}`, { path: p, hint: 'see XGBoost\'s parameter docs' });
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ModelError('MODEL_KWARGS', `expected a finite number, got ${value}`, { path: p, hint: 'see XGBoost\'s parameter docs' });
    }
    params.push([key, String(value)]);
  }
  const nthreadEntry = params.find(([k]) => k === 'nthread');
  return { params, evalMetrics, nthread: nthreadEntry ? Number(nthreadEntry[1]) : 0, controls: parseFitControls(kw, path) };
}

export function parseFitControls(kw: Kwargs, path: string, base?: FitControls): FitControls {
  const numBoostRound = numberArg(kw, 'num_boost_round', base?.numBoostRound ?? 1000, path, { integer: true, min: 1 });
  const esr = kw['early_stopping_rounds'];
  let earlyStoppingRounds: number | null = base ? base.earlyStoppingRounds : 50;
  if (esr === null) earlyStoppingRounds = null;
  else if (esr !== undefined) earlyStoppingRounds = numberArg(kw, 'early_stopping_rounds', 50, path, { integer: true, min: 0 }) || null;
  const ve = kw['verbose_eval'];
  let verboseEval = base?.verboseEval ?? 20;
  if (typeof ve === 'boolean') verboseEval = ve ? 1 : 0;
  else if (ve !== undefined && ve !== null) verboseEval = numberArg(kw, 'verbose_eval', 20, path, { integer: true, min: 0 });
  return { numBoostRound, earlyStoppingRounds, verboseEval };
}

/** Metrics XGBoost's early stopping maximises (python-package `EarlyStopping`); the rest are minimised. */
export function maximizes(metric: string): boolean {
  return ['auc', 'aucpr', 'map', 'ndcg', 'pre'].some((m) => metric === m || metric.startsWith(`${m}@`));
}
