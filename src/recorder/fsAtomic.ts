import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { RecorderError } from './errors.ts';

/** Temp files start with this; listing skips dot-files, and MLflow never reads a run directory's own files. */
export const TMP_PREFIX = '.qtask-tmp-';

/**
 * Writes `data` to `path` atomically: a temp file in `tmpDir` (the same directory by default) is
 * written, fsynced and renamed over `path`, so readers see the old file or the new one, never a part.
 * Without `fsync` (default false) this is atomic against process crashes (kill -9), not power loss.
 * A different `tmpDir` on the same filesystem keeps stray temp files out of directories whose every
 * file MLflow reads as an entry (params/, metrics/, tags/, artifacts/).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, tmpDir: string = dirname(path), fsync = false): void {
  const tmp = join(tmpDir, `${TMP_PREFIX}${basename(path).replace(/[^\w.-]/g, '_').slice(0, 40)}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (fsync) fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    mkdirSync(dirname(path), { recursive: true });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LockOptions {
  /** Give up after this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** A lock older than this is taken over even if its holder looks alive (another host, a hung process). Default 60 000 ms. */
  staleMs?: number;
}

/**
 * Runs `fn` while holding an O_EXCL lock file. The holder writes `pid@host`; a lock whose holder is
 * a dead process on this host, or which is older than `staleMs`, is taken over. Take-over renames
 * the stale file to a unique name first (only one contender wins the rename) and puts it back with
 * link() if what it moved turned out to be a fresh lock.
 */
export function withLockFile<T>(lockPath: string, fn: () => T, opts: LockOptions = {}): T {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const staleMs = opts.staleMs ?? 60_000;
  const me = `${process.pid}@${hostname()}`;
  const deadline = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  let waitMs = 2;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx', 0o644);
      writeSync(fd, me);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    breakIfStale(lockPath, staleMs);
    if (Date.now() > deadline) {
      throw new RecorderError('MLRUNS_LOCK', `could not take ${lockPath} within ${timeoutMs} ms`, {
        path: lockPath,
        hint: 'another qtask process holds it; if none is running, delete the file',
      });
    }
    Atomics.wait(sleeper, 0, 0, waitMs);
    waitMs = Math.min(waitMs * 2, 50);
  }
  try {
    return fn();
  } finally {
    try {
      if (readFileSync(lockPath, 'utf8') === me) unlinkSync(lockPath);
    } catch {
      // already taken over as stale; nothing of ours to remove
    }
  }
}

function breakIfStale(lockPath: string, staleMs: number): void {
  let holder: string;
  let age: number;
  try {
    holder = readFileSync(lockPath, 'utf8');
    age = Date.now() - statSync(lockPath).mtimeMs;
  } catch {
    return;
  }
  const [pidText, host] = holder.split('@');
  const pid = Number(pidText);
  // An empty file is a holder between open and write: only age can make it stale.
  const deadHere = holder !== '' && host === hostname() && Number.isInteger(pid) && pid > 0 && !isPidAlive(pid);
  if (!deadHere && age < staleMs) return;
  const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(lockPath, aside);
  } catch {
    return;
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    // ignore
  }
  if (moved !== holder) {
    try {
      linkSync(aside, lockPath);
    } catch {
      // someone holds a newer lock already; the displaced one cannot be restored
    }
  }
  rmSync(aside, { force: true });
}
