import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gramMatrix, gramNaiveRowMajor, syrkBlockTs } from '../../src/model/gram.ts';
import { openBlas, openBlasLoadError } from '../../src/model/blas.ts';
import { rng } from './helpers.ts';

function relClose(a: Float64Array, b: Float64Array, tol: number, what: string): void {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs((a[i] as number) - (b[i] as number)) <= tol * Math.max(scale, 1e-300), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

// Odd sizes hit every remainder path (4-row tiles, 2-column tiles, partial blocks).
const n1 = 1037, n2 = 555, m = 23;
const rand = rng(7);
const part1 = Array.from({ length: m }, (_, c) => Float64Array.from({ length: n1 }, () => (rand() - 0.5) * (c + 1) + c));
const part2 = Array.from({ length: m }, (_, c) => Float64Array.from({ length: n2 }, () => (rand() - 0.3) * 3 + c));
const mask1 = Uint8Array.from({ length: n1 }, (_, r) => (r % 5 === 3 ? 0 : 1));
const shift = Float64Array.from({ length: m }, (_, c) => c + 0.25);

function naiveReference(): Float64Array {
  const rows: number[][] = [];
  for (let r = 0; r < n1; r++) if (mask1[r]) rows.push(part1.map((col, c) => (col[r] as number) - (shift[c] as number)));
  for (let r = 0; r < n2; r++) rows.push(part2.map((col, c) => (col[r] as number) - (shift[c] as number)));
  return gramNaiveRowMajor(Float64Array.from(rows.flat()), rows.length, m);
}

test('Gram kernels agree: blocked TypeScript and OpenBLAS equal the naive kernel to 1e-9 (masked rows, shifts, two parts)', () => {
  const expected = naiveReference();
  const parts = [{ columns: part1, mask: mask1 }, { columns: part2, mask: null }];
  const ts = gramMatrix(parts, { shift, kernel: 'ts' });
  assert.equal(ts.kernel, 'ts');
  assert.equal(ts.n, n1 - Math.floor((n1 + 1) / 5) + n2);
  relClose(ts.gram, expected, 1e-9, 'ts');
  const blas = gramMatrix(parts, { shift, kernel: 'blas' });
  assert.equal(blas.kernel, 'blas');
  assert.equal(blas.n, ts.n);
  relClose(blas.gram, expected, 1e-9, 'blas');
  // symmetric
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) assert.equal(ts.gram[i * m + j], ts.gram[j * m + i]);
});

test('OpenBLAS loads from libopenblas0-pthread (CI installs it) and auto picks it', () => {
  assert.ok(openBlas(), `OpenBLAS did not load: ${openBlasLoadError()}`);
  assert.match(openBlas()!.config, /OpenBLAS/);
  assert.equal(gramMatrix([{ columns: part2, mask: null }]).kernel, 'blas');
});

test('syrkBlockTs accumulates into the upper triangle for every size 1..9', () => {
  for (let mm = 1; mm <= 9; mm++) {
    const ld = 7, rows = 5;
    const a = Float64Array.from({ length: ld * mm }, (_, i) => ((i * 37) % 11) - 5);
    const g = new Float64Array(mm * mm).fill(1);
    syrkBlockTs(a, ld, rows, mm, g);
    for (let i = 0; i < mm; i++) {
      for (let j = i; j < mm; j++) {
        let s = 1;
        for (let k = 0; k < rows; k++) s += (a[i * ld + k] as number) * (a[j * ld + k] as number);
        assert.equal(g[i * mm + j], s, `m=${mm} (${i},${j})`);
      }
    }
  }
});

test('dropNaN skips rows with a NaN in any column while copying, for both kernels', () => {
  const a = Float64Array.from([1, 2, NaN, 4, 5, 6]);
  const b = Float64Array.from([1, 1, 1, NaN, 2, 2]);
  for (const kernel of ['ts', 'blas'] as const) {
    const res = gramMatrix([{ columns: [a, b], mask: null }, { columns: [Float64Array.from([NaN, 3]), Float64Array.from([1, 1])], mask: null }], { kernel, dropNaN: true });
    assert.equal(res.n, 5);
    assert.equal(res.droppedNaN, 3);
    // kept rows: (1,1) (2,1) (5,2) (6,2) (3,1)
    assert.deepEqual(Array.from(res.gram), [1 + 4 + 25 + 36 + 9, 1 + 2 + 10 + 12 + 3, 1 + 2 + 10 + 12 + 3, 1 + 1 + 4 + 4 + 1]);
  }
});
