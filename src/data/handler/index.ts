export {
  DataHandlerLP, createAlpha158, createAlpha360, createDataHandlerLP, selectRows, selectColSet, DATA_KEYS,
  type HandlerSource, type DataKey, type ColSet, type FetchOptions, type Selector, type DataHandlerLPKwargs, type HandlerInit,
} from './handler.ts';
export { alpha158FeatureConfig, ALPHA158_DEFAULT_CONFIG, ALPHA158_ROLLING_FAMILIES, DEFAULT_LABEL, type Alpha158Config, type FeatureConfig } from './alpha158.ts';
export { alpha360FeatureConfig } from './alpha360.ts';
export { parseDataLoader, parseFieldsInfo, type ColumnGroup } from './loader.ts';
export { assemblePanel, referencedFields } from './assemble.ts';
export { HandlerConfigError } from './errors.ts';
export { createHandler, type HandlerSpec } from './create.ts';
