/**
 * Parser for qlib's expression syntax. qlib rewrites `$x` to `Feature("x")` and `Name(` to
 * `Operators.Name(` with regexes and then runs Python's `eval`, so the grammar and precedence are
 * Python's. From loosest to tightest binding:
 *
 *   comparisons `> >= < <= == !=`  (a chain `a < b < c` is rejected, see below)
 *   `|`                              → Or
 *   `&`                              → And
 *   `+ -`                            → Add, Sub
 *   `* /`                            → Mul, Div
 *   unary `-` `+`
 *   `**` (right-associative)         → Power
 *   literals, `$field`, `Name(args)`, `( … )`
 *
 * Because `&` and `|` bind tighter than comparisons, `$a > 1 & $b < 2` is Python's chained
 * comparison `$a > (1 & $b) < 2`, which qlib evaluates to just the last comparison. We reject any
 * comparison chain with `EXPR_CHAINED_COMPARISON` instead of silently reproducing that.
 *
 * Extensions over qlib (which raises on these): unary minus on a series (`-$x` means `Sub(0,$x)`).
 * Arithmetic on two number literals is folded, as Python does before qlib sees it.
 */
import type { CallNode, ExprNode, NumberNode } from './ast.ts';
import { ExpressionError } from './errors.ts';
import { OPERATORS, ROLLING_FUNCS, UNSUPPORTED_OPERATORS, type ArgKind } from './operators.ts';

type TokenKind = 'number' | 'string' | 'field' | 'pitField' | 'ident' | 'op' | 'lparen' | 'rparen' | 'comma' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  /** 1-based column. */
  col: number;
  value?: number | string;
  isInt?: boolean;
}

const FIELD_CHAR = /[\p{L}\p{N}\p{Mn}\p{Pc}、：（）]/u;
const IDENT_START = /[\p{L}_]/u;
const IDENT_CHAR = /[\p{L}\p{N}_]/u;
const NUMBER = /^(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?/;
const OPERATORS_TEXT = ['**', '>=', '<=', '==', '!=', '>', '<', '+', '-', '*', '/', '&', '|'];

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const chars = Array.from(src); // code points, so columns count characters, not UTF-16 units
  const text = chars.join('');
  let i = 0;
  const err = (reason: string, col: number, hint?: string): never => {
    throw new ExpressionError('EXPR_PARSE', reason, src, col, hint ? { hint } : {});
  };
  while (i < chars.length) {
    const c = chars[i];
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '$') {
      let j = i + 1;
      const pit = chars[j] === '$';
      if (pit) j++;
      const start = j;
      while (j < chars.length && FIELD_CHAR.test(chars[j])) j++;
      if (j === start) err('expected a field name after "$"', col, 'fields are written like $close');
      const name = chars.slice(start, j).join('');
      tokens.push({ kind: pit ? 'pitField' : 'field', text: chars.slice(i, j).join(''), col, value: name });
      i = j;
      continue;
    }
    if (/\d/.test(c) || (c === '.' && /\d/.test(chars[i + 1] ?? ''))) {
      const rest = chars.slice(i).join('');
      const m = NUMBER.exec(rest);
      if (!m) err('malformed number', col);
      const lit = m![0];
      const n = Number(lit.replace(/_/g, ''));
      if (Number.isNaN(n) || /_$|_\.|\._|__/.test(lit)) err(`malformed number ${JSON.stringify(lit)}`, col);
      const after = chars[i + Array.from(lit).length];
      if (after !== undefined && IDENT_CHAR.test(after)) err(`malformed number ${JSON.stringify(lit + after)}`, col);
      tokens.push({ kind: 'number', text: lit, col, value: n, isInt: !/[.eE]/.test(lit) });
      i += Array.from(lit).length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let value = '';
      while (j < chars.length && chars[j] !== c) {
        if (chars[j] === '\\' && j + 1 < chars.length) {
          value += chars[j + 1];
          j += 2;
        } else value += chars[j++];
      }
      if (j >= chars.length) err('unterminated string', col, `close it with ${c}`);
      tokens.push({ kind: 'string', text: chars.slice(i, j + 1).join(''), col, value });
      i = j + 1;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < chars.length && IDENT_CHAR.test(chars[j])) j++;
      tokens.push({ kind: 'ident', text: chars.slice(i, j).join(''), col });
      i = j;
      continue;
    }
    if (c === '(') {
      tokens.push({ kind: 'lparen', text: c, col });
      i++;
      continue;
    }
    if (c === ')') {
      tokens.push({ kind: 'rparen', text: c, col });
      i++;
      continue;
    }
    if (c === ',') {
      tokens.push({ kind: 'comma', text: c, col });
      i++;
      continue;
    }
    const two = c + (chars[i + 1] ?? '');
    const op = OPERATORS_TEXT.find((o) => (o.length === 2 ? o === two : o === c));
    if (op) {
      tokens.push({ kind: 'op', text: op, col });
      i += op.length;
      continue;
    }
    const hints: Record<string, string> = {
      '~': 'use Not(x)',
      '%': 'qlib expressions have no modulo',
      '^': 'qlib expressions have no xor; use ** for powers',
      '!': 'use Not(x) or !=',
      '=': 'use == to compare',
    };
    err(`unexpected character ${JSON.stringify(c)}`, col, hints[c]);
  }
  tokens.push({ kind: 'eof', text: '', col: text.length + 1 });
  return tokens;
}

