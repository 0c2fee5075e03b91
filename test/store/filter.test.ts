/**
 * The filter engine: validation, `filter.*` aliasing, and a differential property test that the
 * SQL compiler (run by SQLite) and the JS evaluator agree on random documents and filters,
 * including paths through arrays, nulls, missing fields and mixed types.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { matchesFilter, parseFilter } from '../../src/store/filter/index.ts';
import { SqliteTaskStore } from '../../src/store/sqlite.ts';
import { buildWhere, undecidedSql } from '../../src/store/sqlite/where.ts';
import type { JsonValue, TaskDef } from '../../src/task/types.ts';
import type { TaskFilter } from '../../src/store/types.ts';

describe('parseFilter', () => {
  it('rewrites top-level filter.* paths to def.* (not inside $elemMatch)', () => {
    assert.deepEqual(parseFilter({ 'filter.model.class': 'A' }), { kind: 'field', path: ['def', 'model', 'class'], ops: [{ op: 'eq', value: 'A' }] });
    const tree = parseFilter({ 'def.r': { $elemMatch: { 'filter.x': 1 } } });
    assert.deepEqual(tree, {
      kind: 'field',
      path: ['def', 'r'],
      ops: [{ op: 'elemMatchDoc', cond: { kind: 'field', path: ['filter', 'x'], ops: [{ op: 'eq', value: 1 }] } }],
    });
  });

  it('does not modify the caller\'s filter', () => {
    const f = { _id: { $in: ['a'] }, 'filter.x': 1 };
    const copy = structuredClone(f);
    parseFilter(f);
    assert.deepEqual(f, copy);
  });

  it('refuses non-JSON literals (NaN, Infinity, undefined) with QUERY_SHAPE', () => {
    for (const [f, path] of [
      [{ priority: NaN }, 'priority'],
      [{ priority: { $gt: Infinity } }, 'priority.$gt'],
      [{ 'def.a': { $in: [1, undefined] } }, 'def.a.$in[1]'],
    ] as [TaskFilter, string][]) {
      assert.throws(() => parseFilter(f), (e: { code?: string; path?: string }) => e.code === 'QUERY_SHAPE' && e.path === path, JSON.stringify(path));
    }
  });

  it('refuses empty path parts and mixed operator objects', () => {
    assert.throws(() => parseFilter({ 'def..x': 1 }), (e: { code?: string; path?: string }) => e.code === 'QUERY_SHAPE' && e.path === 'def..x');
    assert.throws(() => parseFilter({ 'def.x': { $gt: 1, y: 2 } }), (e: { code?: string }) => e.code === 'QUERY_SHAPE');
    assert.throws(() => parseFilter({ 'def.x': { $options: 'i' } }), (e: { code?: string }) => e.code === 'QUERY_SHAPE');
  });
});

describe('SQL decides array-free paths in the database', () => {
  it('leaves no row for the JS evaluator when no array is on the queried path', async () => {
    const store = new SqliteTaskStore(':memory:');
    try {
      await store.createTasks('p', Array.from({ length: 300 }, (_, i) => ({ model: { class: i % 3 ? 'A' : 'B', kwargs: { i } }, tags: ['t'] })));
      const filters: TaskFilter[] = [
        { 'def.model.class': 'A' },
        { 'filter.model.kwargs.i': { $gte: 100, $lt: 200 } },
        { $or: [{ 'def.model.class': { $regex: '^B' } }, { 'def.model.kwargs.i': { $in: [1, 2] } }] },
        { 'def.tags': 't', 'def.model.missing': { $exists: false } },
        { 'def.tags': { $elemMatch: { $eq: 't' } }, status: 'waiting' },
      ];
      for (const f of filters) {
        const rest = undecidedSql(buildWhere(f));
        const undecided = rest === null ? 0 : (store.database.prepare(`SELECT count(*) AS n FROM tasks WHERE pool = 'p' AND ${rest}`).get() as { n: number }).n;
        assert.equal(undecided, 0, JSON.stringify(f));
      }
      assert.deepEqual(await store.stat('p', { 'def.model.class': 'A' }), { waiting: 200 });
      assert.deepEqual(await store.stat('p', { 'filter.model.kwargs.i': { $gte: 100, $lt: 200 } }), { waiting: 100 });
    } finally {
      await store.close();
    }
  });
});

// ---- differential property test -------------------------------------------------------------

const leaf = fc.constantFrom<JsonValue>(0, 1, 2, -1, 1.5, 'x', 'y', 'xy', '', null, true, false);
const { value } = fc.letrec<{ value: JsonValue; obj: JsonValue; arr: JsonValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, leaf, tie('arr'), tie('obj')),
  obj: fc.record({ a: tie('value'), b: tie('value') }, { requiredKeys: [] }),
  arr: fc.array(tie('value'), { maxLength: 3 }),
}));
const doc = fc.record({ a: value, b: value, c: leaf }, { requiredKeys: [] });
const path = fc.constantFrom('a', 'b', 'c', 'a.b', 'a.a', 'b.a', 'a.0', 'a.1', 'a.0.b', 'a.b.a', 'zz');
const operand = fc.oneof(leaf, leaf, leaf, fc.array(leaf, { maxLength: 2 }), fc.record({ a: leaf }, { requiredKeys: ['a'] }));
const fieldOp: fc.Arbitrary<JsonValue> = fc.oneof(
  operand,
  operand.map((v) => ({ $eq: v })),
  operand.map((v) => ({ $ne: v })),
  fc.tuple(fc.constantFrom('$gt', '$gte', '$lt', '$lte'), leaf).map(([o, v]) => ({ [o]: v })),
  fc.array(operand, { maxLength: 3 }).map((v) => ({ $in: v })),
  fc.array(operand, { maxLength: 3 }).map((v) => ({ $nin: v })),
  fc.boolean().map((v) => ({ $exists: v })),
  fc.integer({ min: 0, max: 2 }).map((v) => ({ $size: v })),
  fc.array(leaf, { minLength: 1, maxLength: 2 }).map((v) => ({ $all: v })),
  fc.constantFrom('^x', 'y$', '', 'X').map((v) => ({ $regex: v, $options: 'i' })),
  leaf.map((v) => ({ $not: { $gt: v } })),
  leaf.map((v) => ({ $not: { $eq: v } })),
  leaf.map((v) => ({ $elemMatch: { $gte: v } })),
  leaf.map((v) => ({ $elemMatch: { a: v } })),
  fc.tuple(leaf, leaf).map(([v, w]) => ({ $elemMatch: { a: v, b: { $ne: w } } })),
);
const resPath = fc.constantFrom('res', 'res.a', 'res.0', 'res.a.b', 'res.b.a');
const simpleFilter = fc.oneof(
  fc.tuple(path, fieldOp).map(([p, op]) => ({ [`def.${p}`]: op }) as TaskFilter),
  fc.tuple(path, fieldOp).map(([p, op]) => ({ [`def.${p}`]: op }) as TaskFilter),
  fc.tuple(resPath, fieldOp).map(([p, op]) => ({ [p]: op }) as TaskFilter),
);
const filterArb: fc.Arbitrary<TaskFilter> = fc.oneof(
  simpleFilter,
  simpleFilter,
  fc.tuple(simpleFilter, simpleFilter).map(([x, y]) => ({ $or: [x, y] })),
  fc.tuple(simpleFilter, simpleFilter).map(([x, y]) => ({ $and: [x, y] })),
  simpleFilter.map((x) => ({ $nor: [x] })),
  fc.tuple(path, fieldOp).map(([p, op]) => ({ [`filter.${p}`]: op }) as TaskFilter),
);

describe('SQL compiler and JS evaluator agree', () => {
  it('on random documents and filters', async () => {
    const store = new SqliteTaskStore(':memory:');
    let pools = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(doc, { minLength: 1, maxLength: 12, selector: (d) => JSON.stringify(d) }),
          fc.array(fc.option(value, { nil: undefined }), { minLength: 12, maxLength: 12 }),
          fc.array(filterArb, { minLength: 1, maxLength: 8 }),
          async (docs, results, filters) => {
            const pool = `p${pools++}`;
            const defs = docs.map((d, i) => ({ ...d, i }) as TaskDef);
            await store.createTasks(pool, defs);
            // Some tasks get a result (any JSON, arrays included), so res.* paths are exercised too.
            for (const r of results.slice(0, defs.length)) {
              const c = await store.claim(pool, { worker: 'w', leaseMs: 60_000 });
              if (r !== undefined) await store.commit(pool, c!.lease, r);
            }
            const all = await store.find(pool, {});
            for (const f of filters) {
              const fromSql = (await store.find(pool, f)).map((d) => d.def['i']).sort();
              const fromJs = all.filter((d) => matchesFilter(d, f)).map((d) => d.def['i']).sort();
              assert.deepEqual(fromSql, fromJs, `filter ${JSON.stringify(f)} on ${JSON.stringify(defs)}`);
              const counted = Object.values(await store.stat(pool, f)).reduce((a, b) => a + (b ?? 0), 0);
              assert.equal(counted, fromJs.length, 'stat agrees');
            }
          },
        ),
        { numRuns: 300, seed: 20261125 },
      );
    } finally {
      await store.close();
    }
  });
});
