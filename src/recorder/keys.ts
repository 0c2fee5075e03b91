import { RecorderError } from './errors.ts';

/**
 * MLflow's rule for param, metric and tag keys (they become file paths): alphanumerics, `_ - . /`
 * and spaces, no `..` segment, not absolute. Artifact names follow the same rule.
 */
export function assertKey(kind: 'param' | 'metric' | 'tag' | 'artifact' | 'artifact path', key: string, path: string = kind): void {
  const bad = (why: string): never => {
    throw new RecorderError('RECORDER_KEY', `invalid ${kind} name ${JSON.stringify(key)}: ${why}`, {
      path,
      hint: 'use letters, digits, "_", "-", ".", " " and "/" (no leading "/", no ".." segment), as MLflow requires',
    });
  };
  if (typeof key !== 'string' || key.length === 0) bad('empty');
  if (key.length > 250) bad('longer than 250 characters');
  if (!/^[\w\-. /]+$/.test(key)) bad('unsupported character');
  if (key.startsWith('/') || key.endsWith('/')) bad('leading or trailing "/"');
  const segs = key.split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..')) bad('empty, "." or ".." path segment');
  if (segs.some((s) => s.startsWith('.qtask'))) bad('".qtask" names are reserved');
}
