import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alpha158FeatureConfig, alpha360FeatureConfig, DEFAULT_LABEL, ALPHA158_ROLLING_FAMILIES, type Alpha158Config } from '../../src/data/handler/index.ts';

const FIX = join(import.meta.dirname, '../fixtures/golden');
const appendixA = JSON.parse(readFileSync(join(FIX, 'alpha158_appendix_a.json'), 'utf8')) as { names: string[]; fields: string[] };
/** Output of qlib 0.9.7's own config functions (scripts/golden/feature_configs.py). */
const qlib = JSON.parse(readFileSync(join(FIX, 'qlib_feature_configs.json'), 'utf8')) as {
  alpha158_default: { fields: string[]; names: string[] };
  alpha158_label: { fields: string[]; names: string[] };
  alpha360: { fields: string[]; names: string[] };
  alpha158dl_custom: Array<{ config: Alpha158Config; fields: string[]; names: string[] }>;
};

test('Alpha158 default list equals Appendix A verbatim (names, expressions, order) and qlib 0.9.7', () => {
  const c = alpha158FeatureConfig();
  assert.equal(c.names.length, 158);
  assert.deepEqual(c.names, appendixA.names);
  assert.deepEqual(c.fields, appendixA.fields);
  assert.deepEqual(c, qlib.alpha158_default);
  assert.deepEqual({ ...DEFAULT_LABEL }, qlib.alpha158_label);
  assert.equal(DEFAULT_LABEL.fields[0], 'Ref($close, -2)/Ref($close, -1) - 1');
});

test('Alpha158DL custom configs (price windows, volume, include/exclude) equal qlib output', () => {
  for (const { config, fields, names } of qlib.alpha158dl_custom) {
    assert.deepEqual(alpha158FeatureConfig(config), { fields, names }, JSON.stringify(config));
  }
  assert.equal(ALPHA158_ROLLING_FAMILIES.length, 29);
});

test('Alpha360 list equals qlib: CLOSE59..0, OPEN, HIGH, LOW, VWAP, VOLUME', () => {
  const c = alpha360FeatureConfig();
  assert.equal(c.names.length, 360);
  assert.deepEqual(c, qlib.alpha360);
  assert.equal(c.names[0], 'CLOSE59');
  assert.equal(c.fields[359], '$volume/($volume+1e-12)');
});

test('bad Alpha158 feature configs are typed errors with paths', () => {
  const cases: Array<[unknown, string]> = [
    [{ kbar: {}, candles: {} }, 'feature_config.candles'],
    [{ rolling: { windows: [5, 0] } }, 'feature_config.rolling.windows'],
    [{ price: { windows: [-1] } }, 'feature_config.price.windows'],
    [{ rolling: { exclude: ['RANKK'] } }, 'feature_config.rolling.exclude'],
    [{ price: { feature: 'OPEN' } }, 'feature_config.price.feature'],
    [[], 'feature_config'],
  ];
  for (const [cfg, path] of cases) {
    assert.throws(() => alpha158FeatureConfig(cfg as Alpha158Config), { code: 'HANDLER_CONFIG', path }, JSON.stringify(cfg));
  }
});
