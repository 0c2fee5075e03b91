/**
 * qlib's `XGBModel` (qlib.contrib.model.xgboost) on XGBoost's C library. Trains on the train
 * segment's learn view with the valid segment as the early-stopping set (XGBoost's rule: stop when
 * the last metric on the last eval set has not improved for `early_stopping_rounds` rounds), keeps
 * the best iteration and predicts with trees up to it. NaN features are XGBoost's missing values;
 * rows with a NaN label are dropped (XGBoost rejects NaN labels).
 */
import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Panel } from '../../data/types.ts';
import { ModelError } from '../errors.ts';
import { checkFeatures, featureNames, predictionPanel, splitLearnPanel, type DesignPart } from '../design.ts';
import { asKwargs } from '../kwargs.ts';
import { readManifest, writeAtomic, writeManifest } from '../fileio.ts';
import { notFitted } from '../linear.ts';
import type { EvalsResult, FitOptions, Model, ModelDataset, ModelManifest, PredictionPanel, SegmentRange } from '../types.ts';
import { call, createDMatrix, freeDMatrix, readBytes, readFloats, xgboostLib, type NativeHandle, type XGBoostLib } from './native.ts';
import { maximizes, parseFitControls, parseXGBKwargs, type FitControls, type XGBParams } from './params.ts';

export const XGBOOST_MODEL_FILE = 'xgboost_model.json';

export interface XGBFitOptions extends FitOptions {
  /** Overrides kwargs' `num_boost_round` (default 1000). */
  num_boost_round?: number;
  /** Overrides kwargs' `early_stopping_rounds` (default 50; null = off). */
  early_stopping_rounds?: number | null;
  /** Overrides kwargs' `verbose_eval` (default 20). */
  verbose_eval?: number | boolean;
  /** Receives the eval line every `verbose_eval` rounds. Default: none (no output). */
  log?: (line: string) => void;
}

export interface XGBFitInfo {
  trainRows: number;
  validRows: number;
  droppedNaNLabelRows: number;
  roundsTrained: number;
  /** 0-based best round on valid; null when there is no valid set or no early stopping. */
  bestIteration: number | null;
  bestScore: number | null;
  stoppedEarly: boolean;
  ms: number;
}

// Boosters not disposed explicitly are freed when their model is collected.
const boosterRegistry = new FinalizationRegistry<{ lib: XGBoostLib; handle: NativeHandle }>(({ lib, handle }) => {
  lib.fns['XGBoosterFree']!(handle);
});

export class XGBModel implements Model {
  readonly className = 'XGBModel';
  static readonly modulePath = 'qlib.contrib.model.xgboost';
  readonly params: XGBParams;
  bestIteration: number | null = null;
  bestScore: number | null = null;
  featureNames: string[] = [];
  fitInfo: XGBFitInfo | null = null;
  private readonly kwargs: Record<string, unknown>;
  private booster: NativeHandle | null = null;
  private lib: XGBoostLib | null = null;
  private readonly token = {};

  /** Validates kwargs (paths under `path`, default `model.kwargs`); loads libxgboost (XGBOOST_MISSING when absent). */
  constructor(kwargs: Record<string, unknown> = {}, path = 'model.kwargs') {
    const kw = asKwargs(kwargs, path, 'XGBModel');
    this.params = parseXGBKwargs(kw, path);
    this.kwargs = { ...kw };
    this.lib = xgboostLib();
  }

  get fitted(): boolean {
    return this.booster !== null;
  }

