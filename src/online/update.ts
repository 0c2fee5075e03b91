/**
 * qlib's `PredUpdater` / `LabelUpdater` (workflow/online/update.py): extend a recorder's `pred` (or
 * `label`) artifact to the latest trading day. The model is rebuilt from the `params` artifact and
 * the dataset from the `dataset` config with its test segment moved to (lastEnd, toDate]; its
 * processors are loaded from the `dataset_state` artifact (the statistics fitted at training time)
 * and not refitted, as qlib's `setup_data(init_type=IT_LS)` — refitting on the longer data range
 * would change them (e.g. a ZScoreNorm whose fit window reaches past the training data). A recorder
 * trained before that artifact existed is refitted, and the result says so (`refitted`).
 * Only the new dates are appended (no duplicated boundary date) and the artifact is replaced by an
 * atomic temp+rename write. The calendar is read fresh from `calendars/<freq>.txt` on every update.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalProvider } from '../data/provider/index.ts';
import type { Panel } from '../data/types.ts';
import { loadModel } from '../model/registry.ts';
import type { Recorder } from '../recorder/recorder.ts';
import type { JsonObject, JsonValue } from '../task/types.ts';
import { resolveDataset } from '../workflow/resolve.ts';
import { OnlineError } from './errors.ts';
import { applyFittedState, DATASET_STATE_ARTIFACT } from '../data/dataset/fittedState.ts';
import { QtaskError } from '../errors.ts';
import { asPanel, lastValidDate, replaceRange } from './panels.ts';

export interface UpdaterOptions {
  /** Data directory (an imported provider). Required. */
  providerUri: string;
  /** Last day to fill. Default: the calendar's last day; later dates are clipped to it (no warning). */
  toDate?: string;
  /** Recompute from this day on. Default: the day after the artifact's last non-NaN date. */
  fromDate?: string;
  /** Extra trading days of history before the first new day that the handler loads. Default 0. */
  histRef?: number;
  /** Calendar frequency. Default `day`. */
  freq?: string;
}

export interface UpdateResult {
  recorderId: string;
  /** Set when nothing was done, with the reason. */
  skipped?: string;
  /** Rows added or replaced. */
  added: number;
  from: string | null;
  to: string | null;
  /** True when the recorder had no fitted processor state, so the processors were fitted again. */
  refitted?: boolean;
}

abstract class DatasetBasedUpdater {
  protected abstract readonly artifact: 'pred' | 'label';
  constructor(readonly recorder: Recorder, readonly options: UpdaterOptions) {}

  protected abstract compute(provider: LocalProvider, dataset: ReturnType<typeof resolveDataset>): Panel;

  async update(): Promise<UpdateResult> {
    const o = this.options;
    const provider = new LocalProvider(o.providerUri, o.freq === undefined ? {} : { freq: o.freq });
    const cal = provider.calendarDays();
    const latest = cal[cal.length - 1]!;
    const toDate = o.toDate === undefined || o.toDate > latest ? latest : o.toDate;
    const old = asPanel(this.recorder.loadObject(this.artifact), `${this.recorder.id}/${this.artifact}`);
    let startIdx: number;
    if (o.fromDate !== undefined) {
      startIdx = cal.findIndex((d) => d >= o.fromDate!);
    } else {
      const lastEnd = lastValidDate(old);
      startIdx = lastEnd === null ? 0 : cal.findIndex((d) => d > lastEnd);
    }
    const base = { recorderId: this.recorder.id, added: 0, from: null, to: null };
    if (startIdx < 0 || cal[startIdx]! > toDate) return { ...base, skipped: 'already up to date' };
    const start = cal[startIdx]!;
    const cfg = structuredClone(this.recorder.loadObject('dataset')) as JsonValue;
    if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new OnlineError('ONLINE_PRED', `recorder ${this.recorder.id} has no dataset config`, { path: 'dataset', hint: 'train it with taskTrain (it saves the dataset artifact)' });
    const kwargs = ((cfg as JsonObject)['kwargs'] ??= {}) as JsonObject;
    const handler = kwargs['handler'] as JsonObject | undefined;
    const hk = handler && typeof handler === 'object' ? ((handler['kwargs'] ??= {}) as JsonObject) : undefined;
    const bufferStart = cal[Math.max(0, startIdx - (o.histRef ?? 0))]!;
    if (hk) {
      hk['end_time'] = toDate;
      if (typeof hk['start_time'] !== 'string' || hk['start_time'] > bufferStart) hk['start_time'] = bufferStart;
    }
    kwargs['segments'] = { ...((kwargs['segments'] as JsonObject | undefined) ?? {}), test: [start, toDate] };
    const dataset = resolveDataset(cfg, provider, `${this.recorder.id}/dataset`);
    const hasState = this.recorder.listArtifacts().includes(`${DATASET_STATE_ARTIFACT}.json`);
    if (hasState) {
      try {
        applyFittedState(dataset, this.recorder.loadObject(DATASET_STATE_ARTIFACT), `${this.recorder.id}/${DATASET_STATE_ARTIFACT}`);
      } catch (e) {
        if (e instanceof QtaskError && e.code === 'DATASET_STATE') throw new OnlineError('ONLINE_PRED', e.message, { ...(e.path !== undefined ? { path: e.path } : {}), ...(e.hint !== undefined ? { hint: e.hint } : {}), cause: e });
        throw e;
      }
    }
    dataset.setup();
    const fresh = this.compute(provider, dataset);
    const merged = replaceRange(old, fresh);
    this.recorder.saveObjects({ [this.artifact]: merged });
    return { ...base, added: fresh.dates.length, from: start, to: toDate, ...(hasState ? {} : { refitted: true }) };
  }
}

export class PredUpdater extends DatasetBasedUpdater {
  protected readonly artifact = 'pred' as const;

  protected compute(_p: LocalProvider, dataset: ReturnType<typeof resolveDataset>): Panel {
    const dir = mkdtempSync(join(tmpdir(), 'qtask-model-'));
    try {
      writeFileSync(join(dir, 'model.json'), JSON.stringify(this.recorder.loadObject('params')));
      const model = loadModel(dir);
      try {
        return model.predict(dataset, 'test');
      } finally {
        model.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Extends `label` (the raw label over the test segment); the last known label date is where it resumes. */
export class LabelUpdater extends DatasetBasedUpdater {
  protected readonly artifact = 'label' as const;

  protected compute(_p: LocalProvider, dataset: ReturnType<typeof resolveDataset>): Panel {
    return dataset.prepare('test', { colSet: 'label', dataKey: 'raw' });
  }
}
