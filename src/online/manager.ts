/**
 * qlib's `OnlineManager` (workflow/online/manager.py), crash-safe and reloadable:
 * - all state is one JSON file (`<stateDir>/state.json`, temp+rename), never a pickle (W39);
 *   `OnlineManager.load(stateDir, strategies, trainer)` rebuilds it in any process;
 * - the calendar is read fresh from `<providerUri>/calendars/<freq>.txt` at every routine (W24);
 * - a routine for a day already done is a no-op; a routine killed midway and run again ends in the
 *   same state: training is deduplicated by task hash, the online-set switch is one atomic write,
 *   prediction updates skip what is up to date, and the signal file is truncated back to its
 *   committed length before being extended;
 * - signals are extended incrementally, only for days after the last one (no duplicated boundary
 *   date, W32), from this manager's online models only (W31);
 * - delay trainers: end_train runs before the online switch and the prediction update (W34).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Calendar } from '../generate/calendar.ts';
import { normalizeDay } from '../generate/dates.ts';
import { writeFileAtomic } from '../recorder/fsAtomic.ts';
import type { Panel } from '../data/types.ts';
import { OnlineError } from './errors.ts';
import { AverageEnsemble } from '../collect/ensemble.ts';
import { MergeCollector } from '../collect/collector.ts';
import type { Collector } from '../collect/collector.ts';
import { getStore } from '../recorder/R.ts';
import { appendSignals, readSignals, signalBlock } from './signals.ts';
import type { RollingStrategy } from './strategy.ts';
import type { OnlineTrainer, RecorderRef } from './trainer.ts';

export type ManagerStatus = 'online' | 'simulating';

export interface HistoryEntry {
  time: string;
  strategy: string;
  recorderIds: string[];
}

export interface ManagerState {
  format: 'qtask.online_manager/1';
  beginTime: string;
  freq: string;
  status: ManagerStatus;
  /** Strategy names, in order. */
  strategies: string[];
  /** Strategies whose firstTrain completed. */
  firstTrained: string[];
  /** Day of the last completed routine. */
  lastRoutine: string | null;
  history: HistoryEntry[];
  /** Per strategy: every recorder that was ever online (the signal's inputs). */
  everOnline: Record<string, string[]>;
  /** Delay-trainer models whose end_train was postponed during a simulation. */
  pending: { strategy: string; refs: RecorderRef[] }[];
  signals: { end: string | null; bytes: number; rows: number };
}

export interface OnlineManagerOptions {
  strategies: RollingStrategy | RollingStrategy[];
  trainer: OnlineTrainer;
  /** Data directory; its calendar is read at every routine. Required. */
  providerUri: string;
  /** Directory of state.json, signals.csv and the online sets. Required. */
  stateDir: string;
  /** First day. Default: the calendar's last day (qlib). */
  beginTime?: string;
  /** Calendar frequency. Default `day` (the only one supported). */
  freq?: string;
}

export interface RoutineResult {
  time: string;
  /** False when the day was already done. */
  ran: boolean;
  /** New recorders per strategy. */
  trained: Record<string, string[]>;
  /** Signal rows appended. */
  signalRows: number;
  /** Days in the extended range that got no signal row. */
  emptySignalDates: string[];
  /** Runs left RUNNING by a dead process (a killed routine) that this routine ended FAILED. */
  failedOrphans: string[];
}

const STATE_FILE = 'state.json';
const SIGNALS_FILE = 'signals.csv';

function day(value: unknown, path: string): string {
  const d = typeof value === 'string' ? normalizeDay(value) : null;
  if (d === null) throw new OnlineError('ONLINE_CALENDAR', `${JSON.stringify(value)} is not a date`, { path, hint: 'use YYYY-MM-DD' });
  return d;
}

export class OnlineManager {
  readonly strategies: RollingStrategy[];
  readonly trainer: OnlineTrainer;
  readonly providerUri: string;
  readonly stateDir: string;
  state: ManagerState;