  fit(dataset: ModelDataset, options: XGBFitOptions = {}): this {
    const t0 = performance.now();
    const lib = this.native();
    const controls = parseFitControls(options as Record<string, unknown>, 'fit', this.params.controls);
    const trainPanel = dataset.prepare('train', { colSet: ['feature', 'label'], dataKey: 'learn' });
    const hasValid = 'valid' in dataset.segments;
    const validPanel = hasValid ? dataset.prepare('valid', { colSet: ['feature', 'label'], dataKey: 'learn' }) : null;
    const names = featureNames(trainPanel);
    const train = splitLearnPanel(trainPanel, 'train', 'dataset.kwargs.segments.train');
    const valid = validPanel ? splitLearnPanel(validPanel, 'valid', 'dataset.kwargs.segments.valid') : null;
    if (validPanel && featureNames(validPanel).join('\u0000') !== names.join('\u0000')) {
      throw new ModelError('MODEL_FEATURES_MISMATCH', 'the valid segment\'s features differ from train\'s', { path: 'dataset.kwargs.segments.valid', hint: 'train and valid come from one handler' });
    }
    const trainData = toFloat32(train);
    if (trainData.rows === 0) {
      throw new ModelError('MODEL_EMPTY_TRAIN', `no training rows: the train segment has ${train.rows} rows${train.rows > 0 ? ', all with a NaN label' : ''}`, {
        path: 'dataset.kwargs.segments.train',
        hint: train.rows === 0 ? 'check the train dates against the data and the handler\'s start_time/end_time' : 'check the label expression (and DropnaLabel in learn_processors)',
      });
    }
    const validData = valid ? toFloat32(valid) : null;
    if (valid && validData!.rows === 0) {
      throw new ModelError('MODEL_EMPTY_VALID', `the valid segment has no rows with a label (${valid.rows} rows)`, {
        path: 'dataset.kwargs.segments.valid',
        hint: 'fix the valid dates, or remove the valid segment to train without early stopping',
      });
    }
    let dtrain: NativeHandle | null = null;
    let dvalid: NativeHandle | null = null;
    let booster: NativeHandle | null = null;
    const nthread = this.params.nthread;
    try {
      dtrain = createDMatrix(lib, trainData.x, trainData.rows, names.length, trainData.y, nthread);
      if (validData) dvalid = createDMatrix(lib, validData.x, validData.rows, names.length, validData.y, nthread);
      const mats = dvalid ? [dtrain, dvalid] : [dtrain];
      const out: unknown[] = [null];
      call(lib, 'XGBoosterCreate', mats, mats.length, out);
      booster = out[0] as NativeHandle;
      for (const [k, v] of this.params.params) call(lib, 'XGBoosterSetParam', booster, k, v);
      const result = this.boost(lib, booster, dtrain, dvalid, controls, options);
      if (options.evalsResult) {
        for (const key of Object.keys(options.evalsResult)) delete options.evalsResult[key];
        Object.assign(options.evalsResult, result.evals);
      }
      this.bestIteration = result.bestIteration;
      this.bestScore = result.bestScore;
      if (result.bestIteration !== null) {
        call(lib, 'XGBoosterSetAttr', booster, 'best_iteration', String(result.bestIteration));
        call(lib, 'XGBoosterSetAttr', booster, 'best_score', String(result.bestScore));
      }
      this.setBooster(booster);
      booster = null;
      this.featureNames = names;
      this.fitInfo = {
        trainRows: trainData.rows,
        validRows: validData?.rows ?? 0,
        droppedNaNLabelRows: train.rows - trainData.rows + (valid ? valid.rows - validData!.rows : 0),
        roundsTrained: result.rounds,
        bestIteration: result.bestIteration,
        bestScore: result.bestScore,
        stoppedEarly: result.rounds < controls.numBoostRound,
        ms: performance.now() - t0,
      };
    } finally {
      if (booster) lib.fns['XGBoosterFree']!(booster);
      freeDMatrix(lib, dvalid);
      freeDMatrix(lib, dtrain);
    }
    return this;
  }

