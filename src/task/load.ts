/**
 * Reading task definitions from JSON or YAML text: one task, a list of tasks, or (YAML) several
 * `---` documents. Every task is validated; all problems across the file are reported together.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { QtaskError, ValidationError } from '../errors.ts';
import type { ValidationIssue } from '../errors.ts';
import type { TaskDef } from './types.ts';
import { validateTaskDef } from './definition.ts';

/** Codes: `FILE_NOT_FOUND`, `FILE_READ`, `PARSE_JSON`, `PARSE_YAML`, `EMPTY_DOCUMENT`, `BAD_FORMAT`. */
export class TaskFileError extends QtaskError {}

export type TaskFileFormat = 'json' | 'yaml' | 'auto';

export interface LoadOptions {
  /**
   * `json`, `yaml`, or `auto` (default): JSON when the text parses as JSON, YAML otherwise
   * (YAML is a superset of JSON, so anything JSON-like still loads).
   */
  format?: TaskFileFormat;
  /** File name for messages. Default `<input>`. */
  source?: string;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

/**
 * Offset of the first JSON syntax error in `text` (V8's messages do not always carry a position).
 * A plain recursive-descent scan of RFC 8259.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const str = (): void => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      const c = text.charCodeAt(i);
      if (c < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
  return Math.min(i, text.length);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const { line, col } = lineCol(text, jsonErrorOffset(text));
    throw new TaskFileError('PARSE_JSON', `${source}:${line}:${col}: invalid JSON: ${(e as Error).message.replace(/, "[\s\S]*" is not valid JSON$/, '').split('\n')[0]}`, {
      hint: 'fix the JSON syntax at that line and column',
      cause: e,
    });
  }
}

/** Each YAML document's value; empty documents are dropped. */
function parseYaml(text: string, source: string): unknown[] {
  // `merge`: qlib's YAML configs (PyYAML) use `<<: *anchor` merge keys; YAML 1.2 would keep `<<` as a key.
  const docs = parseAllDocuments(text, { merge: true });
  const list = Array.isArray(docs) ? docs : [];
  const values: unknown[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
      const message = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new TaskFileError('PARSE_YAML', `${where}: invalid YAML: ${message}`, { hint: 'fix the YAML syntax at that line and column', cause: err });
    }
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

/**
 * qrun workflow files wrap the task as `{qlib_init, task: {model, dataset, record}}`; such a
 * document is read as its `task`.
 */
function unwrapWorkflow(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (obj.task !== undefined && obj.model === undefined && obj.dataset === undefined) return obj.task;
  }
  return value;
}

/**
 * Task definitions from text: one task object or a list (YAML may also hold several `---`
 * documents, each a task or a list). Returns validated, normalised copies (see `validateTaskDef`).
 * Throws `TaskFileError` (`PARSE_JSON`/`PARSE_YAML` with `source:line:col`, `EMPTY_DOCUMENT`) or
 * one `ValidationError` listing every problem of every task (paths prefixed `[i]` for lists).
 */
export function loadTaskDefs(text: string, options: LoadOptions = {}): TaskDef[] {
  const source = options.source ?? '<input>';
  const format = options.format ?? 'auto';
  if (format !== 'json' && format !== 'yaml' && format !== 'auto') {
    throw new TaskFileError('BAD_FORMAT', `unknown format ${JSON.stringify(format)}`, { path: 'format', hint: 'use json, yaml or auto' });
  }
  if (text.trim() === '') {
    throw new TaskFileError('EMPTY_DOCUMENT', `${source}: the document is empty`, { hint: 'give one task object or a list of tasks' });
  }
  let values: unknown[];
  if (format === 'json') values = [parseJson(text, source)];
  else if (format === 'yaml') values = parseYaml(text, source);
  else {
    let parsed: { ok: true; value: unknown } | { ok: false };
    try {
      parsed = { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      parsed = { ok: false };
    }
    values = parsed.ok ? [parsed.value] : parseYaml(text, source);
  }
  const items: unknown[] = [];
  let isList = values.length > 1;
  for (const v of values) {
    const u = unwrapWorkflow(v);
    if (Array.isArray(u)) {
      isList = true;
      items.push(...u);
    } else items.push(u);
  }
  if (items.length === 0) {
    throw new TaskFileError('EMPTY_DOCUMENT', `${source}: no task definitions found`, { hint: 'give one task object or a non-empty list of tasks' });
  }
  const issues: ValidationIssue[] = [];
  const defs: TaskDef[] = [];
  items.forEach((item, i) => {
    try {
      defs.push(validateTaskDef(item, isList ? { path: `[${i}]` } : {}));
    } catch (e) {
      if (e instanceof ValidationError) issues.push(...e.issues);
      else throw e;
    }
  });
  if (issues.length > 0) {
    throw new ValidationError(issues, {
      source,
      hint: 'dates are real YYYY-MM-DD days (or null for an open end); components are {class, module_path?, kwargs?}',
    });
  }
  return defs;
}

/** Reads fd 0 when `path` is `-`. */
function readSource(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new TaskFileError('FILE_NOT_FOUND', `task file ${JSON.stringify(path)} does not exist`, {
        hint: 'check the path (relative paths are resolved from the current directory)',
        cause: e,
      });
    }
    throw new TaskFileError('FILE_READ', `cannot read task file ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * `loadTaskDefs` on a file (`-` reads stdin). The format follows the extension (`.json`, `.yaml`,
 * `.yml`), else `auto`. A missing file is `TaskFileError` `FILE_NOT_FOUND`.
 */
export function loadTaskDefsFile(path: string, options: Omit<LoadOptions, 'source'> = {}): TaskDef[] {
  const text = readSource(path);
  const ext = extname(path).toLowerCase();
  const byExt: TaskFileFormat = ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : 'auto';
  return loadTaskDefs(text, { format: options.format ?? byExt, source: path === '-' ? '<stdin>' : path });
}
