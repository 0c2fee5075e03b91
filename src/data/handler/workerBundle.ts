/**
 * The data worker threads load plain JavaScript: `parallelWorker.ts` and the qtask modules it
 * imports, bundled once by esbuild into a cached `.mjs`. Why: a worker that loads TypeScript through
 * tsx spends 260–330 ms (tsx's loader registration + transpiling ~28 modules) before it computes
 * anything, which is as long as a small fetch; the bundle starts in ~50 ms.
 *
 * Only qtask's own source files are compiled (the entry and what it imports); packages stay
 * external. The bundle's file name carries a sha256 over the contents of every input, so a file of
 * that name is always the bundle of exactly those sources: a source edit changes the key and the
 * next fetch rebuilds. Files are written to a temporary name and renamed, so concurrent processes
 * never see a partial bundle.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface WorkerBundleOptions {
  /** TypeScript entry file (absolute path). */
  entry: string;
  /** Directory the bundle and its input list are cached in; created when missing. */
  cacheDir: string;
}

export interface WorkerBundle {
  /** Absolute path of the bundled `.mjs`. */
  path: string;
  /** Cache key: sha256 over the inputs' paths and contents. */
  key: string;
  /** True when this call ran esbuild (no bundle matched the current sources). */
  built: boolean;
}

/** Input list of the last build, relative to nothing (absolute paths), read back to check freshness. */
interface Manifest {
  inputs: string[];
}

/** Bundles older than this that no longer match are deleted on a rebuild (a running process may still be about to load a recent one). */
const STALE_BUNDLE_MS = 24 * 3600_000;

/** sha256 over each input's absolute path and contents; null if one cannot be read (deleted or renamed). */
export function bundleKey(inputs: readonly string[]): string | null {
  const h = createHash('sha256');
  for (const file of [...inputs].sort()) {
    let text: Buffer;
    try {
      text = readFileSync(file);
    } catch {
      return null;
    }
    h.update(file).update('\0').update(String(text.length)).update('\0').update(text);
  }
  return h.digest('hex').slice(0, 32);
}

function writeAtomically(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

function manifestPath(options: WorkerBundleOptions): string {
  return join(options.cacheDir, `${basename(options.entry).replace(/\.[cm]?ts$/, '')}.inputs.json`);
}

function bundlePath(options: WorkerBundleOptions, key: string): string {
  return join(options.cacheDir, `${basename(options.entry).replace(/\.[cm]?ts$/, '')}-${key}.mjs`);
}

/** The cached bundle if one matches the current sources, else null. */
function cachedBundle(options: WorkerBundleOptions): WorkerBundle | null {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(options), 'utf8')) as Manifest;
  } catch {
    return null;
  }
  if (!Array.isArray(manifest.inputs) || !manifest.inputs.includes(options.entry)) return null;
  const key = bundleKey(manifest.inputs);
  if (key === null) return null;
  const path = bundlePath(options, key);
  try {
    statSync(path);
  } catch {
    return null;
  }
  return { path, key, built: false };
}

/**
 * Returns the bundle of `entry`, building it with esbuild when no cached one matches the current
 * sources. Throws if esbuild is unavailable or the build fails (callers fall back to tsx).
 */
export function ensureWorkerBundle(options: WorkerBundleOptions): WorkerBundle {
  const cached = cachedBundle(options);
  if (cached) return cached;
  // esbuild is loaded only to build: the usual fetch finds a cached bundle and never pays for it.
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const workingDir = resolve(options.entry, '..');
  const buildStarted = Date.now();
  const result = esbuild.buildSync({
    entryPoints: [options.entry],
    absWorkingDir: workingDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    metafile: true,
    outfile: join(options.cacheDir, 'out.mjs'),
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no output');
  const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(workingDir, p));
  // The key is hashed from the files on disk after the build, so an input edited while esbuild read
  // it would name a bundle of the OLD code with the NEW sources' key: such a build is not cached
  // (the caller falls back to tsx for this fetch; the next one rebuilds).
  for (const [rel, meta] of Object.entries(result.metafile.inputs)) {
    const input = resolve(workingDir, rel);
    const now = statSync(input, { throwIfNoEntry: false });
    if (!now || now.mtimeMs > buildStarted || now.size !== meta.bytes) throw new Error(`${input} changed while the worker bundle was built`);
  }
  const key = bundleKey(inputs);
  if (key === null) throw new Error('a bundle input vanished during the build');
  mkdirSync(options.cacheDir, { recursive: true });
  const path = bundlePath(options, key);
  writeAtomically(path, output.contents);
  writeAtomically(manifestPath(options), JSON.stringify({ inputs } satisfies Manifest));
  pruneStale(options, path);
  return { path, key, built: true };
}

function pruneStale(options: WorkerBundleOptions, keep: string): void {
  const prefix = `${basename(options.entry).replace(/\.[cm]?ts$/, '')}-`;
  try {
    for (const name of readdirSync(options.cacheDir)) {
      const file = join(options.cacheDir, name);
      if (!name.startsWith(prefix) || file === keep) continue;
      if (Date.now() - statSync(file).mtimeMs > STALE_BUNDLE_MS) unlinkSync(file);
    }
  } catch {
    // pruning is housekeeping; a concurrent prune or a read-only directory changes nothing here
  }
}

/** What a data worker thread loads: the bundle, or the TypeScript entry through tsx when bundling failed. */
export interface WorkerEntry {
  /** URL the worker imports. */
  url: string;
  /** True for the bundled JavaScript; false when the worker must register tsx first. */
  bundled: boolean;
}

const WORKER_SOURCE = fileURLToPath(new URL('./parallelWorker.ts', import.meta.url));
/** `<repo>/node_modules/.cache/qtask`: next to the packages, where bare imports would resolve. */
const CACHE_DIR = fileURLToPath(new URL('../../../node_modules/.cache/qtask/', import.meta.url));

let entry: WorkerEntry | undefined;

/**
 * The data workers' entry for this process, checked once per process (the sources do not change
 * under a running process in a way it could use). Never throws: if the bundle cannot be built or
 * written, workers load the TypeScript through tsx as before (slower start-up, same results).
 */
export function workerEntry(): WorkerEntry {
  if (entry) return entry;
  try {
    entry = { url: pathToFileURL(ensureWorkerBundle({ entry: WORKER_SOURCE, cacheDir: CACHE_DIR }).path).href, bundled: true };
  } catch {
    entry = { url: pathToFileURL(WORKER_SOURCE).href, bundled: false };
  }
  return entry;
}
