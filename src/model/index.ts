/** Models: the Model contract, LinearModel, XGBModel (libxgboost via koffi), the class registry. */
export type { Model, ModelDataset, FitOptions, EvalsResult, PredictionPanel, ModelManifest, SegmentRange } from './types.ts';
export { ModelError } from './errors.ts';
export { LinearModel, LINEAR_ESTIMATORS, LINEAR_KWARGS } from './linear.ts';
export type { LinearModelKwargs, LinearEstimator, LinearFitInfo } from './linear.ts';
export { XGBModel, XGBOOST_MODEL_FILE } from './xgboost/model.ts';
export type { XGBFitOptions, XGBFitInfo } from './xgboost/model.ts';
export { xgboostLib } from './xgboost/native.ts';
export { gramMatrix, syrkBlockTs, gramNaiveRowMajor } from './gram.ts';
export type { GramKernel, GramPart, GramResult } from './gram.ts';
export { openBlas, openBlasLoadError } from './blas.ts';
export { choleskySolve, pinvSolve, lassoGram, nnlsGram, symmetricEigen } from './linalg.ts';
export { createModel, loadModel, registerModel, resolveModelClass, knownModelClasses, lgbToXgbConfig } from './registry.ts';
export type { ModelClass } from './registry.ts';
