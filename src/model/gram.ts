/**
 * Gram matrices ZᵀZ of a design Z = [x₁ … x_p, y] given as columns, the expensive part of a linear
 * fit (n·m²/2 multiply-adds; 300,000 × 159 is 3.8·10⁹). Rows are copied block by block into a
 * column-major buffer (masked rows skipped, columns shifted by their means when centring), and each
 * block is accumulated by OpenBLAS `dsyrk` when available, else by a register-tiled TypeScript kernel.
 * The result is the full symmetric m × m matrix, row-major.
 */
import { openBlas } from './blas.ts';

export type GramKernel = 'auto' | 'blas' | 'ts';

export interface GramPart {
  /** Columns of this part (all the same length). */
  columns: readonly Float64Array[];
  /** 1 = use the row; null = all rows. */
  mask: Uint8Array | null;
}

export interface GramResult {
  /** m × m, row-major, symmetric. */
  gram: Float64Array;
  /** Rows used. */
  n: number;
  /** Rows skipped because a column was NaN (`dropNaN`). */
  droppedNaN: number;
  /** The kernel that ran. */
  kernel: 'blas' | 'ts';
}

/** Rows per block: the TS kernel keeps 8 column slices of a block in L1 (8 × 2 KB). */
const TS_BLOCK_ROWS = 256;
const BLAS_BLOCK_ROWS = 4096;

/**
 * ZᵀZ over all parts' kept rows. `shift[c]` (default 0) is subtracted from column c first (pass the
 * column means to get the centred Gram without the cancellation of `ZᵀZ − n·z̄z̄ᵀ`).
 * `kernel`: `auto` (default) uses OpenBLAS when it loads, `blas` requires it, `ts` never uses it.
 * `dropNaN` (default false): skip rows with a NaN in any column, found while copying (no extra pass).
 */
export function gramMatrix(parts: readonly GramPart[], options: { shift?: Float64Array; kernel?: GramKernel; dropNaN?: boolean } = {}): GramResult {
  const m = parts[0]?.columns.length ?? 0;
  const want = options.kernel ?? 'auto';
  const blas = want === 'ts' ? null : openBlas();
  if (want === 'blas' && !blas) throw new Error('OpenBLAS (libopenblas.so.0) is not available');
  const kernel: 'blas' | 'ts' = blas ? 'blas' : 'ts';
  const blockRows = blas ? BLAS_BLOCK_ROWS : TS_BLOCK_ROWS;
  const shift = options.shift ?? new Float64Array(m);
  const acc = new Float64Array(m * m);
  const blk = new Float64Array(blockRows * m);
  const dropNaN = options.dropNaN ?? false;
  const bad = new Uint8Array(blockRows);
  let filled = 0;
  let n = 0;
  let droppedNaN = 0;
  const flush = () => {
    if (filled === 0) return;
    if (blas) blas.syrkUpperAccumulate(m, filled, blk, blockRows, acc);
    else syrkBlockTs(blk, blockRows, filled, m, acc);
    n += filled;
    filled = 0;
  };
  for (const part of parts) {
    const cols = part.columns;
    const rows = cols[0]?.length ?? 0;
    const mask = part.mask;
    let r = 0;
    while (r < rows) {
      // Gather up to the block's free space worth of kept rows, column by column (sequential reads).
      const start = r;
      const rowIdx: number[] = [];
      while (r < rows && rowIdx.length < blockRows - filled) {
        if (mask === null || mask[r] === 1) rowIdx.push(r);
        r++;
      }
      if (rowIdx.length === 0) continue;
      const contiguous = mask === null || rowIdx.length === r - start;
      const len = rowIdx.length;
      let anyNaN = false;
      for (let c = 0; c < m; c++) {
        const src = cols[c] as Float64Array;
        const s = shift[c] as number;
        const base = c * blockRows + filled;
        if (contiguous) {
          const first = rowIdx[0] as number;
          for (let k = 0; k < len; k++) blk[base + k] = (src[first + k] as number) - s;
        } else {
          for (let k = 0; k < len; k++) blk[base + k] = (src[rowIdx[k] as number] as number) - s;
        }
        if (dropNaN) {
          for (let k = 0; k < len; k++) {
            if (Number.isNaN(blk[base + k] as number)) {
              bad[k] = 1;
              anyNaN = true;
            }
          }
        }
      }
      let kept = len;
      if (anyNaN) {
        // Rare path: squeeze the NaN rows out of this chunk, column by column.
        for (let c = 0; c < m; c++) {
          const base = c * blockRows + filled;
          let w = 0;
          for (let k = 0; k < len; k++) if (bad[k] === 0) blk[base + w++] = blk[base + k] as number;
          kept = w;
        }
        droppedNaN += len - kept;
        bad.fill(0, 0, len);
      }
      filled += kept;
      if (filled === blockRows) flush();
    }
  }
  flush();
  const gram = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      // BLAS fills the column-major upper triangle (acc[i + j·m]); the TS kernel the row-major one.
      const v = blas ? (acc[i + j * m] as number) : (acc[i * m + j] as number);
      gram[i * m + j] = v;
      gram[j * m + i] = v;
    }
  }
  return { gram, n, droppedNaN, kernel };
}

