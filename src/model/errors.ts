/**
 * Model errors. Codes: MODEL_NOT_FITTED, MODEL_UNSUPPORTED, MODEL_CLASS_UNKNOWN, MODEL_KWARGS,
 * MODEL_EMPTY_TRAIN, MODEL_LABEL_SHAPE, MODEL_FEATURES_MISMATCH, MODEL_FILE, XGBOOST_MISSING, XGBOOST_CALL.
 */
import { QtaskError } from '../errors.ts';

export class ModelError extends QtaskError {}
