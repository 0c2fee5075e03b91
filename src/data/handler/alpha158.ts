/**
 * Alpha158's feature list, generated exactly as qlib's `Alpha158DL.get_feature_config`
 * (`qlib/contrib/data/loader.py`) does: same expression strings, same names, same order
 * (kbar, price, volume, then rolling families family-major / window-minor).
 */
import { HandlerConfigError } from './errors.ts';

/** A feature config: expressions and their column names, index-aligned (qlib's `(fields, names)`). */
export interface FeatureConfig {
  fields: string[];
  names: string[];
}

/** qlib's default label for Alpha158/Alpha360: the return from the T+1 close to the T+2 close. */
export const DEFAULT_LABEL: FeatureConfig = Object.freeze({
  fields: ['Ref($close, -2)/Ref($close, -1) - 1'],
  names: ['LABEL0'],
}) as FeatureConfig;

/** Rolling families in qlib's generation order. `LOW` produces columns named `MIN{d}`. */
export const ALPHA158_ROLLING_FAMILIES = [
  'ROC', 'MA', 'STD', 'BETA', 'RSQR', 'RESI', 'MAX', 'LOW', 'QTLU', 'QTLD', 'RANK', 'RSV', 'IMAX', 'IMIN', 'IMXD',
  'CORR', 'CORD', 'CNTP', 'CNTN', 'CNTD', 'SUMP', 'SUMN', 'SUMD', 'VMA', 'VSTD', 'WVMA', 'VSUMP', 'VSUMN', 'VSUMD',
] as const;
export type RollingFamily = (typeof ALPHA158_ROLLING_FAMILIES)[number];

/**
 * The `config` accepted by `Alpha158DL.get_feature_config`. A section that is present (even `{}`)
 * is generated; an absent one is skipped.
 */
export interface Alpha158Config {
  kbar?: Record<string, never> | Record<string, unknown>;
  /** `windows` default `[0,1,2,3,4]`, `feature` default `['OPEN','HIGH','LOW','CLOSE','VWAP']`. */
  price?: { windows?: number[]; feature?: string[] };
  /** `windows` default `[0,1,2,3,4]`. */
  volume?: { windows?: number[] };
  /** `windows` default `[5,10,20,30,60]`; `include` default all families; `exclude` default none. */
  rolling?: { windows?: number[]; include?: string[] | null; exclude?: string[] };
}

/** Alpha158's own config: kbar, `price` with window 0 for OPEN/HIGH/LOW/VWAP, all rolling families. */
export const ALPHA158_DEFAULT_CONFIG: Alpha158Config = {
  kbar: {},
  price: { windows: [0], feature: ['OPEN', 'HIGH', 'LOW', 'VWAP'] },
  rolling: {},
};

const KBAR: FeatureConfig = {
  fields: [
    '($close-$open)/$open',
    '($high-$low)/$open',
    '($close-$open)/($high-$low+1e-12)',
    '($high-Greater($open, $close))/$open',
    '($high-Greater($open, $close))/($high-$low+1e-12)',
    '(Less($open, $close)-$low)/$open',
    '(Less($open, $close)-$low)/($high-$low+1e-12)',
    '(2*$close-$high-$low)/$open',
    '(2*$close-$high-$low)/($high-$low+1e-12)',
  ],
  names: ['KMID', 'KLEN', 'KMID2', 'KUP', 'KUP2', 'KLOW', 'KLOW2', 'KSFT', 'KSFT2'],
};

type FamilyRule = { expr: (d: number) => string; name: (d: number) => string };

const SUM_UP = (f: string, d: number): string => `Sum(Greater($${f}-Ref($${f}, 1), 0), ${d})`;
const SUM_DOWN = (f: string, d: number): string => `Sum(Greater(Ref($${f}, 1)-$${f}, 0), ${d})`;
const SUM_ABS = (f: string, d: number): string => `(Sum(Abs($${f}-Ref($${f}, 1)), ${d})+1e-12)`;

