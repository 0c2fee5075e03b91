/**
 * qlib's `LinearModel` (qlib.contrib.model.linear): ols / ridge / lasso / nnls on the train segment's
 * learn view (plus valid with `include_valid`), rows with any NaN feature or label dropped (qlib's
 * `df.dropna()`). All estimators work from one Gram matrix of [X, y] (see gram.ts), so the row count
 * only affects that one pass.
 */
import { join } from 'node:path';
import { ModelError } from './errors.ts';
import { checkFeatures, featureNames, predictionPanel, splitLearnPanel, type DesignPart } from './design.ts';
import { gramMatrix, type GramKernel, type GramPart } from './gram.ts';
import { choleskySolve, lassoGram, nnlsGram, pinvSolve } from './linalg.ts';
import { asKwargs, boolArg, enumArg, numberArg, rejectUnknown } from './kwargs.ts';
import { readManifest, writeManifest } from './fileio.ts';
import type { FitOptions, Model, ModelDataset, ModelManifest, PredictionPanel, SegmentRange } from './types.ts';

export const LINEAR_ESTIMATORS = ['ols', 'ridge', 'lasso', 'nnls'] as const;
export type LinearEstimator = (typeof LINEAR_ESTIMATORS)[number];

export interface LinearModelKwargs {
  /** `ols` (default), `ridge`, `lasso` or `nnls`. */
  estimator?: LinearEstimator;
  /** Regularisation strength (sklearn's `alpha`); must be 0 (default) unless ridge or lasso. */
  alpha?: number;
  /** Fit an unpenalised intercept (nnls: a column of ones, constrained ≥ 0, as qlib). Default false. */
  fit_intercept?: boolean;
  /** Also train on the `valid` segment when the dataset has one. Default false. */
  include_valid?: boolean;
  /** qtask extension: Gram kernel, `auto` (default: OpenBLAS when it loads), `blas` or `ts`. */
  kernel?: GramKernel;
}

export const LINEAR_KWARGS = ['estimator', 'alpha', 'fit_intercept', 'include_valid', 'kernel'] as const;

/** What the last fit did (for logs and benchmarks). */
export interface LinearFitInfo {
  rows: number;
  droppedRows: number;
  kernel: 'blas' | 'ts';
  gramMs: number;
  solveMs: number;
  /** `cholesky`, `pinv` (singular normal equations), `lasso-cd` or `nnls`. */
  solver: string;
  /** Lasso sweeps; 0 otherwise. */
  iterations: number;
}

export class LinearModel implements Model {
  readonly className = 'LinearModel';
  static readonly modulePath = 'qlib.contrib.model.linear';
  readonly estimator: LinearEstimator;
  readonly alpha: number;
  readonly fitIntercept: boolean;
  readonly includeValid: boolean;
  readonly kernel: GramKernel;
  coef: Float64Array | null = null;
  intercept = 0;
  featureNames: string[] = [];
  fitInfo: LinearFitInfo | null = null;
  private readonly kwargs: Record<string, unknown>;

  /** `path` prefixes kwargs errors (default `model.kwargs`). */
  constructor(kwargs: LinearModelKwargs | Record<string, unknown> = {}, path = 'model.kwargs') {
    const kw = asKwargs(kwargs, path, 'LinearModel');
    rejectUnknown(kw, LINEAR_KWARGS, path, 'LinearModel');
    this.estimator = enumArg(kw, 'estimator', LINEAR_ESTIMATORS, 'ols', path);
    this.alpha = numberArg(kw, 'alpha', 0, path, { min: 0 });
    if (this.alpha !== 0 && this.estimator !== 'ridge' && this.estimator !== 'lasso') {
      throw new ModelError('MODEL_KWARGS', `alpha is only used by ridge and lasso, not ${this.estimator}`, { path: `${path}.alpha`, hint: 'set estimator: ridge (or lasso), or drop alpha' });
    }
    this.fitIntercept = boolArg(kw, 'fit_intercept', false, path);
    this.includeValid = boolArg(kw, 'include_valid', false, path);
    this.kernel = enumArg(kw, 'kernel', ['auto', 'blas', 'ts'] as const, 'auto', path);
    this.kwargs = { ...kw };
  }

  get fitted(): boolean {
    return this.coef !== null;
  }

