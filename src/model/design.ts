/**
 * Turning prepared panels into model inputs: feature/label columns by group, the rows a fit may use,
 * and the prediction panel. Columns are read in place (panels are read-only views).
 */
import type { Panel } from '../data/types.ts';
import { ModelError } from './errors.ts';
import type { PredictionPanel } from './types.ts';

/** One prepared segment split into feature columns and (optionally) its label column. */
export interface DesignPart {
  /** The segment name (for error paths). */
  segment: string;
  rows: number;
  features: Float64Array[];
  label: Float64Array | null;
}

export function featureNames(panel: Panel): string[] {
  return panel.columns.filter((_, c) => panel.groups[c] === 'feature');
}

/** Splits a `['feature', 'label']` panel; the label must be exactly one column (as qlib's models require). */
export function splitLearnPanel(panel: Panel, segment: string, path: string): DesignPart {
  const features: Float64Array[] = [];
  const labels: Float64Array[] = [];
  panel.columns.forEach((_, c) => {
    const g = panel.groups[c];
    if (g === 'feature') features.push(panel.values[c] as Float64Array);
    else if (g === 'label') labels.push(panel.values[c] as Float64Array);
  });
  if (labels.length !== 1) {
    throw new ModelError('MODEL_LABEL_SHAPE', `the ${segment} segment has ${labels.length} label columns; models train on exactly one`, {
      path,
      hint: labels.length === 0 ? 'give the handler a label (e.g. label: [["Ref($close, -2)/Ref($close, -1) - 1"], ["LABEL0"]])' : 'keep one label expression in the handler config',
    });
  }
  if (features.length === 0) {
    throw new ModelError('MODEL_FEATURES_MISMATCH', `the ${segment} segment has no feature columns`, { path, hint: 'check the handler\'s feature config' });
  }
  return { segment, rows: panel.dates.length, features, label: labels[0] as Float64Array };
}

/** The panel's feature columns, in order (an infer-view `feature` panel may also be passed whole). */
export function featureColumns(panel: Panel): Float64Array[] {
  return panel.values.filter((_, c) => panel.groups[c] === 'feature');
}

/** Throws MODEL_FEATURES_MISMATCH when the predict panel's features differ from the fitted ones. */
export function checkFeatures(fitted: readonly string[], panel: Panel, path: string): Float64Array[] {
  const names = featureNames(panel);
  const same = names.length === fitted.length && names.every((n, i) => n === fitted[i]);
  if (!same) {
    const firstDiff = names.findIndex((n, i) => n !== fitted[i]);
    const detail = names.length !== fitted.length
      ? `${names.length} feature columns, the model was fitted on ${fitted.length}`
      : `feature ${firstDiff} is ${JSON.stringify(names[firstDiff])}, the model was fitted on ${JSON.stringify(fitted[firstDiff])}`;
    throw new ModelError('MODEL_FEATURES_MISMATCH', `predict data has ${detail}`, { path, hint: 'predict with the same handler feature config the model was fitted with' });
  }
  return featureColumns(panel);
}

export function predictionPanel(source: Panel, scores: Float64Array): PredictionPanel {
  return { dates: source.dates, instruments: source.instruments, columns: ['score'], groups: ['score'], values: [scores] };
}