  private boost(lib: XGBoostLib, booster: NativeHandle, dtrain: NativeHandle, dvalid: NativeHandle | null, controls: FitControls, options: XGBFitOptions) {
    const mats = dvalid ? [dtrain, dvalid] : [dtrain];
    const names = dvalid ? ['train', 'valid'] : ['train'];
    const perSet: Record<string, Record<string, number[]>> = {};
    let best: { iter: number; score: number } | null = null;
    let rounds = 0;
    for (let it = 0; it < controls.numBoostRound; it++) {
      call(lib, 'XGBoosterUpdateOneIter', booster, it, dtrain);
      rounds = it + 1;
      const line: unknown[] = [null];
      call(lib, 'XGBoosterEvalOneIter', booster, it, mats, names, mats.length, line);
      const text = String(line[0]);
      let last: { metric: string; value: number } | null = null;
      for (const tok of text.split('\t').slice(1)) {
        const colon = tok.lastIndexOf(':');
        const key = tok.slice(0, colon);
        const dash = key.indexOf('-');
        const set = key.slice(0, dash);
        const metric = key.slice(dash + 1);
        const value = Number(tok.slice(colon + 1));
        ((perSet[set] ??= {})[metric] ??= []).push(value);
        if (set === names[names.length - 1]) last = { metric, value };
      }
      if (options.log && controls.verboseEval > 0 && (it % controls.verboseEval === 0 || it === controls.numBoostRound - 1)) options.log(text);
      if (dvalid && controls.earlyStoppingRounds !== null && last) {
        const better = best === null || (maximizes(last.metric) ? last.value > best.score : last.value < best.score);
        if (better) best = { iter: it, score: last.value };
        else if (it - best!.iter >= controls.earlyStoppingRounds) {
          options.log?.(`Stopping. Best iteration:\n${best!.iter}`);
          break;
        }
      }
    }
    // qlib keeps the first metric's curve per eval set: evals_result["train"] = list(...values())[0].
    const evals: EvalsResult = {};
    for (const set of names) {
      const curves = perSet[set];
      const first = curves ? Object.values(curves)[0] : undefined;
      if (first) evals[set] = first;
    }
    return { evals, rounds, bestIteration: best ? best.iter : null, bestScore: best ? best.score : null };
  }

  predict(dataset: ModelDataset, segment: string | SegmentRange = 'test'): PredictionPanel {
    const booster = this.booster;
    if (booster === null) throw notFitted('XGBModel');
    const lib = this.native();
    const panel: Panel = typeof segment === 'string' ? dataset.prepare(segment, { colSet: 'feature', dataKey: 'infer' }) : dataset.prepare(segment, { colSet: 'feature', dataKey: 'infer' });
    const cols = checkFeatures(this.featureNames, panel, typeof segment === 'string' ? `dataset.kwargs.segments.${segment}` : 'segment');
    const rows = panel.dates.length;
    if (rows === 0) return predictionPanel(panel, new Float64Array(0));
    const x = new Float32Array(rows * cols.length);
    cols.forEach((col, c) => {
      const p = cols.length;
      for (let r = 0; r < rows; r++) x[r * p + c] = col[r] as number;
    });
    return predictionPanel(panel, this.predictMatrix(lib, booster, x, rows, cols.length));
  }

  /** Scores for a float32 row-major matrix (NaN = missing), using trees up to the best iteration. */
  private predictMatrix(lib: XGBoostLib, booster: NativeHandle, x: Float32Array, rows: number, ncol: number): Float64Array {
    let dm: NativeHandle | null = null;
    try {
      dm = createDMatrix(lib, x, rows, ncol, null, this.params.nthread);
      const config = JSON.stringify({ type: 0, training: false, iteration_begin: 0, iteration_end: this.bestIteration === null ? 0 : this.bestIteration + 1, strict_shape: false });
      const shape: unknown[] = [null];
      const dim = [0];
      const res: unknown[] = [null];
      call(lib, 'XGBoosterPredictFromDMatrix', booster, dm, config, shape, dim, res);
      return Float64Array.from(readFloats(lib, res[0], rows));
    } finally {
      freeDMatrix(lib, dm);
    }
  }

  /** XGBoost's own JSON model (what `XGBoosterSaveModel` writes to a `.json` file). */
  xgboostModelJson(): Uint8Array {
    if (this.booster === null) throw notFitted('XGBModel');
    const lib = this.native();
    const len = [0];
    const ptr: unknown[] = [null];
    call(lib, 'XGBoosterSaveModelToBuffer', this.booster, JSON.stringify({ format: 'json' }), len, ptr);
    return readBytes(lib, ptr[0], Number(len[0]));
  }

  private manifest(state: Record<string, unknown>): ModelManifest {
    return {
      format: 'qtask-model',
      version: 1,
      class: this.className,
      module_path: XGBModel.modulePath,
      kwargs: { ...this.kwargs },
      feature_names: [...this.featureNames],
      state: { best_iteration: this.bestIteration, best_score: this.bestScore, xgboost_version: this.native().version, ...state },
    };
  }

  /**
   * The manifest with XGBoost's JSON model embedded as text under `state.xgboost_json` (text, not a
   * parsed object: XGBoost's parser tells `1.0` from `1`, which a JSON.parse round trip loses).
   */
  toJSON(): ModelManifest {
    return this.manifest({ xgboost_json: new TextDecoder().decode(this.xgboostModelJson()) });
  }

