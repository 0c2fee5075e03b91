/**
 * qlib's `MultiHorizonGenBase` made concrete: one task per prediction horizon, each with its label
 * set for that horizon and its non-test segments truncated by `hr + labelLeakN` trading days so
 * no training label can see into the test period. No rolling.
 */
import { ValidationError } from '../errors.ts';
import type { ValidationIssue } from '../errors.ts';
import { getHandler, isJsonObject, requireSegments, setSegments, validateTaskDef } from '../task/definition.ts';
import type { TaskDef } from '../task/types.ts';
import type { Calendar } from './calendar.ts';
import { truncSegments } from './taskGen.ts';
import type { TaskGen } from './taskGen.ts';
import { TimeAdjuster } from './timeAdjuster.ts';
import type { CalendarLoader } from './timeAdjuster.ts';

/** Sets the task up for horizon `hr`, in place (qlib's abstract `set_horizon`). */
export type SetHorizon = (task: TaskDef, hr: number) => void;

/** Label of an `hr`-day horizon: the return from the T+1 close to the T+1+hr close. `hr = 1` is qlib's default label. */
export function horizonLabel(hr: number): string {
  return `Ref($close, -${hr + 1})/Ref($close, -1) - 1`;
}

/**
 * The default `setHorizon`: writes `dataset.kwargs.handler.kwargs.label =
 * [["Ref($close, -(hr+1))/Ref($close, -1) - 1"], ["LABEL0"]]` (qlib's Alpha158/Alpha360 `label`
 * kwarg: expressions, names). The handler must be a component object.
 */
export const setHandlerLabel: SetHorizon = (task, hr) => {
  const handler = getHandler(task);
  if (!isJsonObject(handler)) {
    throw new ValidationError([{ path: 'dataset.kwargs.handler', message: 'must be a handler component to set its label per horizon' }], {
      hint: 'pass setHorizon to MultiHorizonGen for other task shapes',
    });
  }
  if (handler.kwargs === undefined) handler.kwargs = {};
  if (!isJsonObject(handler.kwargs)) {
    throw new ValidationError([{ path: 'dataset.kwargs.handler.kwargs', message: 'must be an object' }], { hint: 'give the handler kwargs as an object' });
  }
  handler.kwargs.label = [[horizonLabel(hr)], ['LABEL0']];
};

export interface MultiHorizonGenOptions {
  /** The trading calendar. Required. */
  calendar: Calendar | CalendarLoader | TimeAdjuster;
  /** Horizons in trading days, positive integers. Default `[5]`. */
  horizon?: number[];
  /** Extra trading days cut on top of each horizon. Default 2. */
  labelLeakN?: number;
  /** Sets a task up for one horizon. Default `setHandlerLabel`. */
  setHorizon?: SetHorizon;
}

export class MultiHorizonGen implements TaskGen {
  readonly ta: TimeAdjuster;
  readonly horizon: readonly number[];
  readonly labelLeakN: number;
  readonly testKey = 'test';
  private readonly setHorizon: SetHorizon;

  constructor(options: MultiHorizonGenOptions) {
    const issues: ValidationIssue[] = [];
    const horizon = options.horizon ?? [5];
    if (!Array.isArray(horizon) || horizon.length === 0) issues.push({ path: 'horizon', message: 'must be a non-empty list of positive integers' });
    else horizon.forEach((h, i) => {
      if (!Number.isInteger(h) || h <= 0) issues.push({ path: `horizon[${i}]`, message: `must be a positive integer, got ${h}` });
    });
    const labelLeakN = options.labelLeakN ?? 2;
    if (!Number.isInteger(labelLeakN) || labelLeakN < 0) issues.push({ path: 'labelLeakN', message: `must be a non-negative integer, got ${labelLeakN}` });
    if (options.calendar === undefined || options.calendar === null) issues.push({ path: 'calendar', message: 'is required' });
    if (issues.length > 0) throw new ValidationError(issues, { hint: 'check the MultiHorizonGen options' });
    this.ta = options.calendar instanceof TimeAdjuster ? options.calendar : new TimeAdjuster(options.calendar);
    this.horizon = [...horizon];
    this.labelLeakN = labelLeakN;
    this.setHorizon = options.setHorizon ?? setHandlerLabel;
  }

  /** One task per horizon, in `horizon` order. The template is not modified. */
  generate(task: TaskDef): TaskDef[] {
    const template = validateTaskDef(task);
    requireSegments(template, this.testKey);
    return this.horizon.map((hr) => {
      const t = structuredClone(template);
      this.setHorizon(t, hr);
      const segments = this.ta.alignSeg(requireSegments(t, this.testKey), 'dataset.kwargs.segments');
      truncSegments(this.ta, segments, hr + this.labelLeakN, this.testKey);
      setSegments(t, segments);
      return t;
    });
  }
}