  constructor(options: OnlineManagerOptions, state?: ManagerState) {
    const strategies = Array.isArray(options.strategies) ? options.strategies : [options.strategies];
    if (strategies.length === 0) throw new OnlineError('ONLINE_CONFIG', 'an online manager needs at least one strategy', { path: 'strategies', hint: 'add a RollingStrategy' });
    const names = new Set<string>();
    for (const s of strategies) {
      if (names.has(s.name)) throw new OnlineError('ONLINE_CONFIG', `two strategies are named ${JSON.stringify(s.name)}`, { path: `strategies.${s.name}`, hint: 'strategy names must be unique' });
      names.add(s.name);
    }
    const freq = options.freq ?? 'day';
    if (freq !== 'day') throw new OnlineError('ONLINE_CONFIG', `frequency ${JSON.stringify(freq)} is not supported`, { path: 'freq', hint: 'use day' });
    if (typeof options.stateDir !== 'string' || options.stateDir === '') throw new OnlineError('ONLINE_CONFIG', 'stateDir is required', { path: 'stateDir', hint: 'a directory for state.json and signals.csv' });
    this.strategies = strategies;
    this.trainer = options.trainer;
    this.providerUri = options.providerUri;
    this.stateDir = options.stateDir;
    for (const s of strategies) s.bind(join(this.stateDir, 'online'), this.providerUri);
    if (state) {
      this.state = state;
    } else {
      const cal = this.calendar();
      const beginTime = options.beginTime === undefined ? cal[cal.length - 1]! : day(options.beginTime, 'beginTime');
      if (beginTime > cal[cal.length - 1]!) {
        throw new OnlineError('ONLINE_CALENDAR', `beginTime ${beginTime} is after the calendar's last day ${cal[cal.length - 1]}`, { path: 'beginTime', hint: 'update the data first, or choose an earlier beginTime' });
      }
      this.state = {
        format: 'qtask.online_manager/1', beginTime, freq, status: 'online', strategies: strategies.map((s) => s.name), firstTrained: [],
        lastRoutine: null, history: [], everOnline: {}, pending: [], signals: { end: null, bytes: 0, rows: 0 },
      };
    }
  }

  /** The calendar as it is on disk now (never a snapshot, W24). */
  calendar(): readonly string[] {
    return Calendar.fromFile(join(this.providerUri, 'calendars', `${this.state?.freq ?? 'day'}.txt`)).days;
  }

  get statePath(): string {
    return join(this.stateDir, STATE_FILE);
  }

  get signalsPath(): string {
    return join(this.stateDir, SIGNALS_FILE);
  }

  /** Writes the state JSON atomically (default `<stateDir>/state.json`). */
  save(path: string = this.statePath): void {
    const dir = join(path, '..');
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(path, JSON.stringify(this.state, null, 1) + '\n', dir);
  }

  /**
   * Reloads a manager saved by `save`. `strategies` must hold every strategy the state names
   * (ONLINE_UNKNOWN_STRATEGY otherwise), built from the same config.
   */
  /** Closes what the trainer opened (a task pool's store from its URL), so the process can exit. */
  async close(): Promise<void> {
    await this.trainer.close?.();
  }