  /** Writes `dir/xgboost_model.json` (XGBoost's format) and `dir/model.json` (manifest), each atomically. */
  save(dir: string): void {
    const bytes = this.xgboostModelJson();
    mkdirSync(dir, { recursive: true });
    // Tree file first: a manifest only ever references a complete file.
    writeAtomic(join(dir, XGBOOST_MODEL_FILE), bytes);
    writeManifest(dir, this.manifest({ xgboost_model: XGBOOST_MODEL_FILE }));
  }

  dispose(): void {
    this.freeBooster();
  }

  static fromJSON(manifest: ModelManifest, dir: string | null = null, where = 'model.json'): XGBModel {
    if (manifest.class !== 'XGBModel') {
      throw new ModelError('MODEL_FILE', `the file holds a ${manifest.class}, not an XGBModel`, { path: where, hint: 'load it with loadModel(dir)' });
    }
    const model = new XGBModel(manifest.kwargs, `${where}.kwargs`);
    const lib = model.native();
    let bytes: Uint8Array;
    const embedded = manifest.state['xgboost_json'];
    const file = manifest.state['xgboost_model'];
    if (typeof embedded === 'string') bytes = new TextEncoder().encode(embedded);
    else if (typeof file === 'string' && dir !== null && existsSync(join(dir, file))) bytes = readFileSync(join(dir, file));
    else throw new ModelError('MODEL_FILE', 'the XGBoost model file is missing', { path: `${where}.state.xgboost_model`, hint: `expected ${dir ? join(dir, String(file)) : 'state.xgboost_json'}` });
    const best = manifest.state['best_iteration'];
    if (best !== null && best !== undefined && !(typeof best === 'number' && Number.isInteger(best) && best >= 0)) {
      throw new ModelError('MODEL_FILE', 'state.best_iteration must be a non-negative integer or null', { path: `${where}.state.best_iteration`, hint: 'the file is damaged; save the model again' });
    }
    const out: unknown[] = [null];
    call(lib, 'XGBoosterCreate', [], 0, out);
    const booster = out[0] as NativeHandle;
    try {
      call(lib, 'XGBoosterLoadModelFromBuffer', booster, bytes, bytes.length);
    } catch (e) {
      lib.fns['XGBoosterFree']!(booster);
      throw new ModelError('MODEL_FILE', `XGBoost could not read the model: ${(e as Error).message}`, { path: typeof file === 'string' && dir ? join(dir, file) : `${where}.state.xgboost_json`, hint: 'the file is damaged; save the model again', cause: e });
    }
    model.setBooster(booster);
    model.bestIteration = typeof best === 'number' ? best : null;
    const score = manifest.state['best_score'];
    model.bestScore = typeof score === 'number' ? score : null;
    model.featureNames = [...manifest.feature_names];
    return model;
  }

  static load(dir: string): XGBModel {
    return XGBModel.fromJSON(readManifest(dir), dir, join(dir, 'model.json'));
  }

  private native(): XGBoostLib {
    if (!this.lib) this.lib = xgboostLib();
    return this.lib;
  }

  /** Replaces the booster only once a new one is complete, so a failed fit keeps the old model. */
  private setBooster(handle: NativeHandle): void {
    this.freeBooster();
    this.booster = handle;
    boosterRegistry.register(this, { lib: this.native(), handle }, this.token);
  }

  private freeBooster(): void {
    if (this.booster === null) return;
    boosterRegistry.unregister(this.token);
    this.native().fns['XGBoosterFree']!(this.booster);
    this.booster = null;
  }
}

/** Row-major float32 features and labels of the rows whose label is not NaN. */
function toFloat32(part: DesignPart): { x: Float32Array; y: Float32Array; rows: number } {
  const label = part.label as Float64Array;
  const keep: number[] = [];
  for (let r = 0; r < part.rows; r++) if (!Number.isNaN(label[r] as number)) keep.push(r);
  const p = part.features.length;
  const x = new Float32Array(keep.length * p);
  const y = new Float32Array(keep.length);
  part.features.forEach((col, c) => {
    for (let i = 0; i < keep.length; i++) x[i * p + c] = col[keep[i] as number] as number;
  });
  for (let i = 0; i < keep.length; i++) y[i] = label[keep[i] as number] as number;
  return { x, y, rows: keep.length };
}
