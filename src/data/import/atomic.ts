/**
 * Build-then-rename: a dataset is written into a temporary sibling directory and renamed over the
 * target only when complete, so a failed import never leaves a half-written target.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { optionError } from './errors.ts';

/** A fresh temporary directory next to `target` (same file system, so the final rename is atomic). */
export function makeStagingDir(target: string, purpose: string): string {
  const abs = resolve(target);
  const parent = dirname(abs);
  mkdirSync(parent, { recursive: true });
  const dir = join(parent, `.${basename(abs)}.qtask-${purpose}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir);
  return dir;
}

/** True when `dir` does not exist or is an empty directory. */
export function isAbsentOrEmpty(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return statSync(dir).isDirectory() && readdirSync(dir).length === 0;
}

/**
 * Moves `staging` to `target`. An existing target is first renamed aside and removed after the swap;
 * if the second rename fails the old target is put back.
 */
export function swapIntoPlace(staging: string, target: string): void {
  const abs = resolve(target);
  if (!existsSync(abs)) {
    renameSync(staging, abs);
    return;
  }
  if (!statSync(abs).isDirectory()) {
    throw optionError('IMPORT_TARGET_EXISTS', `${abs} exists and is not a directory`, 'choose a directory path for the target');
  }
  const aside = `${staging}-previous`;
  renameSync(abs, aside);
  try {
    renameSync(staging, abs);
  } catch (e) {
    renameSync(aside, abs);
    throw e;
  }
  rmSync(aside, { recursive: true, force: true });
}

/** Removes a staging directory, ignoring errors (used on the failure path). */
export function discardStaging(staging: string): void {
  try {
    rmSync(staging, { recursive: true, force: true });
  } catch {
    // Best effort: the failure being reported matters more than a leftover temp dir.
  }
}
