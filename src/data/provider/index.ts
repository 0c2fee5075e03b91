export { LocalProvider, CONVENTIONAL_FIELDS } from './localProvider.ts';
export type { LocalProviderOptions, Universe, DateRange } from './localProvider.ts';
export { DataError } from './errors.ts';
export { decodeBin, encodeBin, readBin } from './binFile.ts';
export type { StoredSeries } from './binFile.ts';
export { parseInstruments, filterSpans, formatInstruments } from './instruments.ts';
export type { UniverseSpans } from './instruments.ts';
export { symbolToDirName, fileStemToSymbol, normalizeFieldName, columnToFieldName } from './names.ts';
