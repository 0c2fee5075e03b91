/**
 * The model contract (qlib's `Model`): `fit(dataset)` reads the `train` (and `valid`) segments'
 * learn view, `predict(dataset, segment)` reads a segment's infer view and returns one `score` per
 * (date, instrument) row, in the dataset's row order.
 */
import type { Panel } from '../data/types.ts';

/** `[start, end]` date range, inclusive, null = open end (DatasetH's segment shape). */
export type SegmentRange = readonly [string | null, string | null];

/** What a model needs from a dataset; `DatasetH` satisfies it. */
export interface ModelDataset {
  /** Segment names to date ranges, e.g. `{train: […], valid: […], test: […]}`. */
  readonly segments: Readonly<Record<string, SegmentRange>>;
  prepare(segment: string, options?: { colSet?: string | string[]; dataKey?: 'raw' | 'infer' | 'learn' }): Panel;
  prepare(range: SegmentRange, options?: { colSet?: string | string[]; dataKey?: 'raw' | 'infer' | 'learn' }): Panel;
}

/** Per-iteration evaluation history, qlib's `evals_result` after `fit`: `{train: [...], valid: [...]}`. */
export type EvalsResult = Record<string, number[]>;

export interface FitOptions {
  /** Filled in place with one metric value per boosting round per eval set (XGBModel; LinearModel leaves it empty). */
  evalsResult?: EvalsResult;
}

/**
 * A prediction: a Panel with one column `score` (group `score`), rows keyed by (date, instrument)
 * in the order of the predicted segment (qlib's pd.Series indexed by (datetime, instrument)).
 */
export type PredictionPanel = Panel;

/** The serialisable state of a model: what `save` writes as `model.json` and `loadModel` reads back. */
export interface ModelManifest {
  /** Always `qtask-model`. */
  format: 'qtask-model';
  /** Format version; currently 1. */
  version: 1;
  class: string;
  module_path: string;
  /** The constructor kwargs, as given (validated). */
  kwargs: Record<string, unknown>;
  /** Feature column names the model was fitted on, in order. */
  feature_names: string[];
  /** Model-specific fitted state (coefficients; or the XGBoost file name and best iteration). */
  state: Record<string, unknown>;
}

export interface Model {
  /** qlib class name, e.g. `LinearModel`. */
  readonly className: string;
  /** True once `fit` (or `load`) has produced a usable model. */
  readonly fitted: boolean;
  fit(dataset: ModelDataset, options?: FitOptions): this;
  /** Scores for a segment name (default `test`) or a `[start, end]` range. Throws MODEL_NOT_FITTED before fit. */
  predict(dataset: ModelDataset, segment?: string | SegmentRange): PredictionPanel;
  /** The manifest (model.json contents). XGBModel embeds its XGBoost JSON model as text under `state.xgboost_json`. */
  toJSON(): ModelManifest;
  /** Writes `dir/model.json` (and model-specific files) atomically; creates `dir`. */
  save(dir: string): void;
  /** Frees native resources (XGBoost booster); the model is unusable afterwards. No-op for LinearModel. */
  dispose(): void;
}
