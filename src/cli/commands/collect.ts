import { writeFileAtomic } from '../../recorder/fsAtomic.ts';
import { Option } from 'commander';
import type { Command } from 'commander';
import { AverageEnsemble, RollingEnsemble } from '../../collect/ensemble.ts';
import { CollectError } from '../../collect/errors.ts';
import { recorderFilterFromQuery } from '../../collect/filter.ts';
import { RollingGroup } from '../../collect/group.ts';
import { KeyedDict } from '../../collect/keyed.ts';
import { collectedRows, collectedToCsv, collectedToParquet, outputFormatOf } from '../../collect/output.ts';
import { RecorderCollector, defaultRecKey } from '../../collect/collector.ts';
import type { Processor } from '../../collect/collector.ts';
import { isPanel } from '../../recorder/artifacts.ts';
import { getStore } from '../../recorder/R.ts';
import { note } from '../output.ts';

interface CollectOpts {
  experiment: string;
  mlruns?: string;
  artifact: string;
  group: 'rolling' | 'none';
  ensemble: 'rolling' | 'average' | 'none';
  filter?: string;
  output: string;
}

function parseFilter(text: string | undefined): ReturnType<typeof recorderFilterFromQuery> | undefined {
  if (text === undefined) return undefined;
  let q: unknown;
  try {
    q = JSON.parse(text);
  } catch (e) {
    throw new CollectError('VALIDATION', `--filter is not JSON: ${(e as Error).message}`, { path: '--filter', hint: `e.g. --filter '{"params.model.class": "LinearModel"}'`, cause: e });
  }
  return recorderFilterFromQuery(q);
}

/**
 * The processing chain for the --group / --ensemble pair (see docs/collect.md). `--ensemble none`
 * prints every recorder's artifact under its key, whatever `--group` says.
 */
function processList(group: CollectOpts['group'], ensemble: CollectOpts['ensemble']): Processor[] {
  if (ensemble === 'none') return [];
  if (group === 'rolling') {
    // RollingGroup reduces each model's windows with RollingEnsemble; `average` then combines the models.
    return ensemble === 'rolling' ? [new RollingGroup()] : [new RollingGroup(), (d) => new AverageEnsemble().ensemble(d as KeyedDict<unknown>)];
  }
  const e = ensemble === 'rolling' ? new RollingEnsemble() : new AverageEnsemble();
  return [(d) => e.ensemble(d as KeyedDict<unknown>)];
}

/** `qtask collect`: qlib's RecorderCollector (+ RollingGroup / ensembles) over an mlruns store, as CSV or Parquet. */
export function register(program: Command): void {
  program
    .command('collect')
    .description('collect an artifact (pred) of the FINISHED runs of an experiment, group and ensemble it, write CSV or Parquet')
    .requiredOption('--experiment <name>', 'experiment name (never created)')
    .option('--mlruns <dir>', 'mlruns directory or file: URI (default: $QTASK_MLRUNS, else ./mlruns)')
    .option('--artifact <name>', 'artifact to collect, loaded as <name>.csv/.json', 'pred')
    .addOption(new Option('--group <kind>', 'rolling: group by the key minus its test segment').choices(['rolling', 'none']).default('rolling'))
    .addOption(new Option('--ensemble <kind>', 'rolling: per-date latest window; average: z-score per date then mean (after --group rolling: across models)').choices(['rolling', 'average', 'none']).default('rolling'))
    .option('--filter <json>', 'Mongo-style query on {id, name, status, tags, params}, e.g. {"params.model.class": "LinearModel"}')
    .option('--output <file>', 'output file, .csv or .parquet, or - for CSV on stdout', '-')
    .action((opts: CollectOpts) => {
      const format = outputFormatOf(opts.output);
      if (format === undefined) {
        throw new CollectError('COLLECT_OUTPUT', `cannot write ${opts.output}: the output format is chosen by the extension`, {
          path: '--output',
          hint: 'use a .csv or .parquet file, or - for CSV on stdout',
        });
      }
      const filter = parseFilter(opts.filter);
      const store = getStore(opts.mlruns === undefined ? {} : { uri: opts.mlruns });
      const collector = new RecorderCollector({
        experiment: opts.experiment,
        store,
        artifactsPath: { [opts.artifact]: opts.artifact },
        recKeyFunc: defaultRecKey,
        ...(filter ? { recFilterFunc: filter } : {}),
        processList: processList(opts.group, opts.ensemble),
      });
      const t0 = performance.now();
      const out = collector.run();
      const stats = collector.lastStats!;
      const result = out.get(opts.artifact);
      const collected = result instanceof KeyedDict || isPanel(result) ? result : new KeyedDict();
      const data = format === 'parquet' ? collectedToParquet(collected) : collectedToCsv(collected);
      if (opts.output === '-') process.stdout.write(data);
      else writeFileAtomic(opts.output, data);
      const rows = collectedRows(collected);
      note(`collected ${stats.selected} recorder(s) of ${JSON.stringify(opts.experiment)}${stats.missing.length ? `, ${stats.missing.length} without ${opts.artifact} skipped` : ''}${stats.problems.length ? `, ${stats.problems.length} unreadable run dir(s) ignored` : ''}; ${rows} row(s) in ${Math.round(performance.now() - t0)} ms${opts.output === '-' ? '' : ` → ${opts.output}`}`);
    });
}
