/** Kwargs validation shared by the models: every problem becomes a MODEL_KWARGS error with its path. */
import { ModelError } from './errors.ts';

export type Kwargs = Record<string, unknown>;

export function asKwargs(value: unknown, path: string, className: string): Kwargs {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelError('MODEL_KWARGS', `${className} kwargs must be a mapping`, { path, hint: 'e.g. kwargs: {estimator: ols}' });
  }
  return value as Kwargs;
}

export function rejectUnknown(kwargs: Kwargs, allowed: readonly string[], path: string, className: string): void {
  for (const k of Object.keys(kwargs)) {
    if (!allowed.includes(k)) {
      throw new ModelError('MODEL_KWARGS', `${className} has no argument ${k}`, { path: `${path}.${k}`, hint: `arguments: ${allowed.join(', ')}` });
    }
  }
}

export function numberArg(kwargs: Kwargs, key: string, def: number, path: string, check?: { min?: number; integer?: boolean; positive?: boolean }): number {
  const v = kwargs[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ModelError('MODEL_KWARGS', `expected a number, got ${describe(v)}`, { path: `${path}.${key}`, hint: `e.g. ${key}: ${def}` });
  }
  if (check?.integer && !Number.isInteger(v)) {
    throw new ModelError('MODEL_KWARGS', `expected an integer, got ${v}`, { path: `${path}.${key}`, hint: `e.g. ${key}: ${def}` });
  }
  if (check?.min !== undefined && v < check.min) {
    throw new ModelError('MODEL_KWARGS', `must be ≥ ${check.min}, got ${v}`, { path: `${path}.${key}`, hint: `e.g. ${key}: ${def}` });
  }
  if (check?.positive && !(v > 0)) {
    throw new ModelError('MODEL_KWARGS', `must be > 0, got ${v}`, { path: `${path}.${key}`, hint: `e.g. ${key}: ${def}` });
  }
  return v;
}

export function boolArg(kwargs: Kwargs, key: string, def: boolean, path: string): boolean {
  const v = kwargs[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') {
    throw new ModelError('MODEL_KWARGS', `expected true or false, got ${describe(v)}`, { path: `${path}.${key}`, hint: `e.g. ${key}: ${def}` });
  }
  return v;
}

export function enumArg<T extends string>(kwargs: Kwargs, key: string, allowed: readonly T[], def: T, path: string): T {
  const v = kwargs[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ModelError('MODEL_KWARGS', `expected one of ${allowed.join(', ')}, got ${describe(v)}`, { path: `${path}.${key}`, hint: `e.g. ${key}: ${def}` });
  }
  return v as T;
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