const ROLLING: Record<RollingFamily, FamilyRule> = {
  ROC: { expr: (d) => `Ref($close, ${d})/$close`, name: (d) => `ROC${d}` },
  MA: { expr: (d) => `Mean($close, ${d})/$close`, name: (d) => `MA${d}` },
  STD: { expr: (d) => `Std($close, ${d})/$close`, name: (d) => `STD${d}` },
  BETA: { expr: (d) => `Slope($close, ${d})/$close`, name: (d) => `BETA${d}` },
  RSQR: { expr: (d) => `Rsquare($close, ${d})`, name: (d) => `RSQR${d}` },
  RESI: { expr: (d) => `Resi($close, ${d})/$close`, name: (d) => `RESI${d}` },
  MAX: { expr: (d) => `Max($high, ${d})/$close`, name: (d) => `MAX${d}` },
  LOW: { expr: (d) => `Min($low, ${d})/$close`, name: (d) => `MIN${d}` },
  QTLU: { expr: (d) => `Quantile($close, ${d}, 0.8)/$close`, name: (d) => `QTLU${d}` },
  QTLD: { expr: (d) => `Quantile($close, ${d}, 0.2)/$close`, name: (d) => `QTLD${d}` },
  RANK: { expr: (d) => `Rank($close, ${d})`, name: (d) => `RANK${d}` },
  RSV: { expr: (d) => `($close-Min($low, ${d}))/(Max($high, ${d})-Min($low, ${d})+1e-12)`, name: (d) => `RSV${d}` },
  IMAX: { expr: (d) => `IdxMax($high, ${d})/${d}`, name: (d) => `IMAX${d}` },
  IMIN: { expr: (d) => `IdxMin($low, ${d})/${d}`, name: (d) => `IMIN${d}` },
  IMXD: { expr: (d) => `(IdxMax($high, ${d})-IdxMin($low, ${d}))/${d}`, name: (d) => `IMXD${d}` },
  CORR: { expr: (d) => `Corr($close, Log($volume+1), ${d})`, name: (d) => `CORR${d}` },
  CORD: { expr: (d) => `Corr($close/Ref($close,1), Log($volume/Ref($volume, 1)+1), ${d})`, name: (d) => `CORD${d}` },
  CNTP: { expr: (d) => `Mean($close>Ref($close, 1), ${d})`, name: (d) => `CNTP${d}` },
  CNTN: { expr: (d) => `Mean($close<Ref($close, 1), ${d})`, name: (d) => `CNTN${d}` },
  CNTD: { expr: (d) => `Mean($close>Ref($close, 1), ${d})-Mean($close<Ref($close, 1), ${d})`, name: (d) => `CNTD${d}` },
  SUMP: { expr: (d) => `${SUM_UP('close', d)}/${SUM_ABS('close', d)}`, name: (d) => `SUMP${d}` },
  SUMN: { expr: (d) => `${SUM_DOWN('close', d)}/${SUM_ABS('close', d)}`, name: (d) => `SUMN${d}` },
  SUMD: { expr: (d) => `(${SUM_UP('close', d)}-${SUM_DOWN('close', d)})/${SUM_ABS('close', d)}`, name: (d) => `SUMD${d}` },
  VMA: { expr: (d) => `Mean($volume, ${d})/($volume+1e-12)`, name: (d) => `VMA${d}` },
  VSTD: { expr: (d) => `Std($volume, ${d})/($volume+1e-12)`, name: (d) => `VSTD${d}` },
  WVMA: {
    expr: (d) => `Std(Abs($close/Ref($close, 1)-1)*$volume, ${d})/(Mean(Abs($close/Ref($close, 1)-1)*$volume, ${d})+1e-12)`,
    name: (d) => `WVMA${d}`,
  },
  VSUMP: { expr: (d) => `${SUM_UP('volume', d)}/${SUM_ABS('volume', d)}`, name: (d) => `VSUMP${d}` },
  VSUMN: { expr: (d) => `${SUM_DOWN('volume', d)}/${SUM_ABS('volume', d)}`, name: (d) => `VSUMN${d}` },
  VSUMD: { expr: (d) => `(${SUM_UP('volume', d)}-${SUM_DOWN('volume', d)})/${SUM_ABS('volume', d)}`, name: (d) => `VSUMD${d}` },
};

const SECTIONS = ['kbar', 'price', 'volume', 'rolling'] as const;

