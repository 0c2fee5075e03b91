/**
 * The fitted state of a dataset's processors, saved with a trained model so that extending its
 * predictions later reuses exactly the statistics the model was trained with. qlib saves the whole
 * dataset (config plus fitted processors) and the updater calls `setup_data(init_type=IT_LS)`, which
 * loads the fitted processors instead of refitting them; this is that, as JSON.
 *
 * Only the fit-window processors (ZScoreNorm, RobustZScoreNorm, MinMaxNorm) learn anything in
 * `fit`; the others are stateless (CSZScoreNorm, CSRankNorm, Fillna, DropnaLabel, …), so refitting
 * them is harmless and they are not recorded.
 */
import type { DatasetH } from './index.ts';
import type { Processor } from '../processor/types.ts';
import type { JsonValue } from '../../task/types.ts';
import { HandlerConfigError } from '../handler/errors.ts';

/** Artifact name of the fitted state (`dataset_state.json`). */
export const DATASET_STATE_ARTIFACT = 'dataset_state';

type ProcessorList = 'shared' | 'infer' | 'learn';

/** JSON cannot hold NaN or ±Infinity: they are written as null, "inf" and "-inf". */
type StoredNumber = number | null | 'inf' | '-inf';

export interface FittedProcessorState {
  list: ProcessorList;
  /** Position in the list. */
  index: number;
  className: string;
  /** Columns the statistics belong to, in order. */
  cols: string[];
  /** The learnt per-column statistics by field name (e.g. `mean`, `std`). */
  stats: Record<string, StoredNumber[]>;
}

export interface DatasetFittedState {
  format: 'qtask.dataset_state/1';
  processors: FittedProcessorState[];
}

/** The fields each fit-window processor learns (public fields of the classes in data/processor/normalize.ts). */
const STAT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  ZScoreNorm: ['mean', 'std'],
  RobustZScoreNorm: ['median', 'std'],
  MinMaxNorm: ['min', 'max'],
};

/** The processors' learnt fields are not part of the Processor interface: read and written by name. */
type Fields = Record<string, unknown>;

function lists(dataset: DatasetH): [ProcessorList, Processor[]][] {
  const h = dataset.handler;
  return [['shared', h.sharedProcessors], ['infer', h.inferProcessors], ['learn', h.learnProcessors]];
}

function store(v: number): StoredNumber {
  if (Number.isNaN(v)) return null;
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return v;
}

function load(v: StoredNumber): number {
  if (v === null) return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return v;
}

/** The fitted statistics of a set-up dataset's processors (call after `setup()`). */
export function captureFittedState(dataset: DatasetH): DatasetFittedState {
  const processors: FittedProcessorState[] = [];
  for (const [list, procs] of lists(dataset)) {
    procs.forEach((p, index) => {
      const fields = STAT_FIELDS[p.className];
      const f = p as unknown as Fields;
      if (!fields || !Array.isArray(f['cols'])) return;
      const stats: Record<string, StoredNumber[]> = {};
      for (const name of fields) stats[name] = Array.from(f[name] as Float64Array, store);
      processors.push({ list, index, className: p.className, cols: [...(f['cols'] as string[])], stats });
    });
  }
  return { format: 'qtask.dataset_state/1', processors };
}

/** The state as an artifact value. */
export function fittedStateJson(dataset: DatasetH): JsonValue {
  return captureFittedState(dataset) as unknown as JsonValue;
}

function bad(path: string, message: string): never {
  throw new HandlerConfigError('DATASET_STATE', message, { path, hint: 'the dataset_state artifact must come from the same dataset config (taskTrain writes both)' });
}

/**
 * Loads `state` into the (not yet set up) dataset's processors and freezes them: their `fit` becomes
 * a no-op, so `setup()` transforms with the saved statistics instead of learning new ones.
 */
export function applyFittedState(dataset: DatasetH, state: unknown, path = DATASET_STATE_ARTIFACT): void {
  const s = state as Partial<DatasetFittedState> | null;
  if (s === null || typeof s !== 'object' || s.format !== 'qtask.dataset_state/1' || !Array.isArray(s.processors)) bad(path, `${path} is not a qtask dataset state`);
  const byList = new Map(lists(dataset));
  s.processors.forEach((ps, i) => {
    const where = `${path}.processors[${i}]`;
    const procs = byList.get(ps.list);
    const p = procs?.[ps.index];
    if (!procs || !p || p.className !== ps.className) bad(where, `${where} is a ${ps.className} at ${ps.list}[${ps.index}], which the dataset config does not have there`);
    const fields = STAT_FIELDS[p.className] ?? [];
    const f = p as unknown as Fields;
    for (const name of fields) {
      const values = ps.stats?.[name];
      if (!Array.isArray(values) || values.length !== ps.cols.length) bad(`${where}.stats.${name}`, `${where} has no ${name} for its ${ps.cols.length} columns`);
      f[name] = Float64Array.from(values, load);
    }
    f['cols'] = [...ps.cols];
    const fitted = p;
    procs[ps.index] = {
      className: fitted.className,
      fit: () => {},
      transform: (panel) => fitted.transform(panel),
      isForInfer: () => fitted.isForInfer(),
      toConfig: () => fitted.toConfig(),
    };
  });
}
