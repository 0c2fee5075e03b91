import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TaskFunctionError } from '../../src/errors.ts';
import { assertJsonResult, findNonJson } from '../../src/run/jsonResult.ts';

describe('assertJsonResult', () => {
  it('accepts plain JSON and returns it unchanged', () => {
    const v = { a: [1, 'x', null, true, { b: -0.5 }], c: {} };
    assert.equal(assertJsonResult(v), v);
    assert.equal(assertJsonResult(null), null);
    const shared = { s: 1 };
    assert.ok(assertJsonResult({ x: shared, y: [shared] }), 'a repeated (non-cyclic) object is fine');
  });
  const cycle: Record<string, unknown> = {};
  cycle.me = { back: cycle };
  const cases: [string, unknown, string, RegExp][] = [
    ['BigInt', { n: 1n }, 'res.n', /BigInt/],
    ['cycle', cycle, 'res.me.back', /cyclic/],
    ['NaN', [1, Number.NaN], 'res[1]', /NaN/],
    ['Infinity', { x: Infinity }, 'res.x', /Infinity/],
    ['function', { f: () => 1 }, 'res.f', /function/],
    ['undefined at top', undefined, 'res', /undefined/],
    ['undefined inside', { a: { b: undefined } }, 'res.a.b', /undefined/],
    ['Date', { d: new Date(0) }, 'res.d', /Date/],
    ['Map', new Map(), 'res', /Map/],
  ];
  for (const [name, value, path, problem] of cases) {
    it(`rejects ${name} with code RESULT_NOT_JSON at ${path}`, () => {
      assert.equal(findNonJson(value)?.path, path);
      assert.throws(
        () => assertJsonResult(value),
        (e: unknown) => e instanceof TaskFunctionError && e.code === 'RESULT_NOT_JSON' && e.path === path && problem.test(e.message) && !!e.hint,
      );
    });
  }
});
