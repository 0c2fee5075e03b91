import { QtaskError } from '../../errors.ts';

/**
 * A handler, processor or dataset config qtask cannot use. Codes: HANDLER_CONFIG (bad kwargs),
 * HANDLER_UNKNOWN_CLASS / PROCESSOR_UNKNOWN_CLASS / DATASET_UNKNOWN_CLASS (class name not built in),
 * PROCESSOR_CONFIG, PROCESSOR_NOT_FOR_INFER, DATASET_SEGMENT, FETCH_ARGS, INSTRUMENTS_UNKNOWN,
 * DATASET_STATE (a saved fitted-processor state that does not match the dataset config).
 */
export class HandlerConfigError extends QtaskError {}
