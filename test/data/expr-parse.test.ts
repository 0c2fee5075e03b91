import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonical, ExpressionError, parseExpression } from '../../src/data/expr/index.ts';
import { QtaskError } from '../../src/errors.ts';

const canon = (s: string): string => canonical(parseExpression(s));

test('precedence follows Python, as qlib evals the rewritten text', () => {
  const table: [string, string][] = [
    ['$a + $b * $c', 'Add($a,Mul($b,$c))'],
    ['($a + $b) * $c', 'Mul(Add($a,$b),$c)'],
    ['$a - $b - $c', 'Sub(Sub($a,$b),$c)'],
    ['$a / $b / $c', 'Div(Div($a,$b),$c)'],
    ['$a ** 2 ** 3', 'Power($a,8)'],
    ['$a ** $b ** $c', 'Power($a,Power($b,$c))'],
    ['-$a ** 2', 'Sub(0,Power($a,2))'],
    ['$a ** -1', 'Power($a,-1)'],
    ['$a * -$b', 'Mul($a,Sub(0,$b))'],
    ['$a + $b > $c * 2', 'Gt(Add($a,$b),Mul($c,2))'],
    ['$a & $b | $c', 'Or(And($a,$b),$c)'],
    ['$a | $b & $c', 'Or($a,And($b,$c))'],
    ['$a + 1 & $b', 'And(Add($a,1),$b)'],
    ['$a > 1 & $b', 'Gt($a,And(1,$b))'],
    ['($a > 1) & ($b < 2)', 'And(Gt($a,1),Lt($b,2))'],
    ['$a >= $b', 'Ge($a,$b)'],
    ['$a <= $b', 'Le($a,$b)'],
    ['$a == $b', 'Eq($a,$b)'],
    ['$a != $b', 'Ne($a,$b)'],
    ['1 - $x', 'Sub(1,$x)'],
    ['2 * (3 + 4) * $x', 'Mul(14,$x)'],
    ['Ref($close, -2)/Ref($close, -1) - 1', 'Sub(Div(Ref($close,-2),Ref($close,-1)),1)'],
    ['$volume/($volume+1e-12)', 'Div($volume,Add($volume,1e-12))'],
    ['Quantile($close, 5, 0.8)', 'Quantile($close,5,0.8)'],
    ['Mask($close, "SH000300")', 'Mask($close,"SH000300")'],
    ["ChangeInstrument('SH000300', $close)", 'ChangeInstrument("SH000300",$close)'],
    ['Rolling($close, 5, "mean")', 'Mean($close,5)'],
    ['Feature("close") + 1', 'Add($close,1)'],
    ['EMA($close, 0.5)', 'EMA($close,0.5)'],
    ['  Mean( $close ,\n 5 ) ', 'Mean($close,5)'],
    ['$收盘', '$收盘'],
  ];
  for (const [src, want] of table) assert.equal(canon(src), want, src);
});

test('canonical text keeps ints and floats apart (window 5 vs 5.0)', () => {
  assert.equal(canon('Greater($x, 5.0)'), 'Greater($x,5.0)');
  assert.equal(canon('Greater($x, 5)'), 'Greater($x,5)');
});