function checkWindows(value: unknown, path: string, min: number): number[] {
  if (!Array.isArray(value) || value.some((w) => !Number.isInteger(w) || (w as number) < min)) {
    throw new HandlerConfigError('HANDLER_CONFIG', `windows must be a list of integers >= ${min}`, {
      path,
      hint: min === 0 ? 'e.g. [0, 1, 2, 3, 4]' : 'e.g. [5, 10, 20, 30, 60]',
    });
  }
  return value as number[];
}

function checkNames(value: unknown, path: string, known?: readonly string[]): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'expected a list of names', { path, hint: "e.g. ['OPEN', 'HIGH']" });
  }
  if (known) {
    const bad = (value as string[]).filter((v) => !known.includes(v));
    if (bad.length > 0) {
      throw new HandlerConfigError('HANDLER_CONFIG', `unknown rolling famil${bad.length > 1 ? 'ies' : 'y'} ${bad.join(', ')}`, {
        path,
        hint: `known families: ${known.join(' ')}`,
      });
    }
  }
  return value as string[];
}

/**
 * Builds Alpha158's `(fields, names)` from a config shaped like qlib's. Without a config, Alpha158's
 * own default (158 columns). Unknown sections, bad windows and unknown family names are typed errors;
 * qlib silently ignores unknown family names, which hides typos, so qtask rejects them.
 */
export function alpha158FeatureConfig(config: Alpha158Config = ALPHA158_DEFAULT_CONFIG, path = 'feature_config'): FeatureConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new HandlerConfigError('HANDLER_CONFIG', 'the Alpha158 feature config must be an object', { path, hint: 'e.g. {kbar: {}, rolling: {windows: [5, 10]}}' });
  }
  const unknown = Object.keys(config).filter((k) => !(SECTIONS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new HandlerConfigError('HANDLER_CONFIG', `unknown section ${unknown.join(', ')}`, {
      path: `${path}.${unknown[0]}`,
      hint: `sections are ${SECTIONS.join(', ')}`,
    });
  }
  const fields: string[] = [];
  const names: string[] = [];
  if (config.kbar !== undefined) {
    fields.push(...KBAR.fields);
    names.push(...KBAR.names);
  }
  if (config.price !== undefined) {
    const windows = config.price.windows === undefined ? [0, 1, 2, 3, 4] : checkWindows(config.price.windows, `${path}.price.windows`, 0);
    const feature = config.price.feature === undefined ? ['OPEN', 'HIGH', 'LOW', 'CLOSE', 'VWAP'] : checkNames(config.price.feature, `${path}.price.feature`);
    for (const raw of feature) {
      const field = raw.toLowerCase();
      for (const d of windows) fields.push(d !== 0 ? `Ref($${field}, ${d})/$close` : `$${field}/$close`);
      for (const d of windows) names.push(field.toUpperCase() + String(d));
    }
  }
  if (config.volume !== undefined) {
    const windows = config.volume.windows === undefined ? [0, 1, 2, 3, 4] : checkWindows(config.volume.windows, `${path}.volume.windows`, 0);
    for (const d of windows) fields.push(d !== 0 ? `Ref($volume, ${d})/($volume+1e-12)` : '$volume/($volume+1e-12)');
    for (const d of windows) names.push(`VOLUME${d}`);
  }
  if (config.rolling !== undefined) {
    const r = config.rolling;
    const windows = r.windows === undefined ? [5, 10, 20, 30, 60] : checkWindows(r.windows, `${path}.rolling.windows`, 1);
    const include = r.include === undefined || r.include === null ? null : checkNames(r.include, `${path}.rolling.include`, ALPHA158_ROLLING_FAMILIES);
    const exclude = r.exclude === undefined ? [] : checkNames(r.exclude, `${path}.rolling.exclude`, ALPHA158_ROLLING_FAMILIES);
    for (const family of ALPHA158_ROLLING_FAMILIES) {
      if (exclude.includes(family) || (include !== null && !include.includes(family))) continue;
      const rule = ROLLING[family];
      for (const d of windows) fields.push(rule.expr(d));
      for (const d of windows) names.push(rule.name(d));
    }
  }
  return { fields, names };
}
