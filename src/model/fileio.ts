/** Atomic model files: write to a temporary name in the same directory, then rename. */
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from './errors.ts';
import type { ModelManifest } from './types.ts';

export const MANIFEST_FILE = 'model.json';

export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeManifest(dir: string, manifest: ModelManifest): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

export function readManifest(dir: string): ModelManifest {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) {
    throw new ModelError('MODEL_FILE', `no ${MANIFEST_FILE} in ${dir}`, { path: file, hint: 'pass the directory a model was saved to' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelError('MODEL_FILE', `${MANIFEST_FILE} is not valid JSON`, { path: file, hint: 'the file is damaged; save the model again', cause: e });
  }
  const m = parsed as Partial<ModelManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== 'qtask-model' || m.version !== 1 || typeof m.class !== 'string' || !Array.isArray(m.feature_names) || typeof m.state !== 'object' || m.state === null) {
    throw new ModelError('MODEL_FILE', `${MANIFEST_FILE} is not a qtask model manifest (format qtask-model, version 1)`, { path: file, hint: 'see docs/models.md for the format' });
  }
  return m as ModelManifest;
}
