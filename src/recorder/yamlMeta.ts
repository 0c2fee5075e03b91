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

/** Parses a meta.yaml; throws on YAML syntax errors or a top level that is not a mapping. */
export function parseMeta(text: string): Record<string, unknown> {
  const doc: unknown = YAML.parse(text, { version: '1.1' });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('meta.yaml is not a mapping');
  return doc as Record<string, unknown>;
}
