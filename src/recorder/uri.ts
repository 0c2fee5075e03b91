import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecorderError } from './errors.ts';

/** Environment variable naming the mlruns directory (or `file:` URI). */
export const MLRUNS_ENV = 'QTASK_MLRUNS';

/** The part of a qlib-shaped YAML config that names the store: `exp_manager: {uri: …}` (qlib.init's key). */
export interface MlrunsConfig {
  exp_manager?: { uri?: string | null; kwargs?: { uri?: string | null } | null } | null;
}

export interface ResolveMlrunsOptions {
  /** An explicit location (e.g. the `--mlruns` flag); wins over everything. */
  uri?: string;
  /** Parsed YAML config; its `exp_manager.uri` (or `exp_manager.kwargs.uri`, qlib's spelling) is used next. */
  config?: MlrunsConfig;
  /** Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Base for relative paths. Default `process.cwd()`. */
  cwd?: string;
}

/**
 * Absolute mlruns directory. Precedence: `uri` option > config `exp_manager.uri` > `$QTASK_MLRUNS` >
 * `./mlruns` (qlib's default). Accepts paths and `file:` URIs (`file:///abs`, `file:rel`); other
 * schemes (http, sqlite, databricks) are refused: qtask writes MLflow's file-store layout only.
 */
export function resolveMlrunsUri(opts: ResolveMlrunsOptions = {}): string {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const em = opts.config?.exp_manager;
  const fromConfig = em?.uri ?? em?.kwargs?.uri ?? undefined;
  const candidates: [string, string | undefined][] = [
    ['uri', opts.uri],
    ['exp_manager.uri', fromConfig ?? undefined],
    [MLRUNS_ENV, env[MLRUNS_ENV]],
  ];
  for (const [source, value] of candidates) {
    if (value === undefined || value === '') continue;
    return toPath(value, source, cwd);
  }
  return resolve(cwd, 'mlruns');
}

function toPath(value: string, source: string, cwd: string): string {
  if (value.startsWith('file://')) {
    try {
      return fileURLToPath(value);
    } catch (e) {
      throw new RecorderError('MLRUNS_URI', `${source}: ${JSON.stringify(value)} is not a valid file URI`, {
        path: source,
        hint: 'use file:///absolute/path or a plain path',
        cause: e,
      });
    }
  }
  if (value.startsWith('file:')) {
    const rest = value.slice('file:'.length);
    return isAbsolute(rest) ? rest : resolve(cwd, rest);
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(value) && !/^[a-zA-Z]:[\\/]/.test(value)) {
    throw new RecorderError('MLRUNS_URI', `${source}: ${JSON.stringify(value)} is not a local mlruns location`, {
      path: source,
      hint: 'qtask writes MLflow file stores only: give a directory or a file: URI (e.g. file:///data/mlruns)',
    });
  }
  return resolve(cwd, value);
}