  static load(stateDir: string, strategies: RollingStrategy[] | Record<string, RollingStrategy>, trainer: OnlineTrainer, providerUri: string): OnlineManager {
    const path = join(stateDir, STATE_FILE);
    if (!existsSync(path)) throw new OnlineError('ONLINE_STATE', `no online state in ${stateDir}`, { path, hint: 'run `qtask online init` first' });
    let state: ManagerState;
    try {
      state = JSON.parse(readFileSync(path, 'utf8')) as ManagerState;
    } catch (e) {
      throw new OnlineError('ONLINE_STATE', `${path} is not valid JSON`, { path, hint: 'it is written by temp+rename only; was it edited?', cause: e });
    }
    if (state.format !== 'qtask.online_manager/1' || !Array.isArray(state.strategies)) throw new OnlineError('ONLINE_STATE', `${path} is not a qtask online state`, { path, hint: 'expected format qtask.online_manager/1' });
    const registry = Array.isArray(strategies) ? Object.fromEntries(strategies.map((s) => [s.name, s])) : strategies;
    const list: RollingStrategy[] = [];
    for (const name of state.strategies) {
      const s = registry[name];
      if (!s) throw new OnlineError('ONLINE_UNKNOWN_STRATEGY', `the state names strategy ${JSON.stringify(name)}, which the configuration does not define`, { path: `strategies.${name}`, hint: `defined: ${Object.keys(registry).join(', ') || '(none)'}` });
      list.push(s);
    }
    for (const name of Object.keys(registry)) if (!state.strategies.includes(name)) list.push(registry[name]!);
    const m = new OnlineManager({ strategies: list, trainer, providerUri, stateDir }, state);
    return m;
  }

  private postponed(): boolean {
    return this.state.status === 'simulating' && this.trainer.isDelay();
  }

  private strategy(name: string): RollingStrategy {
    const s = this.strategies.find((x) => x.name === name);
    if (!s) throw new OnlineError('ONLINE_UNKNOWN_STRATEGY', `unknown strategy ${JSON.stringify(name)}`, { path: 'strategy', hint: `strategies: ${this.strategies.map((x) => x.name).join(', ')}` });
    return s;
  }

  private noteOnline(name: string, ids: readonly string[], time: string): void {
    const all = (this.state.everOnline[name] ??= []);
    for (const id of ids) if (!all.includes(id)) all.push(id);
    this.state.history = this.state.history.filter((h) => !(h.time === time && h.strategy === name));
    this.state.history.push({ time, strategy: name, recorderIds: [...ids] });
  }

  /**
   * qlib's `first_train`: each strategy's first tasks are trained and all go online. Strategies
   * that already completed it are skipped, so it is safe to call again (or after a crash).
   */
  async firstTrain(names?: string[]): Promise<void> {
    const todo = (names ?? this.strategies.map((s) => s.name)).map((n) => this.strategy(n));
    if (todo.some((s) => !this.state.firstTrained.includes(s.name))) this.failOrphanRuns();
    for (const s of todo) {
      if (!this.state.strategies.includes(s.name)) this.state.strategies.push(s.name);
      if (this.state.firstTrained.includes(s.name)) continue;
      s.rollingGen.setCalendar(Calendar.fromDays(this.calendar()));
      const refs = await this.trainer.train(s.firstTasks(), s.experimentName);
      if (this.postponed()) this.state.pending.push({ strategy: s.name, refs });
      else await this.trainer.endTrain(refs, s.experimentName);
      const ids = s.prepareOnlineModels(refs.map((r) => r.recorderId));
      this.noteOnline(s.name, ids, this.state.beginTime);
      this.state.firstTrained.push(s.name);
      this.save();
    }
  }

  /** qlib's `add_strategy`: first-trains the new strategies (they must be in `strategies`). */
  async addStrategy(names: string[]): Promise<void> {
    await this.firstTrain(names);
  }

