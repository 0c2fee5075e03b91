/**
 * XGBoost's C API (`libxgboost.so.0`, Debian's libxgboost0, XGBoost 1.7) through koffi. Every call's
 * return code is checked and a failure becomes XGBOOST_CALL with `XGBGetLastError()`'s text.
 * Handles are plain koffi pointers; owners free them (see `withDMatrix` and `Booster`).
 */
import { createRequire } from 'node:module';
import { ModelError } from '../errors.ts';

type Koffi = typeof import('koffi');
type Fn = (...args: unknown[]) => unknown;

/** An opaque native handle (DMatrixHandle / BoosterHandle). */
export type NativeHandle = { readonly __nativeHandle: unique symbol } | object;

export interface XGBoostLib {
  koffi: Koffi;
  version: string;
  fns: Record<string, Fn>;
}

const PROTOTYPES = [
  'const char *XGBGetLastError()',
  'void XGBoostVersion(_Out_ int *major, _Out_ int *minor, _Out_ int *patch)',
  'int XGDMatrixCreateFromMat_omp(const float *data, uint64_t nrow, uint64_t ncol, float missing, _Out_ DMatrixHandle *out, int nthread)',
  'int XGDMatrixSetFloatInfo(DMatrixHandle handle, const char *field, const float *array, uint64_t len)',
  'int XGDMatrixFree(DMatrixHandle handle)',
  'int XGBoosterCreate(DMatrixHandle *dmats, uint64_t len, _Out_ BoosterHandle *out)',
  'int XGBoosterFree(BoosterHandle handle)',
  'int XGBoosterSetParam(BoosterHandle handle, const char *name, const char *value)',
  'int XGBoosterUpdateOneIter(BoosterHandle handle, int iter, DMatrixHandle dtrain)',
  'int XGBoosterEvalOneIter(BoosterHandle handle, int iter, DMatrixHandle *dmats, const char **evnames, uint64_t len, _Out_ const char **out_result)',
  'int XGBoosterPredictFromDMatrix(BoosterHandle handle, DMatrixHandle dmat, const char *config, _Out_ void **out_shape, _Out_ uint64_t *out_dim, _Out_ void **out_result)',
  'int XGBoosterSaveModelToBuffer(BoosterHandle handle, const char *config, _Out_ uint64_t *out_len, _Out_ void **out_dptr)',
  'int XGBoosterLoadModelFromBuffer(BoosterHandle handle, const uint8_t *buf, uint64_t len)',
  'int XGBoosterSetAttr(BoosterHandle handle, const char *key, const char *value)',
  'int XGBoosterGetAttr(BoosterHandle handle, const char *key, _Out_ const char **out, _Out_ int *success)',
  'int XGBoosterBoostedRounds(BoosterHandle handle, _Out_ int *out)',
] as const;

let cached: XGBoostLib | undefined;

/** Loads libxgboost once per process; throws XGBOOST_MISSING (with the apt-get hint) when it cannot. */
export function xgboostLib(): XGBoostLib {
  if (cached) return cached;
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (e) {
    throw new ModelError('XGBOOST_MISSING', 'the koffi package (native calls into libxgboost) is not installed', { path: 'model.class', hint: 'npm install (koffi is a dependency of qtask)', cause: e });
  }
  const libName = process.env['QTASK_XGBOOST_LIB'] ?? 'libxgboost.so.0';
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load(libName);
  } catch (e) {
    throw new ModelError('XGBOOST_MISSING', `XGBoost's C library ${libName} could not be loaded (${e instanceof Error ? e.message : String(e)})`, {
      path: 'model.class',
      hint: 'apt-get install libxgboost0 (Debian/Ubuntu), or use LinearModel',
      cause: e,
    });
  }
  try {
    koffi.pointer('DMatrixHandle', koffi.opaque('XGDMatrix'));
    koffi.pointer('BoosterHandle', koffi.opaque('XGBooster'));
  } catch {
    // Already declared by an earlier load in this process (koffi's type names are global).
  }
  const fns: Record<string, Fn> = {};
  for (const proto of PROTOTYPES) {
    const name = /([A-Za-z_]+)\(/.exec(proto)![1]!;
    fns[name] = lib.func(proto) as Fn;
  }
  const major = [0], minor = [0], patch = [0];
  fns['XGBoostVersion']!(major, minor, patch);
  cached = { koffi, version: `${major[0]}.${minor[0]}.${patch[0]}`, fns };
  return cached;
}

/** Calls an XGBoost C function and throws XGBOOST_CALL with XGBoost's own message when it returns non-zero. */
export function call(lib: XGBoostLib, name: string, ...args: unknown[]): void {
  const fn = lib.fns[name];
  if (!fn) throw new Error(`XGBoost function ${name} is not declared`);
  const rc = fn(...args);
  if (rc !== 0) {
    const msg = String(lib.fns['XGBGetLastError']!() ?? '').trim();
    throw new ModelError('XGBOOST_CALL', `${name} failed: ${firstLines(msg)}`, { path: 'model.kwargs', hint: 'check the XGBoost parameters (model.kwargs) and the data' });
  }
}

function firstLines(msg: string): string {
  // XGBoost appends a native stack trace; the first line says what went wrong.
  const lines = msg.split('\n').filter((l) => l.trim() !== '' && !/^Stack trace:|^\s*\[bt\]/.test(l));
  return lines.slice(0, 2).join(' ');
}

/** Builds a DMatrix from float32 row-major data (NaN = missing) with optional labels. The caller frees it. */
export function createDMatrix(lib: XGBoostLib, data: Float32Array, nrow: number, ncol: number, label: Float32Array | null, nthread: number): NativeHandle {
  const out: unknown[] = [null];
  call(lib, 'XGDMatrixCreateFromMat_omp', data, nrow, ncol, NaN, out, nthread);
  const handle = out[0] as NativeHandle;
  try {
    if (label) call(lib, 'XGDMatrixSetFloatInfo', handle, 'label', label, label.length);
  } catch (e) {
    lib.fns['XGDMatrixFree']!(handle);
    throw e;
  }
  return handle;
}

export function freeDMatrix(lib: XGBoostLib, handle: NativeHandle | null): void {
  if (handle) lib.fns['XGDMatrixFree']!(handle);
}

/** Copies `len` float32 values from native memory. */
export function readFloats(lib: XGBoostLib, ptr: unknown, len: number): Float32Array {
  if (len === 0) return new Float32Array(0);
  return new Float32Array(lib.koffi.view(ptr, len * 4).slice(0));
}

export function readBytes(lib: XGBoostLib, ptr: unknown, len: number): Uint8Array {
  if (len === 0) return new Uint8Array(0);
  return new Uint8Array(lib.koffi.view(ptr, len).slice(0));
}
