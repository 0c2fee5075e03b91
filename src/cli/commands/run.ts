import type { Command } from 'commander';

interface RunFlags {
  mlruns?: string;
  experiment?: string;
  json?: boolean;
}

/**
 * `qtask run WORKFLOW.yaml`: qlib's `qrun`. Stages (data → fit → predict → records) are reported on
 * stderr; the recorder's metrics are printed at the end (a table, or one JSON object with --json).
 */
export function register(program: Command): void {
  program
    .command('run')
    .description("run a qlib-shaped workflow YAML (qlib's qrun): build the dataset, fit, predict, run the records")
    .argument('<workflow>', 'workflow YAML (qlib_init, task: {model, dataset, record}, …)')
    .option('--mlruns <dir>', 'mlruns directory (default: exp_manager.uri in the YAML, $QTASK_MLRUNS, else ./mlruns)')
    .option('--experiment <name>', 'experiment name (default: experiment_name in the YAML, else workflow)')
    .option('--json', 'print the result as one JSON object on stdout')
    .action(async (file: string, flags: RunFlags) => {
      const { runWorkflowFile } = await import('../../workflow/qrun.ts');
      let lastPct = -1;
      const result = await runWorkflowFile(file, {
        ...(flags.mlruns !== undefined ? { mlruns: flags.mlruns } : {}),
        ...(flags.experiment !== undefined ? { experimentName: flags.experiment } : {}),
        onStage: (stage, event, ms) => {
          process.stderr.write(event === 'start' ? `[${stage}] …\n` : `[${stage}] done in ${((ms ?? 0) / 1000).toFixed(2)} s\n`);
        },
        onDataProgress: (done, total) => {
          const pct = Math.floor((100 * done) / Math.max(1, total));
          if (pct >= lastPct + 10 || done === total) {
            lastPct = pct;
            process.stderr.write(`[data] ${done}/${total} instruments\n`);
          }
        },
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      const names = Object.keys(result.metrics).sort();
      const width = Math.max(6, ...names.map((n) => n.length));
      const lines = [`experiment ${result.experimentName} (${result.experimentId}), recorder ${result.recorderId}`, `mlruns ${result.mlruns}`, ''];
      lines.push(`${'metric'.padEnd(width)}  value`);
      for (const n of names) lines.push(`${n.padEnd(width)}  ${result.metrics[n]}`);
      lines.push('', `stages: ${Object.entries(result.stages).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(', ')}; total ${(result.totalMs / 1000).toFixed(2)} s`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