  /**
   * qlib's `routine`, in two phases. First, for each strategy, the following tasks up to `curTime` are
   * prepared and trained (a delay trainer only logs them). Then, at the routine's end, for each
   * strategy: end_train, the online switch, and (when online, not simulating) the prediction update;
   * then the signals are extended to `curTime`. So a delay trainer fits every strategy's new models at
   * the routine's end (pool workers can help with all of them), and always before the switch (W34).
   * `curTime` defaults to the calendar's last day; a day already done is a no-op. Runs of the
   * strategies' experiments left RUNNING by a dead process (a killed routine) are first ended FAILED.
   */
  async routine(curTime?: string): Promise<RoutineResult> {
    const missing = this.strategies.filter((s) => !this.state.firstTrained.includes(s.name)).map((s) => s.name);
    if (missing.length > 0) {
      throw new OnlineError('ONLINE_NOT_STARTED', `routine before firstTrain (strategies ${missing.join(', ')} have no models)`, { path: 'routine', hint: 'run firstTrain (`qtask online init`) first' });
    }
    const cal = this.calendar();
    const last = cal[cal.length - 1]!;
    const t = curTime === undefined ? last : day(curTime, 'curTime');
    if (t > last) throw new OnlineError('ONLINE_CALENDAR', `the calendar ends on ${last}, before the routine date ${t}`, { path: 'curTime', hint: 'update the data (calendars/day.txt) first, or pass an earlier date' });
    if (t < this.state.beginTime) throw new OnlineError('ONLINE_CALENDAR', `routine date ${t} is before beginTime ${this.state.beginTime}`, { path: 'curTime', hint: `use a date from ${this.state.beginTime} on` });
    const result: RoutineResult = { time: t, ran: false, trained: {}, signalRows: 0, emptySignalDates: [], failedOrphans: [] };
    if (this.state.lastRoutine !== null && t <= this.state.lastRoutine) return result;
    result.ran = true;
    result.failedOrphans = this.failOrphanRuns();
    const trained: RecorderRef[][] = [];
    for (const s of this.strategies) {
      s.rollingGen.setCalendar(Calendar.fromDays(cal));
      trained.push(await this.trainer.train(s.prepareTasks(t), s.experimentName));
    }
    for (const [i, s] of this.strategies.entries()) {
      const refs = trained[i]!;
      if (this.postponed()) {
        if (refs.length > 0) this.state.pending.push({ strategy: s.name, refs });
      } else await this.trainer.endTrain(refs, s.experimentName);
      result.trained[s.name] = refs.map((r) => r.recorderId);
      const ids = s.prepareOnlineModels(refs.map((r) => r.recorderId));
      this.noteOnline(s.name, ids, t);
      if (this.state.status === 'online') await s.tool.updateOnlinePred({ toDate: t });
    }
    if (!this.postponed()) {
      const ext = this.extendSignals(t, cal);
      result.signalRows = ext.rows;
      result.emptySignalDates = ext.emptyDates;
    }
    this.state.lastRoutine = t;
    this.save();
    return result;
  }

  /**
   * Ends FAILED the runs of the strategies' experiments that are RUNNING although their process is
   * gone (dead on this host, or no heartbeat for 60 s): what a routine killed mid-training leaves.
   * They never held a finished model, and training reuse only looks at FINISHED runs, so this only
   * makes the experiment's listing honest. Returns their ids.
   */
  failOrphanRuns(): string[] {
    const out: string[] = [];
    for (const s of this.strategies) {
      const store = getStore(s.mlruns === undefined ? {} : { uri: s.mlruns });
      try {
        store.getExperiment({ experimentName: s.experimentName }, { create: false });
      } catch {
        continue; // nothing trained yet
      }
      out.push(...store.markStaleRunsFailed({ experimentName: s.experimentName }));
    }
    return out;
  }

  /**
   * Appends signals for the trading days after the last signal day up to `to`: the collect stage's
   * AverageEnsemble over `getCollector()` (per strategy, RollingGroup → RollingEnsemble of its
   * ever-online recorders), restricted to the new days.
   */
  private extendSignals(to: string, cal: readonly string[]): { rows: number; emptyDates: string[] } {
    const from = this.state.signals.end;
    const dates = cal.filter((d) => d >= this.state.beginTime && d <= to && (from === null || d > from));
    const block = signalBlock(dates.length === 0 ? null : this.prepareSignals({ after: from, to }), dates);
    mkdirSync(this.stateDir, { recursive: true });
    const bytes = appendSignals(this.signalsPath, this.state.signals.bytes, block.text);
    this.state.signals = { end: dates.length ? dates[dates.length - 1]! : from, bytes, rows: this.state.signals.rows + block.rows };
    return { rows: block.rows, emptyDates: block.emptyDates };
  }

