/**
 * `qtask online init|routine|simulate|signals|status --config online.yaml`: qlib's OnlineManager
 * driven by a YAML file (see docs/online.md). State lives in the config's state_dir as JSON, so
 * every call is a fresh process that reloads it.
 */
import type { Command } from 'commander';
import { note, printJson } from '../output.ts';

interface ConfigOpt {
  config: string;
}

type Manager = Awaited<ReturnType<typeof import('../../online/config.ts')['openManager']>>;

/** Opens the manager of the config, runs `f`, and closes it (a MongoDB task pool would keep the process alive). */
async function withManager(opts: ConfigOpt, create: boolean, f: (m: Manager) => Promise<void> | void): Promise<void> {
  const { loadOnlineConfig, openManager } = await import('../../online/config.ts');
  const m = await openManager(loadOnlineConfig(opts.config), create);
  try {
    await f(m);
  } finally {
    await m.close();
  }
}

export function register(program: Command): void {
  const online = program.command('online').description('online serving: first train, daily routine, simulation, merged signals');
  const cfg = (c: Command) => c.requiredOption('--config <file>', 'online YAML file (strategies, templates, rolling step, trainer, provider_uri, mlruns, state_dir)');

  cfg(online.command('init').description('first-train every strategy (strategies added to the config later are first-trained too)')).action(async (opts: ConfigOpt) => {
    await withManager(opts, true, async (m) => {
      await m.firstTrain();
      m.save();
      printJson(m.status());
    });
  });

  cfg(online.command('routine').description('roll, train and switch models, update predictions and extend the signals to a day'))
    .option('--date <day>', "routine day (default: the calendar's last day)")
    .action(async (opts: ConfigOpt & { date?: string }) => {
      await withManager(opts, false, async (m) => {
        const r = await m.routine(opts.date);
        if (!r.ran) note(`${r.time}: already done, nothing changed`);
        printJson(r);
      });
    });

  cfg(online.command('simulate').description('first train, then a routine for every trading day from begin_time to --end (resumable)'))
    .requiredOption('--end <day>', 'last day to simulate')
    .action(async (opts: ConfigOpt & { end: string }) => {
      await withManager(opts, true, async (m) => {
        let n = 0;
        await m.simulate({ end: opts.end, onDay: (r) => { if (++n % 20 === 0) note(`simulated up to ${r.time}`); } });
        printJson(m.status());
      });
    });

  cfg(online.command('signals').description('print the merged signal as CSV (datetime,instrument,score)'))
    .option('--from <day>', 'first day (default: all)')
    .option('--to <day>', 'last day (default: all)')
    .action(async (opts: ConfigOpt & { from?: string; to?: string }) => {
      await withManager(opts, false, async (m) => {
        const s = m.getSignals();
        const lines = ['datetime,instrument,score'];
        for (let i = 0; i < s.dates.length; i++) {
          const d = s.dates[i]!;
          if ((opts.from && d < opts.from) || (opts.to && d > opts.to)) continue;
          lines.push(`${d},${s.instruments[i]},${s.values[0]![i]}`);
        }
        process.stdout.write(lines.join('\n') + '\n');
      });
    });

  cfg(online.command('status').description('begin time, last routine, online models per strategy, signal extent')).action(async (opts: ConfigOpt) => {
    await withManager(opts, false, async (m) => {
      printJson(m.status());
    });
  });
}