  fit(dataset: ModelDataset, _options: FitOptions = {}): this {
    const segs = ['train'];
    if (this.includeValid && 'valid' in dataset.segments) segs.push('valid');
    const panels = segs.map((s) => dataset.prepare(s, { colSet: ['feature', 'label'], dataKey: 'learn' }));
    const names = featureNames(panels[0]!);
    const parts: DesignPart[] = panels.map((p, i) => splitLearnPanel(p, segs[i]!, `dataset.kwargs.segments.${segs[i]}`));
    for (let i = 1; i < panels.length; i++) {
      const other = featureNames(panels[i]!);
      if (other.join('\u0000') !== names.join('\u0000')) {
        throw new ModelError('MODEL_FEATURES_MISMATCH', `the ${segs[i]} segment's features differ from train's`, { path: `dataset.kwargs.segments.${segs[i]}`, hint: 'train and valid come from one handler' });
      }
    }
    const total = parts.reduce((s, p) => s + p.rows, 0);
    const p = names.length;
    const t0 = performance.now();
    const center = this.fitIntercept && this.estimator !== 'nnls';
    // Design columns [x₁ … x_p, 1, y]. The ones column gives the row count and, when centring, the
    // column sums of the shifted data, so the centred Gram needs no separate pass over the rows.
    const withOnes = this.fitIntercept;
    const gramParts: GramPart[] = parts.map((part) => ({
      columns: [...part.features, ...(withOnes ? [new Float64Array(part.rows).fill(1)] : []), part.label as Float64Array],
      mask: null,
    }));
    const m = p + (withOnes ? 1 : 0) + 1;
    const shift = center ? sampleMeans(gramParts, m, p) : new Float64Array(m);
    const { gram: raw, kernel, n, droppedNaN } = gramMatrix(gramParts, { shift, kernel: this.kernel, dropNaN: true });
    if (n === 0) {
      throw new ModelError('MODEL_EMPTY_TRAIN', `no training rows: the ${segs.join(' + ')} segment${segs.length > 1 ? 's have' : ' has'} ${total} rows, ${total === 0 ? 'none' : 'all with a NaN feature or label'}`, {
        path: 'dataset.kwargs.segments.train',
        hint: total === 0 ? 'check the train dates against the data and the handler\'s start_time/end_time' : 'add Fillna to infer_processors and DropnaLabel to learn_processors',
      });
    }
    for (let i = 0; i < raw.length; i++) {
      if (!Number.isFinite(raw[i] as number)) {
        throw new ModelError('MODEL_DATA_INFINITE', 'the training data has infinite values (or overflows)', {
          path: 'dataset.kwargs.segments.train',
          hint: 'add ProcessInf to the handler\'s processors; LinearModel drops NaN rows but cannot fit on inf (sklearn rejects it too)',
        });
      }
    }
    // Centring: with d = Σ(z − s) (the ones row), Σ(z − z̄)(z − z̄)ᵀ = Σ(z − s)(z − s)ᵀ − d dᵀ/n.
    let gram = raw;
    const means = new Float64Array(m);
    if (center) {
      const o = p;
      const vars = [...Array.from({ length: p }, (_, i) => i), p + 1];
      const k2 = vars.length;
      gram = new Float64Array(k2 * k2);
      vars.forEach((a, i) => {
        means[i] = (shift[a] as number) + (raw[a * m + o] as number) / n;
        vars.forEach((b, j) => {
          gram[i * k2 + j] = (raw[a * m + b] as number) - ((raw[a * m + o] as number) * (raw[o * m + b] as number)) / n;
        });
      });
    }
    const gm = center ? p + 1 : m;
    const t1 = performance.now();
    const k = gm - 1; // unknowns: features (+ the ones column for nnls)
    const g = new Float64Array(k * k);
    const c = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) g[i * k + j] = gram[i * gm + j] as number;
      c[i] = gram[i * gm + k] as number;
    }
    const yy = gram[k * gm + k] as number;
    let w: Float64Array;
    let solver = 'cholesky';
    let iterations = 0;
    switch (this.estimator) {
      case 'ols':
      case 'ridge': {
        const ridge = this.estimator === 'ridge' ? this.alpha : 0;
        const chol = choleskySolve(g, c, k, ridge);
        if (chol) w = chol;
        else {
          solver = 'pinv';
          const gr = Float64Array.from(g);
          for (let i = 0; i < k; i++) gr[i * k + i] = (gr[i * k + i] as number) + ridge;
          w = pinvSolve(gr, c, k);
        }
        break;
      }
      case 'lasso': {
        const res = lassoGram(g, c, yy, n, k, this.alpha);
        w = res.w;
        solver = 'lasso-cd';
        iterations = res.iterations;
        break;
      }
      case 'nnls':
        w = nnlsGram(g, c, k);
        solver = 'nnls';
        break;
    }
    if (withOnes && !center) {
      this.coef = w.slice(0, p);
      this.intercept = w[p] as number;
    } else {
      this.coef = w;
      let b = 0;
      if (center) {
        b = means[p] as number;
        for (let j = 0; j < p; j++) b -= (means[j] as number) * (w[j] as number);
      }
      this.intercept = b;
    }
    this.featureNames = names;
    this.fitInfo = { rows: n, droppedRows: droppedNaN, kernel, gramMs: t1 - t0, solveMs: performance.now() - t1, solver, iterations };
    return this;
  }

  predict(dataset: ModelDataset, segment: string | SegmentRange = 'test'): PredictionPanel {
    const coef = this.coef;
    if (coef === null) throw notFitted('LinearModel');
    const panel = typeof segment === 'string' ? dataset.prepare(segment, { colSet: 'feature', dataKey: 'infer' }) : dataset.prepare(segment, { colSet: 'feature', dataKey: 'infer' });
    const cols = checkFeatures(this.featureNames, panel, typeof segment === 'string' ? `dataset.kwargs.segments.${segment}` : 'segment');
    const rows = panel.dates.length;
    const scores = new Float64Array(rows);
    cols.forEach((col, j) => {
      const w = coef[j] as number;
      for (let r = 0; r < rows; r++) scores[r] += w * (col[r] as number);
    });
    if (this.intercept !== 0) for (let r = 0; r < rows; r++) scores[r] += this.intercept;
    return predictionPanel(panel, scores);
  }

  toJSON(): ModelManifest {
    if (this.coef === null) throw notFitted('LinearModel');
    return {
      format: 'qtask-model',
      version: 1,
      class: this.className,
      module_path: LinearModel.modulePath,
      kwargs: { ...this.kwargs },
      feature_names: [...this.featureNames],
      state: { coef: Array.from(this.coef), intercept: this.intercept },
    };
  }

  save(dir: string): void {
    writeManifest(dir, this.toJSON());
  }

  dispose(): void {}

  static fromJSON(manifest: ModelManifest, where = 'model.json'): LinearModel {
    if (manifest.class !== 'LinearModel') {
      throw new ModelError('MODEL_FILE', `the file holds a ${manifest.class}, not a LinearModel`, { path: where, hint: 'load it with loadModel(dir)' });
    }
    const model = new LinearModel(manifest.kwargs, `${where}.kwargs`);
    const coef = manifest.state['coef'];
    const intercept = manifest.state['intercept'];
    if (!Array.isArray(coef) || coef.length !== manifest.feature_names.length || !coef.every((x) => typeof x === 'number') || typeof intercept !== 'number') {
      throw new ModelError('MODEL_FILE', 'state.coef must be one number per feature name and state.intercept a number', { path: `${where}.state`, hint: 'the file is damaged; save the model again' });
    }
    model.coef = Float64Array.from(coef as number[]);
    model.intercept = intercept;
    model.featureNames = [...manifest.feature_names];
    return model;
  }

  static load(dir: string): LinearModel {
    return LinearModel.fromJSON(readManifest(dir), join(dir, 'model.json'));
  }
}

