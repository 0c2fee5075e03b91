import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/errors.ts';
import { MultiHorizonGen, horizonLabel } from '../../src/generate/multiHorizonGen.ts';
import { RollingGen } from '../../src/generate/rollingGen.ts';
import { handlerMod, taskGenerator, truncSegments } from '../../src/generate/taskGen.ts';
import type { TaskGen } from '../../src/generate/taskGen.ts';
import { TimeAdjuster } from '../../src/generate/timeAdjuster.ts';
import type { TaskDef } from '../../src/task/types.ts';
import { cal2020, exampleTemplate, handlerEnd, segs } from './helpers.ts';

/** A generator that tags each output with `tag + index`, appended to the task's `trail`. */
function tagger(tag: string, n: number): TaskGen {
  return {
    generate(task: TaskDef): TaskDef[] {
      return Array.from({ length: n }, (_, i) => ({ ...task, trail: `${task.trail as string}${tag}${i}` }));
    },
  };
}

describe('taskGenerator', () => {
  it('3 templates × A(2) × B(3) = 18 in qlib order (generator-major)', () => {
    const templates: TaskDef[] = ['t0', 't1', 't2'].map((t) => ({ trail: `${t}:` }));
    const out = taskGenerator(templates, [tagger('A', 2), tagger('B', 3)]);
    const expected: string[] = [];
    for (const t of ['t0', 't1', 't2']) for (const a of [0, 1]) for (const b of [0, 1, 2]) expected.push(`${t}:A${a}B${b}`);
    assert.deepEqual(
      out.map((t) => t.trail),
      expected,
    );
  });

  it('accepts one template, one generator, and plain functions', () => {
    assert.deepEqual(taskGenerator({ trail: 'x' }, tagger('A', 2)).map((t) => t.trail), ['xA0', 'xA1']);
    assert.deepEqual(taskGenerator([{ trail: 'x' }], (t) => [t, t]).length, 2);
    assert.deepEqual(taskGenerator([{ trail: 'x' }], []), [{ trail: 'x' }]);
  });

  it('composes RollingGen with MultiHorizonGen: 5 windows × 2 horizons', () => {
    const tasks = taskGenerator(exampleTemplate(), [
      new RollingGen({ calendar: cal2020, step: 40 }),
      new MultiHorizonGen({ calendar: cal2020, horizon: [1, 5] }),
    ]);
    assert.equal(tasks.length, 10);
    assert.deepEqual(segs(tasks[0]).test, ['2020-05-01', '2020-06-25']);
    assert.deepEqual(segs(tasks[1]).test, ['2020-05-01', '2020-06-25']);
    assert.deepEqual(segs(tasks[2]).test, ['2020-06-26', '2020-08-20']);
  });
});

describe('handlerMod', () => {
  const ctx = { ta: new TimeAdjuster(cal2020), testKey: 'test' };
  const task = (end: string | null | undefined, test: [string, string | null]): TaskDef => {
    const t = exampleTemplate({ test, handlerEnd: end ?? null });
    if (end === undefined) delete (t.dataset as { kwargs: { handler: { kwargs: Record<string, unknown> } } }).kwargs.handler.kwargs.end_time;
    return t;
  };
  it('extends, never trims, and opens for an open test end', () => {
    const a = task('2020-11-30', ['2020-10-16', '2020-12-10']);
    handlerMod(a, ctx);
    assert.equal(handlerEnd(a), '2020-12-10');
    const b = task('2020-11-30', ['2020-05-01', '2020-06-25']);
    handlerMod(b, ctx);
    assert.equal(handlerEnd(b), '2020-11-30');
    const c = task('2020-11-30', ['2020-12-11', null]);
    handlerMod(c, ctx);
    assert.equal(handlerEnd(c), null);
    const d = task(undefined, ['2020-12-11', '2020-12-31']);
    handlerMod(d, ctx);
    assert.equal(handlerEnd(d), undefined);
  });
});

describe('truncSegments', () => {
  it('truncates every non-test segment against the test start, in place', () => {
    const ta = new TimeAdjuster(cal2020);
    const s = { train: ['2020-01-02', '2020-04-30'], valid: ['2020-04-01', '2020-04-30'], test: ['2020-05-01', '2020-06-25'] } as Record<
      string,
      [string | null, string | null]
    >;
    truncSegments(ta, s, 5);
    assert.deepEqual(s, { train: ['2020-01-02', '2020-04-24'], valid: ['2020-04-01', '2020-04-24'], test: ['2020-05-01', '2020-06-25'] });
    assert.throws(() => truncSegments(ta, { train: ['2020-01-02', null] }, 1), ValidationError);
  });
});

describe('MultiHorizonGen', () => {
  it('one task per horizon: label rewritten, segments truncated by hr + labelLeakN', () => {
    const gen = new MultiHorizonGen({ calendar: cal2020, horizon: [1, 5, 10] });
    const tpl = exampleTemplate();
    const before = JSON.stringify(tpl);
    const tasks = gen.generate(tpl);
    assert.equal(JSON.stringify(tpl), before, 'template unchanged');
    assert.equal(tasks.length, 3);
    const label = (t: TaskDef) => (t.dataset as { kwargs: { handler: { kwargs: { label: unknown } } } }).kwargs.handler.kwargs.label;
    assert.deepEqual(label(tasks[0]), [['Ref($close, -2)/Ref($close, -1) - 1'], ['LABEL0']], 'hr=1 is qlib’s default label');
    assert.deepEqual(label(tasks[1]), [[horizonLabel(5)], ['LABEL0']]);
    assert.equal(horizonLabel(5), 'Ref($close, -6)/Ref($close, -1) - 1');
    // test start 2020-05-01 is index 87; valid end must be ≤ index 87 - (hr + 2)
    const testIdx = cal2020.indexOf('2020-05-01');
    for (const [i, hr] of [1, 5, 10].entries()) {
      const s = segs(tasks[i]);
      assert.deepEqual(s.test, ['2020-05-01', '2020-12-31']);
      assert.equal(cal2020.indexOf(s.valid[1] as string), Math.min(cal2020.indexOf('2020-04-30'), testIdx - (hr + 2)));
    }
    assert.deepEqual(segs(tasks[0]).valid, ['2020-04-01', '2020-04-28']);
    assert.deepEqual(segs(tasks[2]).valid, ['2020-04-01', '2020-04-15']);
  });

  it('defaults: horizon [5], labelLeakN 2; custom setHorizon', () => {
    const tasks = new MultiHorizonGen({ calendar: cal2020, setHorizon: (t, hr) => void (t.horizon = hr) }).generate(exampleTemplate());
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0].horizon, 5);
    assert.equal(cal2020.indexOf(segs(tasks[0]).valid[1] as string), cal2020.indexOf('2020-05-01') - 7);
  });

  it('validates its options and the handler shape', () => {
    assert.throws(
      () => new MultiHorizonGen({ calendar: cal2020, horizon: [0, 2.5], labelLeakN: -1 }),
      (e: unknown) => e instanceof ValidationError && e.issues.map((i) => i.path).join() === 'horizon[0],horizon[1],labelLeakN',
    );
    const tpl = exampleTemplate();
    (tpl.dataset as { kwargs: { handler: unknown } }).kwargs.handler = 'file:///x.pkl';
    assert.throws(() => new MultiHorizonGen({ calendar: cal2020 }).generate(tpl), (e: unknown) => e instanceof ValidationError && e.path === 'dataset.kwargs.handler');
  });
});
