/**
 * Alpha360's feature list, exactly as qlib's `Alpha360DL.get_feature_config`: for each of close,
 * open, high, low, vwap the last 60 days divided by today's close (`FIELD59` … `FIELD0`), then volume
 * divided by today's volume (+1e-12). 360 columns.
 */
import type { FeatureConfig } from './alpha158.ts';

const PRICE_FIELDS = ['close', 'open', 'high', 'low', 'vwap'] as const;

export function alpha360FeatureConfig(): FeatureConfig {
  const fields: string[] = [];
  const names: string[] = [];
  for (const f of PRICE_FIELDS) {
    for (let i = 59; i >= 1; i--) {
      fields.push(`Ref($${f}, ${i})/$close`);
      names.push(`${f.toUpperCase()}${i}`);
    }
    fields.push(`$${f}/$close`);
    names.push(`${f.toUpperCase()}0`);
  }
  for (let i = 59; i >= 1; i--) {
    fields.push(`Ref($volume, ${i})/($volume+1e-12)`);
    names.push(`VOLUME${i}`);
  }
  fields.push('$volume/($volume+1e-12)');
  names.push('VOLUME0');
  return { fields, names };
}
