/**
 * qlib's `OnlineToolR`, with the online set of a strategy kept as ONE JSON document
 * (`<dir>/<experiment>.online_set.json`: recorder ids and a version) replaced by temp+rename.
 * qlib flips an `online_status` tag on every recorder (N offline writes, then M online writes),
 * so readers can see zero or mixed online models (W35); here a reader sees the old set or the new one.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../recorder/fsAtomic.ts';
import { getStore } from '../recorder/R.ts';
import type { Recorder } from '../recorder/recorder.ts';
import { OnlineError } from './errors.ts';
import { PredUpdater } from './update.ts';
import type { UpdateResult } from './update.ts';

export interface OnlineSet {
  format: 'qtask.online_set/1';
  experimentName: string;
  /** Increases by one on every change. */
  version: number;
  recorderIds: string[];
  /** ISO time of the last change. */
  updatedAt: string;
}

export interface OnlineToolOptions {
  /** Experiment of the strategy's recorders. Required. */
  experimentName: string;
  /** mlruns directory. Default: the recorder default (`$QTASK_MLRUNS`, else ./mlruns). */
  mlruns?: string;
  /** Directory of the online-set documents. Required (usually the manager's state directory). */
  dir: string;
  /** Data directory, for `updateOnlinePred`. */
  providerUri?: string;
}

/** A recorder or its id. */
export type RecorderLike = Recorder | string;

export class OnlineToolR {
  readonly experimentName: string;
  readonly mlruns: string | undefined;
  readonly file: string;
  readonly providerUri: string | undefined;

  constructor(options: OnlineToolOptions) {
    if (typeof options.experimentName !== 'string' || options.experimentName === '' || /[\\/]/.test(options.experimentName)) {
      throw new OnlineError('ONLINE_CONFIG', `bad experiment name ${JSON.stringify(options.experimentName)}`, { path: 'experimentName', hint: 'a non-empty name without slashes' });
    }
    this.experimentName = options.experimentName;
    this.mlruns = options.mlruns;
    this.file = join(options.dir, `${options.experimentName}.online_set.json`);
    this.providerUri = options.providerUri;
  }

  private store() {
    return getStore(this.mlruns === undefined ? {} : { uri: this.mlruns });
  }

  /** The stored document; version 0 and no recorders when none was written yet. */
  readSet(): OnlineSet {
    if (!existsSync(this.file)) return { format: 'qtask.online_set/1', experimentName: this.experimentName, version: 0, recorderIds: [], updatedAt: '' };
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (e) {
      throw new OnlineError('ONLINE_STATE', `online set ${this.file} is not valid JSON`, { path: this.file, hint: 'it is only written by temp+rename; was it edited by hand?', cause: e });
    }
    const d = doc as Partial<OnlineSet>;
    if (d.format !== 'qtask.online_set/1' || !Array.isArray(d.recorderIds) || typeof d.version !== 'number') {
      throw new OnlineError('ONLINE_STATE', `${this.file} is not a qtask online set`, { path: this.file, hint: 'expected {format: "qtask.online_set/1", version, recorderIds}' });
    }
    return d as OnlineSet;
  }

  /** Makes exactly `recorders` the online set, in one atomic write (qlib's `reset_online_tag`). Returns the new version. */
  resetOnline(recorders: RecorderLike | RecorderLike[]): number {
    const ids = [...new Set((Array.isArray(recorders) ? recorders : [recorders]).map((r) => (typeof r === 'string' ? r : r.id)))];
    for (const id of ids) this.recorder(id); // unknown ids fail here, before anything is written
    const cur = this.readSet();
    if (sameIds(cur.recorderIds, ids)) return cur.version;
    const next: OnlineSet = { format: 'qtask.online_set/1', experimentName: this.experimentName, version: cur.version + 1, recorderIds: ids, updatedAt: new Date().toISOString() };
    const dir = join(this.file, '..');
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(this.file, JSON.stringify(next, null, 1) + '\n', dir);
    return next.version;
  }

  /**
   * qlib's `set_online_tag`: `online` adds the recorders to the set, `offline` removes them; one atomic
   * write either way.
   */
  setOnline(tag: 'online' | 'offline', recorders: RecorderLike | RecorderLike[]): number {
    const ids = (Array.isArray(recorders) ? recorders : [recorders]).map((r) => (typeof r === 'string' ? r : r.id));
    const cur = this.readSet().recorderIds;
    const next = tag === 'online' ? [...cur, ...ids.filter((i) => !cur.includes(i))] : cur.filter((i) => !ids.includes(i));
    return this.resetOnline(next);
  }

  /** `online` or `offline` (qlib's `get_online_tag`). */
  getOnlineTag(recorder: RecorderLike): 'online' | 'offline' {
    const id = typeof recorder === 'string' ? recorder : recorder.id;
    return this.readSet().recorderIds.includes(id) ? 'online' : 'offline';
  }

  /** The online recorders, in the order they were set. */
  onlineModels(): Recorder[] {
    return this.readSet().recorderIds.map((id) => this.recorder(id));
  }

  recorder(id: string): Recorder {
    const store = this.store();
    const exp = store.getExperiment({ experimentName: this.experimentName }, { create: false });
    return store.getRecorder({ recorderId: id, experimentId: exp.id });
  }

  /**
   * qlib's `update_online_pred`: extends each online model's `pred` to `toDate` (default: the
   * calendar's last day). Models without a `pred` artifact are skipped (reported with `skipped`),
   * as qlib skips them with a warning.
   */
  async updateOnlinePred(options: { toDate?: string; fromDate?: string } = {}): Promise<UpdateResult[]> {
    if (this.providerUri === undefined) throw new OnlineError('ONLINE_CONFIG', 'updateOnlinePred needs the data directory', { path: 'providerUri', hint: 'pass providerUri to OnlineToolR' });
    const out: UpdateResult[] = [];
    for (const rec of this.onlineModels()) {
      if (!rec.listArtifacts().some((a) => a === 'pred.csv' || a === 'pred.json')) {
        out.push({ recorderId: rec.id, skipped: 'no pred artifact', added: 0, from: null, to: null });
        continue;
      }
      out.push(await new PredUpdater(rec, { providerUri: this.providerUri, ...options }).update());
    }
    return out;
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
