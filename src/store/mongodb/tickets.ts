/**
 * Tickets: FerretDB 1.x's only atomic compare-and-set is a unique `_id` on insert (its updates are
 * read-then-replace). So on that path every change of who owns an attempt goes through an insert
 * into `_qtask_tickets`:
 *
 * - a CLAIM ticket `POOL:TASK:ATTEMPT` — whoever inserts it first owns that attempt;
 * - an END ticket `end:POOL:TASK:ATTEMPT` — whoever inserts it first ends that attempt (commit,
 *   release, fail, lease expiry, or an operator's setStatus); everybody else is fenced out.
 *
 * The task document is then written by `_id` alone, the one filter FerretDB passes to SQLite instead
 * of decoding the whole pool in Go. A ticket also records the state it stands for, so a document
 * write that was lost (a crash between ticket and write, or a stale whole-document replace winning
 * FerretDB's read-then-replace race) is rolled forward from the ticket.
 */
import type { Collection, Document, ObjectId } from 'mongodb';
import type { TaskStatus } from '../../task/types.ts';
import type { StoredTask } from './codec.ts';

/** Whoever inserts `pool:task:attempt` first owns that attempt. */
export interface ClaimTicket {
  _id: string;
  pool: string;
  task: ObjectId;
  attempt: number;
  token: string;
  worker: string;
  claimedFrom: TaskStatus;
  startedAt: Date;
  leaseExpiresAt: Date;
}

/** Whoever inserts `end:pool:task:attempt` first ends that attempt; `set` is what it wrote. */
export interface EndTicket {
  _id: string;
  pool: string;
  task: ObjectId;
  attempt: number;
  /** The lease token of the attempt that was ended (not the ender's). */
  token: string;
  /** commit | release | fail | expire | setStatus */
  by: string;
  set: Document;
  at: Date;
}

export type Ticket = ClaimTicket | EndTicket;

export const claimTicketId = (pool: string, task: ObjectId, attempt: number): string => `${pool}:${task.toHexString()}:${attempt}`;
export const endTicketId = (pool: string, task: ObjectId, attempt: number): string => `end:${pool}:${task.toHexString()}:${attempt}`;

export function isDuplicateKey(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 11000;
}

/** Inserts one ticket; false when that `_id` is already taken. */
export async function takeTicket(tickets: Collection<Ticket>, ticket: Ticket): Promise<boolean> {
  try {
    await tickets.insertOne(ticket);
    return true;
  } catch (e) {
    if (isDuplicateKey(e)) return false;
    throw e;
  }
}

/** Inserts many tickets in one request; returns the ids that were taken by someone else before. */
export async function takeTickets(tickets: Collection<Ticket>, list: Ticket[]): Promise<Set<string>> {
  const lost = new Set<string>();
  if (list.length === 0) return lost;
  try {
    await tickets.insertMany(list, { ordered: false });
  } catch (e) {
    const errors = (e as { writeErrors?: unknown }).writeErrors;
    const all = Array.isArray(errors) ? errors : errors ? [errors] : [];
    if (all.length === 0 || all.some((w: { code?: unknown }) => w.code !== 11000)) throw e;
    for (const w of all as { index: number }[]) lost.add(list[w.index]!._id);
  }
  return lost;
}

export function ticketState(t: ClaimTicket): Partial<StoredTask> {
  return {
    status: 'running',
    claimedFrom: t.claimedFrom,
    leaseToken: t.token,
    leaseExpiresAt: t.leaseExpiresAt,
    startedAt: t.startedAt,
    finishedAt: null,
    worker: t.worker,
    attempts: t.attempt,
  };
}

/**
 * The `$set`/`$unset` that puts the claim fields of `before` back (a claim that found its task
 * changed since the candidate scan undoes its write).
 */
export function undoClaim(before: StoredTask): { $set: Document; $unset?: Document } {
  const set: Document = {};
  const unset: Document = {};
  for (const k of ['status', 'claimedFrom', 'leaseToken', 'leaseExpiresAt', 'startedAt', 'finishedAt', 'worker', 'attempts'] as const) {
    if (k in before) set[k] = before[k];
    else unset[k] = '';
  }
  return Object.keys(unset).length > 0 ? { $set: set, $unset: unset } : { $set: set };
}