  /**
   * qlib's `prepare_signals` computation, `AverageEnsemble()(getCollector()())`, over every date or
   * only (after, to] (`dates`); null when no strategy has had an online model yet.
   */
  prepareSignals(dates?: { after: string | null; to: string }): Panel | null {
    const collector = this.getCollector(dates);
    if (Object.keys(collector.collectors).length === 0) return null;
    return new AverageEnsemble().ensemble(collector.run());
  }

  /**
   * qlib's `get_collector`: a MergeCollector of each strategy's `getCollector`, restricted to the
   * recorders that were ever online for this manager (qlib collected every FINISHED recorder, W31).
   * `run()` gives `{[strategy, 'pred']: {modelGroup: rolled Panel}}`. Strategies with no online model
   * yet are left out. `dates` trims the predictions to (after, to] first (`keepDates`).
   */
  getCollector(dates?: { after: string | null; to: string }): MergeCollector {
    const collectors: Record<string, Collector> = {};
    for (const s of this.strategies) {
      const ids = this.state.everOnline[s.name] ?? [];
      if (ids.length > 0) collectors[s.name] = s.getCollector({ recorderIds: ids, ...(dates ? { dates } : {}) });
    }
    return new MergeCollector(collectors);
  }

  /** The merged signal so far (committed rows only). */
  getSignals(): Panel {
    return readSignals(this.signalsPath, this.state.signals.bytes);
  }

  /**
   * qlib's `simulate`: firstTrain, then a routine for every trading day from beginTime to `end`
   * (inclusive, beginTime included). Resumable: days already done are skipped. With a delay trainer
   * the end_train calls are postponed to the end of the simulation, then the signals are built.
   */
  async simulate(options: { end: string; frequency?: string; onDay?: (r: RoutineResult) => void }): Promise<Panel> {
    if ((options.frequency ?? 'day') !== 'day') throw new OnlineError('ONLINE_CONFIG', `frequency ${JSON.stringify(options.frequency)} is not supported`, { path: 'frequency', hint: 'use day' });
    const end = day(options.end, 'end');
    const cal = this.calendar();
    if (end > cal[cal.length - 1]!) throw new OnlineError('ONLINE_CALENDAR', `the calendar ends on ${cal[cal.length - 1]}, before the simulation end ${end}`, { path: 'end', hint: 'update the data or choose an earlier end' });
    if (end < this.state.beginTime) throw new OnlineError('ONLINE_CALENDAR', `simulation end ${end} is before beginTime ${this.state.beginTime}`, { path: 'end', hint: 'choose a later end' });
    this.state.status = 'simulating';
    this.save();
    await this.firstTrain();
    for (const t of cal) {
      if (t < this.state.beginTime || t > end) continue;
      if (this.state.lastRoutine !== null && t <= this.state.lastRoutine) continue;
      const r = await this.routine(t);
      options.onDay?.(r);
    }
    if (this.trainer.isDelay()) await this.delayPrepare(end, cal);
    this.state.status = 'online';
    this.save();
    return this.getSignals();
  }

  /** Finishes postponed training, then builds the signals up to `end` (qlib's `delay_prepare`). */
  private async delayPrepare(end: string, cal: readonly string[]): Promise<void> {
    for (const p of this.state.pending) await this.trainer.endTrain(p.refs, this.strategy(p.strategy).experimentName);
    this.state.pending = [];
    this.extendSignals(end, cal);
    this.save();
  }

  /** A summary for `qtask online status`. */
  status(): { beginTime: string; lastRoutine: string | null; status: ManagerStatus; signals: ManagerState['signals']; strategies: { name: string; online: string[]; onlineVersion: number; models: number }[] } {
    return {
      beginTime: this.state.beginTime,
      lastRoutine: this.state.lastRoutine,
      status: this.state.status,
      signals: this.state.signals,
      strategies: this.strategies.map((s) => {
        const set = s.tool.readSet();
        return { name: s.name, online: set.recorderIds, onlineVersion: set.version, models: (this.state.everOnline[s.name] ?? []).length };
      }),
    };
  }
}