export function notFitted(className: string): ModelError {
  return new ModelError('MODEL_NOT_FITTED', `${className} is not fitted yet`, { path: 'model', hint: 'call fit(dataset) (or load a saved model) before predict' });
}

/**
 * Column means of a sample of complete rows (every ⌈n/4096⌉-th row), used as the shift before the
 * Gram pass: close to the true means, which keeps the centring correction small and exact enough.
 */
function sampleMeans(parts: readonly GramPart[], m: number, onesIndex: number): Float64Array {
  const sums = new Float64Array(m);
  let count = 0;
  const total = parts.reduce((s, part) => s + (part.columns[0]?.length ?? 0), 0);
  const step = Math.max(1, Math.ceil(total / 4096));
  for (const part of parts) {
    const rows = part.columns[0]?.length ?? 0;
    for (let r = 0; r < rows; r += step) {
      let complete = true;
      for (let c = 0; c < m && complete; c++) if (Number.isNaN(part.columns[c]![r] as number)) complete = false;
      if (!complete) continue;
      for (let c = 0; c < m; c++) sums[c] += part.columns[c]![r] as number;
      count++;
    }
  }
  const out = new Float64Array(m);
  if (count > 0) for (let c = 0; c < m; c++) out[c] = c === onesIndex ? 0 : (sums[c] as number) / count;
  return out;
}
