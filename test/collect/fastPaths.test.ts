/**
 * The collect fast paths against the slow ones they replace: the byte-level pred.csv reader against
 * Number() and the general CSV reader, RollingEnsemble against a direct per-(date, window) reference,
 * and the line-by-line meta.yaml reader against the `yaml` package (YAML 1.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import YAML from 'yaml';
import { KeyedDict, RollingEnsemble } from '../../src/collect/index.ts';
import { parsePanelCsvFast } from '../../src/collect/fastCsv.ts';
import type { Panel } from '../../src/data/types.ts';
import { csvToObject } from '../../src/recorder/artifacts.ts';
import { parseMetaFast } from '../../src/recorder/yamlMeta.ts';

const numberText = fc.oneof(
  fc.double().map((x) => String(x)),
  fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 20 })).map(([x, k]) => x.toFixed(k)),
  fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 1, max: 21 })).map(([x, p]) => x.toPrecision(p)),
  // Raw digit strings around the exact path's limits: 15–17 significant digits, 2^53, up to 25 fraction digits.
  fc.tuple(fc.boolean(), fc.stringMatching(/^[0-9]{0,18}$/), fc.option(fc.stringMatching(/^[0-9]{0,25}$/), { nil: undefined })).map(([neg, int, frac]) => `${neg ? '-' : ''}${int}${frac === undefined ? '' : `.${frac}`}`),
  fc.constantFrom('9007199254740992', '9007199254740993', '-9007199254740991', '0.1', '-0', '-0.0', '00012.50', '.5', '5.', '-.5', '0.0000000000000000000001', '0.00000000000000000000001', '1e-7', '+1', '', 'nan', 'NaN', '-inf', 'Infinity', ' 1'),
);

test('pred.csv fast reader: every number field equals Number() bit for bit, and the whole panel equals the general reader', () => {
  fc.assert(
    fc.property(fc.array(numberText, { minLength: 1, maxLength: 60 }), (fields) => {
      const rows = fields.map((s, i) => `2020-01-${String(2 + (i >> 3)).padStart(2, '0')},I${i % 8},${s}`);
      const text = `datetime,instrument,score\n${rows.join('\n')}\n`;
      const fast = parsePanelCsvFast(text);
      if (fast === undefined) {
        // Declined only for padded text or text Number() does not read (then the general reader decides).
        assert.ok(fields.some((s) => s.trim() !== s || (s !== '' && Number.isNaN(Number(s)) && !/^[-+]?(nan|inf|infinity)$/i.test(s))), `declined ${JSON.stringify(fields)}`);
        return;
      }
      const general = csvToObject(text, 'x') as Panel;
      fields.forEach((s, i) => {
        const want = s === '' ? NaN : Number.isNaN(Number(s)) ? general.values[0]![i]! : Number(s);
        assert.ok(Object.is(fast.values[0]![i]!, want), `${JSON.stringify(s)}: fast ${fast.values[0]![i]} vs Number ${want}`);
      });
      assert.deepEqual(fast, general);
    }),
    { seed: 20261126, numRuns: 400 },
  );
});

test('pred.csv fast reader: non-ASCII, blank lines and short rows go to the general reader; instruments are interned', () => {
  assert.equal(parsePanelCsvFast('datetime,instrument,score\n2020-01-02,Ä,1\n'), undefined);
  assert.equal(parsePanelCsvFast('datetime,instrument,score\n2020-01-02,A,1\n\n2020-01-03,A,2\n'), undefined);
  assert.equal(parsePanelCsvFast('datetime,instrument,score\n2020-01-02,A\n'), undefined);
  assert.equal(parsePanelCsvFast('datetime,instrument\n2020-01-02,A\n'), undefined, 'no value column');
  const p = parsePanelCsvFast('datetime,instrument,a,b\n2020-01-02,AA,1,2\n2020-01-02,AB,3,\n2020-01-03,AA,5,6\n2020-01-03,AB,7,8\n\n\n');
  assert.ok(p);
  assert.deepEqual(p.dates, ['2020-01-02', '2020-01-02', '2020-01-03', '2020-01-03']);
  assert.deepEqual(p.instruments, ['AA', 'AB', 'AA', 'AB']);
  assert.deepEqual([...p.values[1]!], [2, NaN, 6, 8]);
});

/** RollingEnsemble written directly from its definition, row by row. */
function referenceRolling(members: Panel[]): Panel | 'DUPLICATE_ROW' {
  const windows = members.filter((p) => p.dates.length > 0).map((p) => {
    const seen = new Set<string>();
    for (let r = 0; r < p.dates.length; r++) {
      const id = `${p.dates[r]}|${p.instruments[r]}`;
      if (seen.has(id)) return undefined;
      seen.add(id);
    }
    return { p, start: [...p.dates].sort()[0]! };
  });
  if (windows.some((w) => w === undefined)) return 'DUPLICATE_ROW';
  const ws = windows as { p: Panel; start: string }[];
  ws.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const dates = [...new Set(ws.flatMap((w) => w.p.dates))].sort();
  const rows: [string, string, number[]][] = [];
  for (const d of dates) {
    const w = [...ws].reverse().find((x) => x.p.dates.includes(d))!;
    const mine: [string, string, number[]][] = [];
    for (let r = 0; r < w.p.dates.length; r++) if (w.p.dates[r] === d) mine.push([d, w.p.instruments[r]!, w.p.values.map((c) => c[r]!)]);
    mine.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    rows.push(...mine);
  }
  return { dates: rows.map((r) => r[0]), instruments: rows.map((r) => r[1]), columns: ['a', 'b'], groups: ['feature', 'feature'], values: [Float64Array.from(rows, (r) => r[2][0]!), Float64Array.from(rows, (r) => r[2][1]!)] };
}

