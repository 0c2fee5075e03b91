/**
 * Small dense solvers on p × p normal equations (p ≈ 158), row-major Float64Arrays. They only see
 * G = XᵀX and c = Xᵀy, so their cost does not depend on the number of rows.
 */

/**
 * Solves (G + ridge·I) w = c by Cholesky of the diagonally equilibrated matrix (D^-½ A D^-½ has a
 * unit diagonal, so features on very different scales — volumes next to returns — do not look
 * singular). Returns null when a pivot of the equilibrated matrix is ≤ 1e-12 (columns collinear to
 * about 12 digits, or a zero column), so the caller can fall back to `pinvSolve`.
 */
export function choleskySolve(g: Float64Array, c: Float64Array, p: number, ridge = 0): Float64Array | null {
  const d = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    const aii = (g[i * p + i] as number) + ridge;
    if (!(aii > 0)) return null;
    d[i] = Math.sqrt(aii);
  }
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let piv = 1;
    for (let k = 0; k < j; k++) piv -= (l[j * p + k] as number) ** 2;
    if (!(piv > 1e-12)) return null;
    const ljj = Math.sqrt(piv);
    l[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let s = (g[i * p + j] as number) / ((d[i] as number) * (d[j] as number));
      for (let k = 0; k < j; k++) s -= (l[i * p + k] as number) * (l[j * p + k] as number);
      l[i * p + j] = s / ljj;
    }
  }
  const z = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = (c[i] as number) / (d[i] as number);
    for (let k = 0; k < i; k++) s -= (l[i * p + k] as number) * (z[k] as number);
    z[i] = s / (l[i * p + i] as number);
  }
  const w = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < p; k++) s -= (l[k * p + i] as number) * (w[k] as number);
    w[i] = s / (l[i * p + i] as number);
  }
  for (let i = 0; i < p; i++) w[i] = (w[i] as number) / (d[i] as number);
  return w;
}

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: values and row-major eigenvectors (columns). */
export function symmetricEigen(g: Float64Array, p: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(g);
  const v = new Float64Array(p * p);
  for (let i = 0; i < p; i++) v[i * p + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < p; i++) {
      diag += (a[i * p + i] as number) ** 2;
      for (let j = i + 1; j < p; j++) off += (a[i * p + j] as number) ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break;
    for (let pi = 0; pi < p - 1; pi++) {
      for (let q = pi + 1; q < p; q++) {
        const apq = a[pi * p + q] as number;
        if (apq === 0) continue;
        const app = a[pi * p + pi] as number;
        const aqq = a[q * p + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < p; k++) {
          const akp = a[k * p + pi] as number;
          const akq = a[k * p + q] as number;
          a[k * p + pi] = cs * akp - sn * akq;
          a[k * p + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < p; k++) {
          const apk = a[pi * p + k] as number;
          const aqk = a[q * p + k] as number;
          a[pi * p + k] = cs * apk - sn * aqk;
          a[q * p + k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < p; k++) {
          const vkp = v[k * p + pi] as number;
          const vkq = v[k * p + q] as number;
          v[k * p + pi] = cs * vkp - sn * vkq;
          v[k * p + q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  const values = new Float64Array(p);
  for (let i = 0; i < p; i++) values[i] = a[i * p + i] as number;
  return { values, vectors: v };
}

/**
 * Minimum-norm least-squares solution from the normal equations, w = G⁺c, like numpy's `lstsq` on X
 * (which sklearn's LinearRegression uses). Eigenvalues of G below `rcond × λ_max` count as zero;
 * the default 1e-12 is about numpy's cutoff on singular values squared, floored at what the Gram
 * matrix can resolve in double precision.
 */
export function pinvSolve(g: Float64Array, c: Float64Array, p: number, rcond = 1e-12): Float64Array {
  const { values, vectors } = symmetricEigen(g, p);
  let max = 0;
  for (let i = 0; i < p; i++) max = Math.max(max, values[i] as number);
  const cut = max * rcond;
  const w = new Float64Array(p);
  for (let e = 0; e < p; e++) {
    const lam = values[e] as number;
    if (!(lam > cut)) continue;
    let proj = 0;
    for (let k = 0; k < p; k++) proj += (vectors[k * p + e] as number) * (c[k] as number);
    const s = proj / lam;
    for (let k = 0; k < p; k++) w[k] += s * (vectors[k * p + e] as number);
  }
  return w;
}

export interface LassoOptions {
  /** Max full sweeps over the coordinates. Default 10,000. */
  maxIter?: number;
  /** Stop when the duality gap ≤ tol × ‖y‖²/n. Default 1e-10 (sklearn: 1e-4, looser). */
  tol?: number;
}

/**
 * Lasso by cyclic coordinate descent on the Gram form of sklearn's objective
 * (1/(2n))‖y − Xw‖² + α‖w‖₁; `yy` = yᵀy. Returns the weights and the sweeps used.
 */
export function lassoGram(g: Float64Array, c: Float64Array, yy: number, n: number, p: number, alpha: number, options: LassoOptions = {}): { w: Float64Array; iterations: number; converged: boolean } {
  const maxIter = options.maxIter ?? 10_000;
  const tol = (options.tol ?? 1e-10) * (yy / n);
  const w = new Float64Array(p);
  // q = G w, kept up to date so each coordinate step is O(p).
  const q = new Float64Array(p);
  const na = n * alpha;
  for (let it = 1; it <= maxIter; it++) {
    for (let j = 0; j < p; j++) {
      const gjj = g[j * p + j] as number;
      if (gjj === 0) continue;
      const wj = w[j] as number;
      const rho = (c[j] as number) - (q[j] as number) + gjj * wj;
      const next = rho > na ? (rho - na) / gjj : rho < -na ? (rho + na) / gjj : 0;
      const d = next - wj;
      if (d !== 0) {
        w[j] = next;
        for (let k = 0; k < p; k++) q[k] += d * (g[k * p + j] as number);
      }
    }
    if (dualityGap(w, q, c, yy, n, p, alpha) <= tol) return { w, iterations: it, converged: true };
  }
  return { w, iterations: maxIter, converged: false };
}

/** sklearn's lasso duality gap (scaled by 1/n), from G w = q, c = Xᵀy, yy = yᵀy. */
function dualityGap(w: Float64Array, q: Float64Array, c: Float64Array, yy: number, n: number, p: number, alpha: number): number {
  // R = y − Xw: ‖R‖² = yy − 2wᵀc + wᵀq; XᵀR = c − q.
  let wc = 0, wq = 0, l1 = 0, dualNorm = 0, ry = 0;
  for (let j = 0; j < p; j++) {
    wc += (w[j] as number) * (c[j] as number);
    wq += (w[j] as number) * (q[j] as number);
    l1 += Math.abs(w[j] as number);
    dualNorm = Math.max(dualNorm, Math.abs((c[j] as number) - (q[j] as number)));
  }
  const rr = Math.max(0, yy - 2 * wc + wq);
  ry = yy - wc;
  const na = n * alpha;
  const scale = dualNorm > na ? na / dualNorm : 1;
  const gap = 0.5 * rr * (1 + scale * scale) + na * l1 - scale * ry;
  return gap / n;
}

/**
 * Non-negative least squares, min ‖y − Xw‖² s.t. w ≥ 0 (scipy.optimize.nnls), by Lawson–Hanson
 * active sets on the normal equations G = XᵀX, c = Xᵀy.
 */
export function nnlsGram(g: Float64Array, c: Float64Array, p: number, maxIter = 3 * p + 30): Float64Array {
  const w = new Float64Array(p);
  const passive = new Uint8Array(p);
  const grad = () => {
    const out = new Float64Array(p);
    for (let i = 0; i < p; i++) {
      let s = c[i] as number;
      for (let k = 0; k < p; k++) s -= (g[i * p + k] as number) * (w[k] as number);
      out[i] = s;
    }
    return out;
  };
  let scale = 0;
  for (let i = 0; i < p; i++) scale = Math.max(scale, Math.abs(c[i] as number));
  const tol = 1e-12 * Math.max(scale, 1e-300) * p;
  const solvePassive = (): Float64Array => {
    const idx: number[] = [];
    for (let i = 0; i < p; i++) if (passive[i]) idx.push(i);
    const k = idx.length;
    const sub = new Float64Array(k * k);
    const rhs = new Float64Array(k);
    idx.forEach((a, r) => {
      rhs[r] = c[a] as number;
      idx.forEach((b, s) => (sub[r * k + s] = g[a * p + b] as number));
    });
    const z = choleskySolve(sub, rhs, k) ?? pinvSolve(sub, rhs, k);
    const full = new Float64Array(p);
    idx.forEach((a, r) => (full[a] = z[r] as number));
    return full;
  };
  for (let outer = 0; outer < maxIter; outer++) {
    const gr = grad();
    let best = -1;
    let bestVal = tol;
    for (let i = 0; i < p; i++) if (!passive[i] && (gr[i] as number) > bestVal) { best = i; bestVal = gr[i] as number; }
    if (best < 0) break;
    passive[best] = 1;
    for (let inner = 0; inner < maxIter; inner++) {
      const z = solvePassive();
      let allPositive = true;
      for (let i = 0; i < p; i++) if (passive[i] && !((z[i] as number) > 0)) allPositive = false;
      if (allPositive) {
        w.set(z);
        break;
      }
      // Step from w towards z until the first passive weight hits zero, then drop the zeros.
      let step = Infinity;
      for (let i = 0; i < p; i++) {
        if (passive[i] && !((z[i] as number) > 0)) {
          const denom = (w[i] as number) - (z[i] as number);
          const s = denom > 0 ? (w[i] as number) / denom : 0;
          step = Math.min(step, s);
        }
      }
      if (!Number.isFinite(step)) step = 0;
      for (let i = 0; i < p; i++) {
        w[i] = (w[i] as number) + step * ((z[i] as number) - (w[i] as number));
        if (passive[i] && (w[i] as number) <= 1e-300) { passive[i] = 0; w[i] = 0; }
      }
    }
  }
  return w;
}
