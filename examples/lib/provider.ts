/** The examples' data: a given provider directory, or a synthetic market generated into a temp dir. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { QtaskError } from '../../src/errors.ts';
import { synthMarket } from '../../src/data/synth/index.ts';
import type { SynthSummary } from '../../src/data/synth/index.ts';

export interface ProviderChoice {
  dir: string;
  /** Set when the market was generated here. */
  synth?: SynthSummary;
}

/**
 * `dir` when given (it must hold a qlib data set: calendars/day.txt), else `qtask data synth`'s
 * default market (50 instruments, weekdays 2018-01-01 … 2020-12-31, seed 42) in `workDir/data`.
 */
export function chooseProvider(dir: string | undefined, workDir: string = mkdtempSync(join(tmpdir(), 'qtask-example-'))): ProviderChoice {
  if (dir !== undefined) {
    const abs = resolve(dir);
    if (!existsSync(join(abs, 'calendars', 'day.txt'))) {
      throw new QtaskError('EXAMPLE_PROVIDER', `${abs} is not a qlib data directory (no calendars/day.txt)`, {
        path: '--provider',
        hint: 'import one first: qtask data import-csv CSV_DIR DIR (or qtask data synth DIR), or leave --provider out for synthetic data',
      });
    }
    return { dir: abs };
  }
  const target = join(workDir, 'data');
  return { dir: target, synth: synthMarket({ targetDir: target }) };
}
