/**
 * OpenBLAS through koffi (`libopenblas.so.0`, Debian's libopenblas0-pthread). Optional: when the
 * library or koffi cannot be loaded, `openBlas()` returns null and callers use the TypeScript kernel.
 */
import { createRequire } from 'node:module';

const CblasColMajor = 102;
const CblasUpper = 121;
const CblasTrans = 112;

export interface OpenBlas {
  /** `C += AᵀA` (upper triangle, column-major): A is `k × n` column-major with leading dimension `lda`. */
  syrkUpperAccumulate(n: number, k: number, a: Float64Array, lda: number, c: Float64Array): void;
  /** OpenBLAS build string, e.g. `OpenBLAS 0.3.21 … SkylakeX MAX_THREADS=64`. */
  config: string;
}

let cached: OpenBlas | null | undefined;
let loadError: string | undefined;

/** The loaded library, or null (see `openBlasLoadError()` for why). Loaded once per process. */
export function openBlas(): OpenBlas | null {
  if (cached !== undefined) return cached;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load(process.env['QTASK_OPENBLAS_LIB'] ?? 'libopenblas.so.0');
    const dsyrk = lib.func('void cblas_dsyrk(int order, int uplo, int trans, int n, int k, double alpha, const double *a, int lda, double beta, _Inout_ double *c, int ldc)');
    const getConfig = lib.func('const char *openblas_get_config()');
    cached = {
      config: String(getConfig()),
      syrkUpperAccumulate(n, k, a, lda, c) {
        dsyrk(CblasColMajor, CblasUpper, CblasTrans, n, k, 1.0, a, lda, 1.0, c, n);
      },
    };
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
    cached = null;
  }
  return cached;
}

export function openBlasLoadError(): string | undefined {
  openBlas();
  return loadError;
}
