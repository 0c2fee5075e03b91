/**
 * A toy task function for the README's CLI walk-through (no data needed; `npm run demo` trains for
 * real with examples/trainTask.ts / `qtask:taskTrain`). It reads the task's
 * segments, counts the weekdays in each and derives a deterministic pseudo "IC" from the test window,
 * then sleeps a little so that two workers visibly share the pool.
 */
import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../src/task/types.ts';

/** How long each task pretends to train, ms. Default 150; env QTASK_DEMO_TASK_MS. */
const TASK_MS = Number(process.env.QTASK_DEMO_TASK_MS ?? 150);

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function weekdaysBetween(start: string, end: string): number {
  let n = 0;
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += 86_400_000) {
    const day = new Date(t).getUTCDay();
    if (day !== 0 && day !== 6) n += 1;
  }
  return n;
}

export async function demoTask(param: JsonValue): Promise<JsonValue> {
  const dataset = isObject(param) ? param.dataset : undefined;
  const kwargs = isObject(dataset) ? dataset.kwargs : undefined;
  const segments = isObject(kwargs) ? kwargs.segments : undefined;
  if (!isObject(segments)) throw new Error('task has no dataset.kwargs.segments');
  const days: Record<string, number> = {};
  for (const [name, seg] of Object.entries(segments)) {
    if (Array.isArray(seg) && typeof seg[0] === 'string') {
      // An open end (null) counts up to the demo calendar's last day.
      days[name] = weekdaysBetween(seg[0], typeof seg[1] === 'string' ? seg[1] : '2020-12-31');
    }
  }
  const digest = createHash('sha256').update(JSON.stringify(segments.test)).digest();
  const ic = Math.round(((digest.readUInt16BE(0) / 65535) * 0.08 - 0.01) * 1e4) / 1e4;
  await new Promise((resolve) => setTimeout(resolve, TASK_MS));
  return { test: segments.test ?? null, days, ic };
}
