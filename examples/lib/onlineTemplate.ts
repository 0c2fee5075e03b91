/** The online examples' template: the demo's LinearModel-on-Alpha158 task placed for online serving. */
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { loadTaskDefsFile } from '../../src/task/definition.ts';
import type { JsonObject, TaskDef } from '../../src/task/types.ts';
import { segmentsOf } from './report.ts';
import { REPO } from './workers.ts';

/** Alpha158 without VWAP and with fewer rolling windows (~50 features): a daily routine stays quick. */
const SMALL_FEATURES = { kbar: {}, price: { windows: [0], feature: ['OPEN', 'HIGH', 'LOW'] }, rolling: { windows: [5, 20, 60], include: ['ROC', 'MA', 'STD', 'MAX', 'LOW', 'RSV', 'CORR', 'CNTP', 'SUMP', 'VMA', 'VSTD'] } };

/** The template with its test segment on `begin` (qlib's *_CONFIG_ONLINE: first_train rolls from there). */
export function onlineTemplate(cal: readonly string[], begin: number, trainDays: number, validDays: number, modelKwargs?: JsonObject): TaskDef {
  const [t] = loadTaskDefsFile(join(REPO, 'examples/templates/rolling_alpha158_synth.yaml'));
  const task = structuredClone(t!) as JsonObject;
  const trainStart = begin - validDays - trainDays;
  if (trainStart < 0) throw new InvalidArgumentError(`the data has ${cal.length} days; --days + --train-days + ${validDays} need more`);
  const seg = segmentsOf(task) as unknown as Record<string, [string, string]>;
  seg.train = [cal[trainStart]!, cal[begin - validDays - 1]!];
  seg.valid = [cal[begin - validDays]!, cal[begin - 1]!];
  seg.test = [cal[begin]!, cal[begin]!];
  const hk = (((task.dataset as JsonObject).kwargs as JsonObject).handler as JsonObject).kwargs as JsonObject;
  hk.start_time = cal[trainStart]!;
  hk.end_time = cal[begin]!;
  hk.fit_start_time = seg.train[0];
  hk.fit_end_time = seg.train[1];
  hk.feature_config = SMALL_FEATURES;
  if (modelKwargs) (task.model as JsonObject).kwargs = modelKwargs;
  task.record = [(task.record as JsonObject[])[0]!];
  return task;
}