const BAD: [string, string, number][] = [
  ['Mean($close, )', 'EXPR_PARSE', 14],
  ['Mean($close 5)', 'EXPR_PARSE', 13],
  ['Mean($close, 5', 'EXPR_PARSE', 15],
  ['Mena($close, 5)', 'EXPR_UNKNOWN_OPERATOR', 1],
  ['$close / Foo($open)', 'EXPR_UNKNOWN_OPERATOR', 10],
  ['Mean($close)', 'EXPR_ARITY', 12],
  ['Ref($close, 1, 2)', 'EXPR_ARITY', 16],
  ['Corr($close, 5)', 'EXPR_ARITY', 15],
  ['Mean($close, -5)', 'EXPR_ARG', 14],
  ['Mean($close, 2.5)', 'EXPR_ARG', 14],
  ['Mean(5, 5)', 'EXPR_ARG', 6],
  ['Skew($close, 2)', 'EXPR_ARG', 14],
  ['Kurt($close, 3)', 'EXPR_ARG', 14],
  ['Quantile($close, 5, 1.5)', 'EXPR_ARG', 21],
  ['EMA($close, 1.5)', 'EXPR_ARG', 13],
  ['Mean($close, $open)', 'EXPR_ARG', 14],
  ['$a > 1 & $b < 2', 'EXPR_CHAINED_COMPARISON', 13],
  ['$a < $b < $c', 'EXPR_CHAINED_COMPARISON', 9],
  ['$close +', 'EXPR_PARSE', 9],
  ['* $close', 'EXPR_PARSE', 1],
  ['$close $open', 'EXPR_PARSE', 8],
  ['close + 1', 'EXPR_PARSE', 1],
  ['$ + 1', 'EXPR_PARSE', 1],
  ['~$close', 'EXPR_PARSE', 1],
  ['$close % 2', 'EXPR_PARSE', 8],
  ['Mask($close, 5)', 'EXPR_ARG', 14],
  ['"abc', 'EXPR_PARSE', 1],
  ['', 'EXPR_PARSE', 1],
  ['()', 'EXPR_PARSE', 2],
  ['Mean($close, 5))', 'EXPR_PARSE', 16],
  ['P($$roewa_q)', 'EXPR_UNSUPPORTED', 1],
  ['$$roewa_q', 'EXPR_UNSUPPORTED', 1],
  ['TResample($close, "1w", "last")', 'EXPR_UNSUPPORTED', 1],
  ['Rolling($close, 5, "ewm")', 'EXPR_ARG', 20],
  ['Mean($close, 5,)', 'EXPR_PARSE', 16],
  ['1.2.3', 'EXPR_PARSE', 4],
];

for (const [src, code, col] of BAD) {
  test(`bad expression ${JSON.stringify(src)} → ${code} at column ${col}`, () => {
    assert.throws(
      () => parseExpression(src),
      (e: unknown) => {
        assert.ok(e instanceof ExpressionError, `expected ExpressionError, got ${String(e)}`);
        assert.ok(e instanceof QtaskError);
        assert.equal(e.code, code, e.message);
        assert.equal(e.column, col, e.message);
        const lines = e.message.split('\n');
        assert.equal(lines.length, 3, 'reason, expression, caret');
        assert.equal(lines[2].indexOf('^'), col + 1, 'caret under the column (after 2-space indent)');
        return true;
      },
    );
  });
}

test('the error message shows the expression and a caret under the offending token', () => {
  try {
    parseExpression('Mean($close, )');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ExpressionError);
    assert.equal(e.message, 'missing argument after "," in Mean(…) at column 14\n  Mean($close, )\n               ^');
    assert.ok(e.hint && e.hint.length > 0, 'has a hint');
  }
});

test('unknown operator suggests the right case', () => {
  try {
    parseExpression('mean($close, 5)');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ExpressionError);
    assert.equal(e.hint, 'did you mean Mean?');
  }
});

test('field names are case-insensitive, as qlib lowercases file names', () => {
  assert.equal(canon('$Close / Feature("OPEN")'), 'Div($close,$open)');
});

test('absurd nesting is a typed error, not a stack overflow', () => {
  const deep = '('.repeat(5000) + '$close' + ')'.repeat(5000);
  assert.throws(() => parseExpression(deep), (e: unknown) => e instanceof ExpressionError && e.code === 'EXPR_PARSE' && /nests deeper/.test(e.message));
  const minus = '-'.repeat(5000) + '$close';
  assert.throws(() => parseExpression(minus), (e: unknown) => e instanceof ExpressionError && e.code === 'EXPR_PARSE');
  const ok = '('.repeat(100) + '$close' + ')'.repeat(100);
  assert.equal(canon(ok), '$close');
});
