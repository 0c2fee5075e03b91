/**
 * qlib's Group / RollingGroup (qlib/model/ens/group.py): split a dict into groups, then reduce each
 * group with an ensemble. `{(A, B, R1): x, (A, B, R2): y}` → `{(A, B): {R1: x, R2: y}}` → `{(A, B): ens(…)}`.
 */
import { CollectError } from './errors.ts';
import { RollingEnsemble, runEnsemble } from './ensemble.ts';
import type { EnsembleLike } from './ensemble.ts';
import { KeyedDict, isKeyedDict, isTupleKey } from './keyed.ts';

export type GroupFunc = (ungrouped: KeyedDict<unknown>) => KeyedDict<KeyedDict<unknown>>;

export interface GroupOptions {
  /** Splits the dict into `{groupKey: {memberKey: value}}`. Required unless a subclass overrides `group`. */
  groupFunc?: GroupFunc;
  /** Reduces each group. Required unless a subclass sets it. */
  ens?: EnsembleLike;
}

/**
 * Groups run one after another on the calling thread. Reduction is a sort-and-copy over arrays of
 * strings and floats; shipping a group to a worker thread costs a structured clone of the same
 * arrays, which measured slower than reducing in place (docs/collect.md), so there is no `nJobs`.
 */
export class Group {
  protected readonly groupFunc: GroupFunc | undefined;
  protected readonly ens: EnsembleLike | undefined;

  constructor(opts: GroupOptions = {}) {
    this.groupFunc = opts.groupFunc;
    this.ens = opts.ens;
  }

  group(ungrouped: KeyedDict<unknown>): KeyedDict<KeyedDict<unknown>> {
    if (!this.groupFunc) throw new CollectError('GROUP_FUNC', 'Group has no groupFunc', { path: 'groupFunc', hint: 'pass groupFunc, or use RollingGroup' });
    return this.groupFunc(ungrouped);
  }

  reduce(grouped: KeyedDict<unknown>): unknown {
    if (!this.ens) throw new CollectError('GROUP_FUNC', 'Group has no ens', { path: 'ens', hint: 'pass ens, e.g. new RollingEnsemble()' });
    return runEnsemble(this.ens, grouped);
  }

  /** qlib's `Group.__call__`: group, then reduce each group; `{groupKey: reduced}` in group order. */
  apply(ungrouped: unknown): KeyedDict<unknown> {
    if (!isKeyedDict(ungrouped)) {
      throw new CollectError('ENSEMBLE_INPUT', `${this.constructor.name} needs a KeyedDict (a collector's {recKey: value})`, { hint: 'put the group in a collector\'s processList' });
    }
    const out = new KeyedDict<unknown>();
    for (const [k, members] of this.group(ungrouped)) out.set(k, this.reduce(members));
    return out;
  }

  /** As a `processList` entry. */
  process(value: unknown): KeyedDict<unknown> {
    return this.apply(value);
  }
}

/**
 * qlib's RollingGroup: a tuple key `[A, …, R]` goes to group `[A, …]` as member `R` (the rolling part
 * is last). A non-tuple key is its own group of one, kept under the same key — qlib's docstring says
 * "do nothing" but its code raised TypeError (W41). Default ens: RollingEnsemble.
 */
export class RollingGroup extends Group {
  constructor(opts: { ens?: EnsembleLike } = {}) {
    super({ ens: opts.ens ?? new RollingEnsemble() });
  }

  override group(rolling: KeyedDict<unknown>): KeyedDict<KeyedDict<unknown>> {
    const grouped = new KeyedDict<KeyedDict<unknown>>();
    for (const [key, value] of rolling) {
      if (isTupleKey(key) && key.length > 0) grouped.setDefault(key.slice(0, -1), () => new KeyedDict()).set(key[key.length - 1]!, value);
      else grouped.setDefault(key, () => new KeyedDict()).set(key, value);
    }
    return grouped;
  }
}
