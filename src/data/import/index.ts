export { importCsv } from './importCsv.ts';
export type { ImportCsvOptions, ImportSummary } from './importCsv.ts';
export { parseCsvText, symbolFromFileName } from './csvParse.ts';
export type { CsvImportOptions, ParsedCsv } from './csvParse.ts';
export { ImportError } from './errors.ts';
export type { ImportIssue } from './errors.ts';
export type { ImportProgress, ProgressListener } from './source.ts';
export { updateFromCsv } from './update.ts';
export type { UpdateCsvOptions, UpdateSummary } from './update.ts';
