import YAML from 'yaml';

/**
 * meta.yaml reading and writing. Output follows PyYAML's `yaml.dump(default_flow_style=False)` as
 * MLflow calls it: keys sorted, plain scalars where safe, single-quoted strings otherwise, `null`, `[]`.
 * Reading uses YAML 1.1 rules like PyYAML, so files MLflow wrote parse to the same values.
 */

export type MetaScalar = string | number | null | readonly never[];
export type MetaDict = Record<string, MetaScalar>;

function quote(s: string): string {
  if (s !== '' && !/^[\s]|[\s]$/.test(s) && /^[A-Za-z0-9_/.][A-Za-z0-9_\-/.:@+ ]*$/.test(s) && !/: | #/.test(s)) {
    // Plain only when both YAML 1.1 (PyYAML) and 1.2 readers get the same string back.
    try {
      if (YAML.parse(s, { version: '1.1' }) === s && YAML.parse(s) === s) return s;
    } catch {
      // fall through to quoting
    }
  }
  if (/^[\x20-\x7e\u00a0-\uffff]*$/.test(s)) return `'${s.replace(/'/g, "''")}'`;
  return JSON.stringify(s);
}

export function dumpMeta(meta: MetaDict): string {
  const lines: string[] = [];
  for (const key of Object.keys(meta).sort()) {
    const v = meta[key];
    let text: string;
    if (v === null || v === undefined) text = 'null';
    else if (Array.isArray(v)) text = '[]';
    else if (typeof v === 'number') text = Number.isInteger(v) ? String(v) : String(v);
    else text = quote(v as string);
    lines.push(`${key}: ${text}`);
  }
  return `${lines.join('\n')}\n`;
}

// Plain scalars of word characters that YAML 1.1 (the `yaml` package's 1.1 schema) reads as
// something other than a string: booleans, nulls, and ints/floats written with digits, 0b, 0x or e.
const YAML11_NON_STRING_WORD = /^(?:[YyNn]|[Yy]es|YES|[Nn]o|NO|[Tt]rue|TRUE|[Ff]alse|FALSE|[Oo]n|ON|[Oo]ff|OFF|[Nn]ull|NULL|[0-9][0-9_]*|0b[01_]+|0x[0-9a-fA-F_]+|(?:[0-9][0-9_]*)?[eE][0-9]+)$/;

/**
 * The flat `key: value` meta.yaml that MLflow and dumpMeta write, read line by line, or undefined
 * for anything it is not sure to read as YAML 1.1 does (the caller then parses it with `yaml`).
 * Listing runs reads one meta.yaml per run; the full YAML parser was most of that time.
 */
export function parseMetaFast(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const colon = line.indexOf(': ');
    if (colon <= 0) return undefined;
    const key = line.slice(0, colon);
    if (!/^[a-z_]+$/.test(key) || key === '__proto__' || YAML11_NON_STRING_WORD.test(key) || Object.hasOwn(out, key)) return undefined;
    const v = line.slice(colon + 2);
    if (v === 'null') out[key] = null;
    else if (v === '[]') out[key] = [];
    else if (/^(?:0|-?[1-9][0-9]{0,14})$/.test(v)) out[key] = Number(v);
    else if (/^'[^'\x00-\x08\x0a-\x1f\x7f-\x9f]*'$/.test(v)) out[key] = v.slice(1, -1);
    else if (/^[A-Za-z0-9_]+$/.test(v) && !YAML11_NON_STRING_WORD.test(v)) out[key] = v;
    else if (/^file:\/\/\/[A-Za-z0-9_\-/.]*$/.test(v)) out[key] = v;
    else return undefined;
  }
  return lines.length ? out : undefined;
}

/** Parses a meta.yaml; throws on YAML syntax errors or a top level that is not a mapping. */
export function parseMeta(text: string): Record<string, unknown> {
  const fast = parseMetaFast(text);
  if (fast) return fast;
  const doc: unknown = YAML.parse(text, { version: '1.1' });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('meta.yaml is not a mapping');
  return doc as Record<string, unknown>;
}