/**
 * `G[i·m + j] += Σ_k A[i·ld + k]·A[j·ld + k]` for j ≥ i over `rows` rows of a column-major block.
 * 4 × 4 register tiles: each k loads 8 values for 16 multiply-adds (measured ~20% faster than
 * 4 × 2 in V8 despite some register spilling). Only tiles on or above the diagonal are computed;
 * entries below it that a diagonal tile touches are ignored by the caller.
 */
export function syrkBlockTs(a: Float64Array, ld: number, rows: number, m: number, g: Float64Array): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = i * ld, a1 = a0 + ld, a2 = a1 + ld, a3 = a2 + ld;
    const g0 = i * m, g1 = g0 + m, g2 = g1 + m, g3 = g2 + m;
    let j = i;
    for (; j + 4 <= m; j += 4) {
      const b0 = j * ld, b1 = b0 + ld, b2 = b1 + ld, b3 = b2 + ld;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < rows; k++) {
        const x0 = a[a0 + k] as number, x1 = a[a1 + k] as number, x2 = a[a2 + k] as number, x3 = a[a3 + k] as number;
        const y0 = a[b0 + k] as number, y1 = a[b1 + k] as number, y2 = a[b2 + k] as number, y3 = a[b3 + k] as number;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      g[g0 + j] += s00; g[g0 + j + 1] += s01; g[g0 + j + 2] += s02; g[g0 + j + 3] += s03;
      g[g1 + j] += s10; g[g1 + j + 1] += s11; g[g1 + j + 2] += s12; g[g1 + j + 3] += s13;
      g[g2 + j] += s20; g[g2 + j + 1] += s21; g[g2 + j + 2] += s22; g[g2 + j + 3] += s23;
      g[g3 + j] += s30; g[g3 + j + 1] += s31; g[g3 + j + 2] += s32; g[g3 + j + 3] += s33;
    }
    for (; j < m; j++) {
      const b0 = j * ld;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < rows; k++) {
        const y = a[b0 + k] as number;
        s0 += (a[a0 + k] as number) * y; s1 += (a[a1 + k] as number) * y;
        s2 += (a[a2 + k] as number) * y; s3 += (a[a3 + k] as number) * y;
      }
      g[g0 + j] += s0; g[g1 + j] += s1; g[g2 + j] += s2; g[g3 + j] += s3;
    }
  }
  for (; i < m; i++) {
    const ai = i * ld;
    for (let j = i; j < m; j++) {
      const bj = j * ld;
      let s = 0;
      for (let k = 0; k < rows; k++) s += (a[ai + k] as number) * (a[bj + k] as number);
      g[i * m + j] += s;
    }
  }
}

/** The textbook kernel (row-major X, upper triangle, one multiply-add per inner step): the benchmark baseline. */
export function gramNaiveRowMajor(x: Float64Array, n: number, m: number): Float64Array {
  const g = new Float64Array(m * m);
  for (let r = 0; r < n; r++) {
    const off = r * m;
    for (let i = 0; i < m; i++) {
      const xi = x[off + i] as number;
      const gi = i * m;
      for (let j = i; j < m; j++) g[gi + j] += xi * (x[off + j] as number);
    }
  }
  for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) g[i * m + j] = g[j * m + i] as number;
  return g;
}
