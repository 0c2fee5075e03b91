import { QtaskError } from '../../errors.ts';

/**
 * Problems with market data on disk or with its import. Codes:
 * provider — PROVIDER_NOT_FOUND, PROVIDER_NO_CALENDAR, UNKNOWN_MARKET, UNKNOWN_FIELD, BAD_FIELD_NAME, BAD_INSTRUMENT_NAME,
 * BAD_INSTRUMENTS_FILE, BAD_BIN_FILE, BAD_DATE_RANGE;
 * import — see `ImportError` in `src/data/import/errors.ts`.
 */
export class DataError extends QtaskError {}
