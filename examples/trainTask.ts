/**
 * The examples' worker task function: qlib's `task_train` on the task definition, configured from the
 * environment the way a `qtask:taskTrain` worker is (each worker process serves one experiment):
 * `QTASK_PROVIDER_URI` (data directory, required), `QTASK_EXPERIMENT` (default `rolling_exp`) and
 * `QTASK_MLRUNS` (default ./mlruns). Returns the recorder reference the pool stores as the result.
 */
import { taskTrain } from '../src/workflow/taskTrain.ts';
import type { JsonValue } from '../src/task/types.ts';
import type { TaskContext } from '../src/run/types.ts';

export async function trainTask(param: JsonValue, ctx: TaskContext): Promise<JsonValue> {
  const mlruns = process.env.QTASK_MLRUNS;
  const ref = await taskTrain(param, {
    experimentName: process.env.QTASK_EXPERIMENT ?? 'rolling_exp',
    provider: process.env.QTASK_PROVIDER_URI,
    ...(mlruns ? { mlruns } : {}),
    onStage: (stage, event, ms) => {
      if (event === 'end') ctx.log(`${stage} ${((ms ?? 0) / 1000).toFixed(2)} s`);
    },
  });
  return { ...ref };
}
