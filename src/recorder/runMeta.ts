import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RecorderError } from './errors.ts';
import { isPidAlive, writeFileAtomic } from './fsAtomic.ts';
import { dumpMeta, parseMeta } from './yamlMeta.ts';
import type { MetaDict } from './yamlMeta.ts';

/** MLflow's RunStatus enum, stored as these integers in a run's meta.yaml. */
export const RUN_STATUS_CODES = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 } as const;
export type RunStatus = keyof typeof RUN_STATUS_CODES;
const STATUS_BY_CODE = new Map<number, RunStatus>(Object.entries(RUN_STATUS_CODES).map(([k, v]) => [v, k as RunStatus]));

export type LifecycleStage = 'active' | 'deleted';

export const META_FILE = 'meta.yaml';
/** Run-directory file (not read by MLflow) naming the owning process; its mtime is the heartbeat. */
export const OWNER_FILE = '.qtask-owner';
/** Sub-folders of an experiment directory that are not runs (MLflow's RESERVED_EXPERIMENT_FOLDERS). */
export const RESERVED_EXPERIMENT_FOLDERS = new Set(['tags', 'datasets', 'traces']);
export const TRASH_FOLDER = '.trash';
export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';

export interface RunMeta {
  runId: string;
  runName: string;
  experimentId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  lifecycleStage: LifecycleStage;
  artifactUri: string;
  userId: string;
  deletedTime: number | null;
}

export interface Heartbeat {
  pid: number;
  hostname: string;
  /** Last heartbeat, ms since the epoch. */
  at: number;
}

export function runMetaToDict(m: RunMeta): MetaDict {
  return {
    artifact_uri: m.artifactUri,
    deleted_time: m.deletedTime,
    end_time: m.endTime,
    entry_point_name: '',
    experiment_id: m.experimentId,
    lifecycle_stage: m.lifecycleStage,
    run_id: m.runId,
    run_name: m.runName,
    run_uuid: m.runId,
    source_name: '',
    source_type: 4,
    source_version: '',
    start_time: m.startTime,
    status: RUN_STATUS_CODES[m.status],
    tags: [],
    user_id: m.userId,
  };
}

export function writeRunMeta(runDir: string, m: RunMeta, fsync = false): void {
  writeFileAtomic(join(runDir, META_FILE), dumpMeta(runMetaToDict(m)), runDir, fsync);
}

function corrupt(runDir: string, why: string, cause?: unknown): RecorderError {
  return new RecorderError('RUN_CORRUPT', `run directory ${runDir} is corrupt: ${why}`, {
    path: runDir,
    hint: 'the run cannot be read; inspect or delete the directory (other runs are unaffected)',
    ...(cause === undefined ? {} : { cause }),
  });
}

const asInt = (v: unknown): number | null | undefined =>
  v === null || v === undefined ? null : typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined;

/** Reads and checks a run's meta.yaml; throws `RUN_CORRUPT` for anything MLflow could not load either. */
export function readRunMeta(runDir: string, runId: string, experimentId: string): RunMeta {
  let text: string;
  try {
    text = readFileSync(join(runDir, META_FILE), 'utf8');
  } catch (e) {
    throw corrupt(runDir, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'meta.yaml is missing (a run being created has none for a moment)' : 'meta.yaml is unreadable', e);
  }
  let d: Record<string, unknown>;
  try {
    d = parseMeta(text);
  } catch (e) {
    throw corrupt(runDir, `meta.yaml is not valid YAML (${(e as Error).message.split('\n')[0]})`, e);
  }
  const id = String(d.run_id ?? d.run_uuid ?? '');
  if (id !== runId) throw corrupt(runDir, `run_id ${JSON.stringify(id)} does not match the directory name`);
  const exp = d.experiment_id === undefined || d.experiment_id === null ? '' : String(d.experiment_id);
  if (exp !== experimentId) throw corrupt(runDir, `experiment_id ${JSON.stringify(exp)} does not match the experiment ${experimentId}`);
  const statusCode = d.status === undefined ? 1 : d.status;
  const status = typeof statusCode === 'number' ? STATUS_BY_CODE.get(statusCode) : typeof statusCode === 'string' && statusCode in RUN_STATUS_CODES ? (statusCode as RunStatus) : undefined;
  if (status === undefined) throw corrupt(runDir, `unknown status ${JSON.stringify(statusCode)}`);
  const startTime = asInt(d.start_time);
  const endTime = asInt(d.end_time);
  const deletedTime = asInt(d.deleted_time);
  if (startTime === undefined || startTime === null) throw corrupt(runDir, 'start_time is missing or not an integer');
  if (endTime === undefined) throw corrupt(runDir, 'end_time is not an integer');
  const stage = d.lifecycle_stage ?? 'active';
  if (stage !== 'active' && stage !== 'deleted') throw corrupt(runDir, `unknown lifecycle_stage ${JSON.stringify(stage)}`);
  return {
    runId,
    runName: d.run_name === null || d.run_name === undefined ? '' : String(d.run_name),
    experimentId,
    status,
    startTime,
    endTime,
    lifecycleStage: stage,
    artifactUri: String(d.artifact_uri ?? ''),
    userId: d.user_id === null || d.user_id === undefined ? '' : String(d.user_id),
    deletedTime: deletedTime ?? null,
  };
}

export function readHeartbeat(runDir: string): Heartbeat | undefined {
  try {
    const p = join(runDir, OWNER_FILE);
    const [pidText, host] = readFileSync(p, 'utf8').trim().split('@');
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || !host) return undefined;
    return { pid, hostname: host, at: statSync(p).mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * A RUNNING run nobody is running any more: its owner is a dead process on this host, or its
 * heartbeat is older than `staleAfterMs`. Runs written by other tools (no owner file) are never stale.
 */
export function isStale(status: RunStatus, hb: Heartbeat | undefined, staleAfterMs: number, now = Date.now()): boolean {
  if (status !== 'RUNNING' || hb === undefined) return false;
  if (hb.hostname === hostname() && hb.pid !== process.pid && !isPidAlive(hb.pid)) return true;
  return now - hb.at > staleAfterMs;
}
