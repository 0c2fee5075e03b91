/**
 * The parsed form of a qlib expression. Every infix operator is already rewritten to its operator
 * call (`$a + 1` → `Add($a,1)`), exactly as qlib's operator overloading does, so the evaluator only
 * sees four node kinds. `pos` is the 1-based column of the token the node starts at, kept so that
 * evaluation-time errors (an unknown `$field`) can point into the source text.
 */
export type ExprNode = FieldNode | NumberNode | StringNode | CallNode;

export interface FieldNode {
  kind: 'field';
  /** Field name without `$`, e.g. `close`. */
  name: string;
  pos: number;
}

export interface NumberNode {
  kind: 'number';
  value: number;
  /** Written as a Python int (no `.`, no exponent): window sizes must be ints. */
  isInt: boolean;
  pos: number;
}

export interface StringNode {
  kind: 'string';
  value: string;
  pos: number;
}

export interface CallNode {
  kind: 'call';
  /** Registered operator name, e.g. `Mean`. */
  op: string;
  args: ExprNode[];
  pos: number;
}

function formatNumber(n: NumberNode): string {
  if (Number.isNaN(n.value)) return 'nan';
  if (!Number.isFinite(n.value)) return n.value > 0 ? 'inf' : '-inf';
  const s = String(n.value);
  // Python prints floats with a fractional part (`5.0`); keep int and float literals distinct.
  return n.isInt || /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * Canonical text of a node in qlib's `str(expr)` style (`Div(Ref($close,5),$close)`): no spaces,
 * operator calls only. Equal canonical text means equal values, so it keys the caches.
 */
export function canonical(node: ExprNode): string {
  switch (node.kind) {
    case 'field':
      return `$${node.name}`;
    case 'number':
      return formatNumber(node);
    case 'string':
      return JSON.stringify(node.value);
    case 'call':
      return `${node.op}(${node.args.map(canonical).join(',')})`;
  }
}
