import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, knownModelClasses, lgbToXgbConfig, resolveModelClass } from '../../src/model/registry.ts';
import { LinearModel } from '../../src/model/linear.ts';
import { XGBModel } from '../../src/model/xgboost/model.ts';
import { ModelError } from '../../src/model/errors.ts';

function err(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ModelError, String(e));
    return e;
  }
  throw new Error('expected an error');
}

test('qlib class/module_path pairs resolve to the built-ins; module_path may be omitted or qtask', () => {
  const lin = createModel({ class: 'LinearModel', module_path: 'qlib.contrib.model.linear', kwargs: { estimator: 'ridge', alpha: 1 } });
  assert.ok(lin instanceof LinearModel);
  assert.equal((lin as LinearModel).estimator, 'ridge');
  assert.ok(createModel({ class: 'LinearModel' }) instanceof LinearModel);
  assert.ok(createModel({ class: 'LinearModel', module_path: 'qtask', kwargs: {} }) instanceof LinearModel);
  const xgb = createModel({ class: 'XGBModel', module_path: 'qlib.contrib.model.xgboost', kwargs: { eta: 0.1, max_depth: 8 } });
  assert.ok(xgb instanceof XGBModel);
  assert.deepEqual((xgb as XGBModel).params.params.slice(0, 3), [['tree_method', 'hist'], ['eta', '0.1'], ['max_depth', '8']]);
  assert.deepEqual(knownModelClasses(), ['LinearModel', 'XGBModel']);
  assert.equal(resolveModelClass('XGBModel', undefined).className, 'XGBModel');
});

test('qlib\'s benchmark XGBoost kwargs are accepted (n_estimators passes through to XGBoost, as under qlib)', () => {
  const m = createModel({
    class: 'XGBModel',
    module_path: 'qlib.contrib.model.xgboost',
    kwargs: { eval_metric: 'rmse', colsample_bytree: 0.8879, eta: 0.0421, max_depth: 8, n_estimators: 647, subsample: 0.8789, alpha: 205.6999, lambda: 580.9768, nthread: 20 },
  }) as XGBModel;
  assert.deepEqual(m.params.evalMetrics, ['rmse']);
  assert.ok(m.params.params.some(([k, v]) => k === 'n_estimators' && v === '647'));
  assert.equal(m.params.controls.numBoostRound, 1000);
  assert.equal(m.params.controls.earlyStoppingRounds, 50);
});

test('LGBModel → MODEL_UNSUPPORTED whose hint is the XGBModel config with mapped kwargs', () => {
  const e = err(() =>
    createModel({
      class: 'LGBModel',
      module_path: 'qlib.contrib.model.gbdt',
      kwargs: { loss: 'mse', colsample_bytree: 0.8879, learning_rate: 0.2, subsample: 0.8789, lambda_l1: 205.6999, lambda_l2: 580.9768, max_depth: 8, num_leaves: 210, num_threads: 20 },
    }, 'task.model'),
  );
  assert.equal(e.code, 'MODEL_UNSUPPORTED');
  assert.equal(e.path, 'task.model.class');
  assert.match(e.message, /LightGBM/);
  const suggested = JSON.parse(e.hint!.replace(/^use /, '')) as { class: string; kwargs: Record<string, unknown> };
  assert.equal(suggested.class, 'XGBModel');
  assert.deepEqual(suggested.kwargs, {
    objective: 'reg:squarederror', colsample_bytree: 0.8879, eta: 0.2, subsample: 0.8789, alpha: 205.6999, lambda: 580.9768, max_depth: 8, max_leaves: 210, nthread: 20, grow_policy: 'lossguide',
  });
  // the suggestion is a valid XGBModel config
  assert.ok(createModel(suggested) instanceof XGBModel);
  assert.deepEqual(lgbToXgbConfig({ min_data_in_leaf: 20, bagging_freq: 1 }).dropped, ['min_data_in_leaf', 'bagging_freq']);
  assert.equal(err(() => createModel({ class: 'LGBModel' })).code, 'MODEL_UNSUPPORTED');
  assert.equal(err(() => resolveModelClass('LGBModel', 'qlib.contrib.model.gbdt')).code, 'MODEL_UNSUPPORTED');
});

test('unknown classes and module paths list the known ones; kwargs errors carry the config path', () => {
  const e = err(() => createModel({ class: 'CatBoostModel', module_path: 'qlib.contrib.model.catboost_model' }, 'task.model'));
  assert.equal(e.code, 'MODEL_CLASS_UNKNOWN');
  assert.equal(e.path, 'task.model.class');
  assert.match(e.hint!, /LinearModel, XGBModel/);
  const near = err(() => createModel({ class: 'linearmodel' }));
  assert.match(near.hint!, /did you mean LinearModel/);
  const mod = err(() => createModel({ class: 'LinearModel', module_path: 'my.models' }, 'task.model'));
  assert.equal(mod.path, 'task.model.module_path');
  assert.equal(err(() => createModel('LinearModel')).code, 'MODEL_CLASS_UNKNOWN');
  assert.equal(err(() => createModel({})).path, 'model.class');
  const kw = err(() => createModel({ class: 'LinearModel', kwargs: { alpha: 'x', estimator: 'ridge' } }, 'task.model'));
  assert.equal(kw.code, 'MODEL_KWARGS');
  assert.equal(kw.toLine(), 'MODEL_KWARGS: task.model.kwargs.alpha: expected a number, got "x" (hint: e.g. alpha: 0)');
  assert.equal(err(() => createModel({ class: 'LinearModel', kwargs: [1] })).path, 'model.kwargs');
  assert.equal(err(() => createModel({ class: 'XGBModel', kwargs: { max_depth: '8' } }, 'task.model')).path, 'task.model.kwargs.max_depth');
});