const memberPanel = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.constantFrom('A', 'AB', 'B', 'C', 'CA'), fc.double(), fc.double()), { maxLength: 25 })
  .chain((rows) => fc.boolean().map((sortRows) => {
    const rs = sortRows ? [...rows].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0)) : rows;
    return { dates: rs.map((r) => `2020-01-0${r[0]}`), instruments: rs.map((r) => r[1]), columns: ['a', 'b'], groups: ['feature', 'feature'], values: [Float64Array.from(rs, (r) => r[2]), Float64Array.from(rs, (r) => r[3])] } satisfies Panel;
  }));

test('RollingEnsemble (date runs, unsorted, scattered or duplicated rows) equals the row-by-row reference', () => {
  fc.assert(
    fc.property(fc.array(memberPanel, { minLength: 1, maxLength: 5 }), (members) => {
      const want = referenceRolling(members);
      const d = new KeyedDict<unknown>(members.map((p, i) => [['m', i], p] as const));
      if (want === 'DUPLICATE_ROW') {
        assert.throws(() => new RollingEnsemble().ensemble(d), (e: Error & { code?: string }) => e.code === 'DUPLICATE_ROW');
        return;
      }
      assert.deepEqual(new RollingEnsemble().ensemble(d), want);
    }),
    { seed: 7, numRuns: 500 },
  );
});

const metaValue = fc.oneof(
  fc.constantFrom('null', '[]', '~', "''", "'x y'", "'it''s'", 'yes', 'No', 'on', 'OFF', 'y', '0', '-0', '0123', '1e5', 'e5', '0x1f', '0b101', '1_000', '12:30', '2020-01-02', '.inf', '.5', 'active', 'deleted', 'root', 'file:///tmp/a-b/c.d/artifacts', '"q"', '&a x', '#c'),
  fc.stringMatching(/^[0-9a-f]{1,32}$/),
  fc.stringMatching(/^-?[0-9]{1,17}$/),
  fc.stringMatching(/^[A-Za-z0-9_]{1,8}$/),
  fc.stringMatching(/^'[ -~]{0,8}'$/),
);

test('meta.yaml fast reader: whatever it reads equals YAML 1.1; real MLflow metas take the fast path', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z_]{1,10}$/), metaValue), { minLength: 1, maxLength: 8, selector: (e) => e[0] }), (entries) => {
      const text = `${entries.map(([k, v]) => `${k}: ${v}`).join('\n')}\n`;
      const fast = parseMetaFast(text);
      if (fast === undefined) return;
      assert.deepEqual(fast, YAML.parse(text, { version: '1.1' }), text);
    }),
    { seed: 11, numRuns: 2000 },
  );
  const meta = "artifact_uri: file:///tmp/m/1/0123abcd/artifacts\nend_time: 1795650944433\nentry_point_name: ''\nexperiment_id: '4774418509376486535'\nlifecycle_stage: active\nrun_id: 012696277d454e4d8eeeedb8369dc7e2\nrun_name: mlflow_recorder\nsource_type: 4\nstart_time: 1795650944095\nstatus: 3\ntags: []\nuser_id: root\ndeleted_time: null\n";
  const fast = parseMetaFast(meta);
  assert.ok(fast, 'a meta.yaml as MLflow writes it is read without the YAML parser');
  assert.deepEqual(fast, YAML.parse(meta, { version: '1.1' }));
  assert.equal(parseMetaFast('a: 1\na: 2\n'), undefined, 'a repeated key goes to the YAML parser (which rejects it)');
});
