/**
 * Compiles parsed expressions into a shared DAG: equal sub-expressions (by canonical text) become
 * one node, so a batch evaluates `$close` or `Mean($close,5)` once per instrument and window. Each
 * node knows qlib's extended window `(lft, rgt)` and whether its value depends on where loading
 * starts (EMA, expanding windows, `Ref(x,0)`, qlib's short `Delta` window).
 */
import { canonical, type CallNode, type ExprNode } from './ast.ts';
import { OPERATORS, type OpFamily } from './operators.ts';
import type { ResolvedOptions } from './options.ts';

export interface PlanNode {
  id: number;
  key: string;
  node: ExprNode;
  family: OpFamily | 'field';
  op: string;
  /** Plan ids of series arguments, `-1` for literal arguments (read from `node.args`). */
  children: number[];
  lft: number;
  rgt: number;
  /** True when the value at a row depends on how far back loading starts, not just on the window. */
  historyDependent: boolean;
}

export class Plan {
  readonly nodes: PlanNode[] = [];
  private readonly byKey = new Map<string, number>();

  constructor(private readonly options: ResolvedOptions) {}

  /** Adds an expression (and its sub-expressions) and returns the id of its root. */
  add(node: ExprNode): number {
    const key = canonical(node);
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing;
    let pn: PlanNode;
    if (node.kind === 'field') {
      pn = { id: -1, key, node, family: 'field', op: 'Feature', children: [], lft: 0, rgt: 0, historyDependent: false };
    } else if (node.kind === 'call') {
      const children = node.args.map((a) => (a.kind === 'field' || a.kind === 'call' ? this.add(a) : -1));
      pn = this.describeCall(node, key, children);
    } else {
      throw new Error(`internal: literal ${key} cannot be a plan node`);
    }
    pn.id = this.nodes.length;
    this.nodes.push(pn);
    this.byKey.set(key, pn.id);
    return pn.id;
  }

  private describeCall(node: CallNode, key: string, children: number[]): PlanNode {
    const spec = OPERATORS.get(node.op)!;
    const kids = children.filter((c) => c >= 0).map((c) => this.nodes[c]);
    const l = Math.max(0, ...kids.map((k) => k.lft));
    const r = Math.max(0, ...kids.map((k) => k.rgt));
    const childDependent = kids.some((k) => k.historyDependent);
    const num = (i: number): number => (node.args[i] as { value: number }).value;
    let lft = l;
    let rgt = r;
    let dependent = childDependent;
    switch (spec.family) {
      case 'ref': {
        const N = num(1);
        if (N === 0) dependent = true;
        else {
          lft = Math.max(l + N, l);
          rgt = Math.max(r - N, r);
        }
        break;
      }
      case 'delta': {
        const N = num(1);
        if (N === 0) dependent = true;
        else {
          lft = l + (this.options.deltaShortWindow ? N - 1 : N);
          if (this.options.deltaShortWindow) dependent = true;
        }
        break;
      }
      case 'rolling':
      case 'pairRolling': {
        const N = num(spec.family === 'rolling' ? 1 : 2);
        if (node.op === 'EMA') dependent = true;
        if (N === 0) dependent = true;
        else if (N > 0 && N < 1) lft = Math.max(l + Math.trunc(Math.log(1e-6) / Math.log(1 - N)) - 1, l);
        else lft = l + N - 1;
        break;
      }
      default:
        break;
    }
    return { id: -1, key, node, family: spec.family, op: node.op, children, lft, rgt, historyDependent: dependent };
  }
}