const COMPARISON_OPS: Record<string, string> = { '>': 'Gt', '>=': 'Ge', '<': 'Lt', '<=': 'Le', '==': 'Eq', '!=': 'Ne' };

function fold(op: string, a: number, b: number): number {
  switch (op) {
    case 'Add': return a + b;
    case 'Sub': return a - b;
    case 'Mul': return a * b;
    case 'Div': return a / b;
    case 'Power': return a ** b;
    case 'Gt': return a > b ? 1 : 0;
    case 'Ge': return a >= b ? 1 : 0;
    case 'Lt': return a < b ? 1 : 0;
    case 'Le': return a <= b ? 1 : 0;
    case 'Eq': return a === b ? 1 : 0;
    case 'Ne': return a !== b ? 1 : 0;
    case 'Greater': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case 'Less': return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case 'And': return a & b;
    case 'Or': return a | b;
    default: return NaN;
  }
}

const FOLDABLE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Power', 'Gt', 'Ge', 'Lt', 'Le', 'Eq', 'Ne', 'Greater', 'Less', 'And', 'Or']);

/** Deeper nesting than this is rejected instead of overflowing the stack. */
const MAX_DEPTH = 256;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token {
    return this.tokens[this.i];
  }
  private next(): Token {
    return this.tokens[this.i++];
  }
  private fail(code: 'EXPR_PARSE' | 'EXPR_UNKNOWN_OPERATOR' | 'EXPR_ARITY' | 'EXPR_ARG' | 'EXPR_CHAINED_COMPARISON' | 'EXPR_UNSUPPORTED', reason: string, col: number, hint?: string): never {
    throw new ExpressionError(code, reason, this.src, col, hint ? { hint } : {});
  }
  private describe(t: Token): string {
    return t.kind === 'eof' ? 'end of expression' : JSON.stringify(t.text);
  }

  parseAll(): ExprNode {
    if (this.peek().kind === 'eof') this.fail('EXPR_PARSE', 'empty expression', 1, 'write e.g. $close or Mean($close, 5)');
    const node = this.parseComparison();
    const t = this.peek();
    if (t.kind !== 'eof') {
      const hint = t.kind === 'rparen' ? 'remove the extra ")"' : 'join the parts with an operator such as + or *';
      this.fail('EXPR_PARSE', `unexpected ${this.describe(t)}`, t.col, hint);
    }
    return node;
  }

  private binary(op: string, a: ExprNode, b: ExprNode, pos: number): ExprNode {
    if (a.kind === 'number' && b.kind === 'number' && FOLDABLE.has(op)) {
      const value = fold(op, a.value, b.value);
      const isInt = a.isInt && b.isInt && op !== 'Div' && Number.isInteger(value);
      return { kind: 'number', value, isInt, pos } satisfies NumberNode;
    }
    return { kind: 'call', op, args: [a, b], pos } satisfies CallNode;
  }

  private parseComparison(): ExprNode {
    if (++this.depth > MAX_DEPTH) {
      this.fail('EXPR_PARSE', `expression nests deeper than ${MAX_DEPTH} levels`, this.peek().col, 'split it into smaller expressions');
    }
    try {
      return this.parseComparisonInner();
    } finally {
      this.depth--;
    }
  }

  private parseComparisonInner(): ExprNode {
    const left = this.parseOr();
    const t = this.peek();
    const op = t.kind === 'op' ? COMPARISON_OPS[t.text] : undefined;
    if (!op) return left;
    this.next();
    const right = this.parseOr();
    const t2 = this.peek();
    if (t2.kind === 'op' && COMPARISON_OPS[t2.text]) {
      this.fail(
        'EXPR_CHAINED_COMPARISON',
        `chained comparison ${JSON.stringify(t2.text)}: Python (and so qlib) would keep only the last comparison`,
        t2.col,
        '& and | bind tighter than comparisons: write ($a > 1) & ($b < 2)',
      );
    }
    return this.binary(op, left, right, left.pos);
  }

  private parseOr(): ExprNode {
    let left = this.parseAnd();
    while (this.peek().kind === 'op' && this.peek().text === '|') {
      this.next();
      left = this.binary('Or', left, this.parseAnd(), left.pos);
    }
    return left;
  }

  private parseAnd(): ExprNode {
    let left = this.parseAdditive();
    while (this.peek().kind === 'op' && this.peek().text === '&') {
      this.next();
      left = this.binary('And', left, this.parseAdditive(), left.pos);
    }
    return left;
  }

  private parseAdditive(): ExprNode {
    let left = this.parseMultiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || (t.text !== '+' && t.text !== '-')) return left;
      this.next();
      left = this.binary(t.text === '+' ? 'Add' : 'Sub', left, this.parseMultiplicative(), left.pos);
    }
  }

  private parseMultiplicative(): ExprNode {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || (t.text !== '*' && t.text !== '/')) return left;
      this.next();
      left = this.binary(t.text === '*' ? 'Mul' : 'Div', left, this.parseUnary(), left.pos);
    }
  }

  private parseUnary(): ExprNode {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
      if (++this.depth > MAX_DEPTH) this.fail('EXPR_PARSE', `expression nests deeper than ${MAX_DEPTH} levels`, t.col);
      this.next();
      let operand: ExprNode;
      try {
        operand = this.parseUnary();
      } finally {
        this.depth--;
      }
      if (t.text === '+') return operand;
      if (operand.kind === 'number') return { ...operand, value: -operand.value, pos: t.col };
      const zero: NumberNode = { kind: 'number', value: 0, isInt: true, pos: t.col };
      return { kind: 'call', op: 'Sub', args: [zero, operand], pos: t.col };
    }
    return this.parsePower();
  }

  private parsePower(): ExprNode {
    const base = this.parsePrimary();
    const t = this.peek();
    if (t.kind === 'op' && t.text === '**') {
      this.next();
      return this.binary('Power', base, this.parseUnary(), base.pos);
    }
    return base;
  }

  private parsePrimary(): ExprNode {
    const t = this.next();
    switch (t.kind) {
      case 'number':
        return { kind: 'number', value: t.value as number, isInt: t.isInt === true, pos: t.col };
      case 'string':
        return { kind: 'string', value: t.value as string, pos: t.col };
      case 'field':
        // qlib opens `<field.lower()>.day.bin`, so `$Close` is `$close`.
        return { kind: 'field', name: (t.value as string).toLowerCase(), pos: t.col };
      case 'pitField':
        return this.fail('EXPR_UNSUPPORTED', `point-in-time field ${t.text} is not supported`, t.col, 'use daily fields like $close');
      case 'lparen': {
        if (this.peek().kind === 'rparen') this.fail('EXPR_PARSE', 'empty parentheses', this.peek().col);
        const inner = this.parseComparison();
        const close = this.next();
        if (close.kind !== 'rparen') {
          this.fail('EXPR_PARSE', `expected ")" to close the "(" at column ${t.col}, found ${this.describe(close)}`, close.col);
        }
        return inner;
      }
      case 'ident':
        return this.parseCall(t);
      default: {
        const hint =
          t.kind === 'rparen' || t.kind === 'comma' || t.kind === 'eof'
            ? 'an operand is missing here'
            : t.kind === 'op'
              ? `${JSON.stringify(t.text)} needs an operand on its left`
              : undefined;
        return this.fail('EXPR_PARSE', `expected an operand, found ${this.describe(t)}`, t.col, hint);
      }
    }
  }

  private parseCall(name: Token): ExprNode {
    const open = this.peek();
    if (open.kind !== 'lparen') {
      this.fail('EXPR_PARSE', `bare name ${JSON.stringify(name.text)}`, name.col, `fields need a $ (e.g. $${name.text.toLowerCase()}); operators need arguments in parentheses`);
    }
    const unsupported = UNSUPPORTED_OPERATORS.get(name.text);
    if (unsupported) this.fail('EXPR_UNSUPPORTED', `${name.text}: ${unsupported}`, name.col);
    const spec = name.text === 'Rolling' ? undefined : OPERATORS.get(name.text);
    if (!spec && name.text !== 'Rolling') {
      const lower = name.text.toLowerCase();
      const near = [...OPERATORS.keys(), 'Rolling'].find((k) => k.toLowerCase() === lower);
      this.fail('EXPR_UNKNOWN_OPERATOR', `unknown operator ${JSON.stringify(name.text)}`, name.col, near ? `did you mean ${near}?` : 'see docs/expressions.md for the operator list');
    }
    this.next(); // (
    const args: ExprNode[] = [];
    const argCols: number[] = [];
    if (this.peek().kind === 'rparen') {
      this.next();
    } else {
      for (;;) {
        const t = this.peek();
        if (t.kind === 'ident' && this.tokens[this.i + 1]?.kind === 'op' && this.tokens[this.i + 1].text === '=') {
          this.fail('EXPR_PARSE', 'keyword arguments are not supported', t.col, 'pass arguments by position');
        }
        argCols.push(t.col);
        args.push(this.parseComparison());
        const sep = this.next();
        if (sep.kind === 'rparen') break;
        if (sep.kind !== 'comma') {
          this.fail('EXPR_PARSE', `expected "," or ")" in the arguments of ${name.text}, found ${this.describe(sep)}`, sep.col, sep.kind === 'eof' ? `close ${name.text}( with ")"` : undefined);
        }
        if (this.peek().kind === 'rparen') {
          this.fail('EXPR_PARSE', `missing argument after "," in ${name.text}(…)`, this.peek().col, 'remove the trailing comma or add the argument');
        }
      }
    }
    const closeCol = this.tokens[this.i - 1].col;
    if (name.text === 'Rolling') return this.rewriteRolling(name, args, argCols, closeCol);
    const kinds = spec!.args;
    if (args.length !== kinds.length) {
      const col = args.length > kinds.length ? argCols[kinds.length] : closeCol;
      this.fail('EXPR_ARITY', `${name.text} takes ${kinds.length} argument${kinds.length === 1 ? '' : 's'}, got ${args.length}`, col, `${name.text}(${kinds.join(', ')})`);
    }
    args.forEach((a, k) => this.checkArg(name.text, a, kinds[k], k, spec!.minWindow));
    if (FOLDABLE.has(name.text) && args[0].kind === 'number' && args[1].kind === 'number') {
      return this.binary(name.text, args[0], args[1], name.col);
    }
    if (name.text === 'Feature') return { kind: 'field', name: (args[0] as { value: string }).value.toLowerCase(), pos: name.col };
    return { kind: 'call', op: name.text, args, pos: name.col };
  }

  private rewriteRolling(name: Token, args: ExprNode[], argCols: number[], closeCol: number): ExprNode {
    if (args.length !== 3) {
      this.fail('EXPR_ARITY', `Rolling takes 3 arguments, got ${args.length}`, args.length > 3 ? argCols[3] : closeCol, 'Rolling(series, window, "mean")');
    }
    const fn = args[2];
    if (fn.kind !== 'string') this.fail('EXPR_ARG', 'Rolling: the third argument must be a method name string', fn.pos, 'e.g. "mean"');
    const op = ROLLING_FUNCS.get((fn as { value: string }).value);
    if (!op) this.fail('EXPR_ARG', `Rolling: unsupported method ${JSON.stringify((fn as { value: string }).value)}`, fn.pos, `one of ${[...ROLLING_FUNCS.keys()].join(', ')}`);
    const spec = OPERATORS.get(op!)!;
    this.checkArg(op!, args[0], 'series', 0, spec.minWindow);
    this.checkArg(op!, args[1], 'window', 1, spec.minWindow);
    return { kind: 'call', op: op!, args: [args[0], args[1]], pos: name.col };
  }

  private checkArg(op: string, a: ExprNode, kind: ArgKind, index: number, minWindow = 1): void {
    const nth = `argument ${index + 1} of ${op}`;
    const isNum = a.kind === 'number';
    switch (kind) {
      case 'series':
        if (a.kind === 'number' || a.kind === 'string') this.fail('EXPR_ARG', `${nth} must be a series, not a literal`, a.pos, 'e.g. $close');
        return;
      case 'operand':
        if (a.kind === 'string') this.fail('EXPR_ARG', `${nth} must be a series or a number, not a string`, a.pos);
        return;
      case 'string':
        if (a.kind !== 'string') this.fail('EXPR_ARG', `${nth} must be a quoted string`, a.pos, "e.g. 'SH000300'");
        return;
      case 'number':
        if (!isNum) this.fail('EXPR_ARG', `${nth} must be a number literal`, a.pos);
        return;
      case 'quantile':
        if (!isNum || !(a.value >= 0 && a.value <= 1)) this.fail('EXPR_ARG', `${nth} must be a number in [0, 1]`, a.pos, 'e.g. 0.8');
        return;
      case 'shift':
        if (!isNum || !a.isInt) this.fail('EXPR_ARG', `${nth} must be an int literal`, a.pos, 'e.g. Ref($close, 1), or -1 for the next day');
        return;
      case 'window':
        if (!isNum || !a.isInt || a.value < 0) this.fail('EXPR_ARG', `${nth} (the window) must be an int literal >= 0`, a.pos, '0 means an expanding window');
        if (a.value !== 0 && a.value < minWindow) this.fail('EXPR_ARG', `${nth} (the window) must be 0 or >= ${minWindow}`, a.pos);
        return;
      case 'span':
        if (!isNum || !((a.isInt && a.value >= 0) || (!a.isInt && a.value > 0 && a.value < 1))) {
          this.fail('EXPR_ARG', `${nth} must be an int span >= 0 or a float alpha in (0, 1)`, a.pos, 'e.g. EMA($close, 12)');
        }
        return;
    }
  }
}

/** Parses qlib expression text. Throws `ExpressionError` with the 1-based column of the offending token. */
export function parseExpression(text: string): ExprNode {
  if (typeof text !== 'string') {
    throw new ExpressionError('EXPR_PARSE', `expression must be a string, got ${typeof text}`, String(text), 1);
  }
  const parser = new Parser(Array.from(text).join(''), tokenize(text));
  return parser.parseAll();
}
