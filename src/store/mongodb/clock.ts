import type { Db } from 'mongodb';
import { isAuthFailure, isConnectionFailure } from './errors.ts';
import { INTERNAL_PREFIX } from './url.ts';

/**
 * Where lease times come from.
 * - `server`: the server evaluates `$$NOW` inside update pipelines and `$expr` filters (MongoDB ≥ 4.2).
 *   No client clock is involved in lease decisions.
 * - `offset`: the client estimates the server's clock as `Date.now() + offset`, the offset measured
 *   against `hello.localTime` on connect and refreshed; used where the server lacks `$$NOW`
 *   (FerretDB 1.x). Client skew cancels out; the error is about half a round trip plus the
 *   server clock's millisecond rounding.
 */
export type TimeSource = 'server' | 'offset';

interface ProbeDoc {
  _id: string;
  at?: Date;
  until?: Date;
}

/**
 * Tries the exact features the `server` time source needs — an update pipeline computing from
 * `$$NOW` and a `$expr` filter reading `$$NOW` — on qtask's own probe collection. Connection
 * failures propagate; any other refusal means the server lacks them.
 */
export async function serverSupportsNow(db: Db): Promise<boolean> {
  const probe = db.collection<ProbeDoc>(`${INTERNAL_PREFIX}_probe`);
  try {
    const after = await probe.findOneAndUpdate(
      { _id: 'now' },
      [{ $set: { at: '$$NOW', until: { $add: ['$$NOW', 1000] } } }],
      { upsert: true, returnDocument: 'after' },
    );
    if (!(after?.at instanceof Date) || !(after.until instanceof Date)) return false;
    if (after.until.getTime() - after.at.getTime() !== 1000) return false;
    const seen = await probe.findOne({ _id: 'now', $expr: { $lte: ['$at', '$$NOW'] } });
    return seen !== null;
  } catch (e) {
    if (isConnectionFailure(e) || isAuthFailure(e)) throw e;
    return false;
  }
}

export interface ServerClockOptions {
  /** Re-measure the offset when the last measurement is older than this. Default 30 000 ms. */
  refreshMs?: number;
  /** Samples per measurement; the one with the shortest round trip wins. Default 3. */
  samples?: number;
}

/** The server's clock as seen from this process: `Date.now() + offsetMs`, kept fresh in the background. */
export class ServerClock {
  offsetMs = 0;
  /** Round trip of the sample the offset came from; the offset's error is at most half of it (+1 ms rounding). */
  rttMs = Number.POSITIVE_INFINITY;
  private syncedAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  private readonly refreshMs: number;
  private readonly samples: number;

  constructor(private readonly db: Db, opts: ServerClockOptions = {}) {
    this.refreshMs = opts.refreshMs ?? 30_000;
    this.samples = opts.samples ?? 3;
  }

  /** Measures the offset now; rejects only when no sample could be taken. */
  async sync(): Promise<void> {
    let best: { offset: number; rtt: number } | null = null;
    for (let i = 0; i < this.samples; i++) {
      const t0 = Date.now();
      const reply = await this.db.admin().command({ hello: 1 });
      const t1 = Date.now();
      const server = reply['localTime'];
      if (!(server instanceof Date)) break;
      // The server rounds to whole milliseconds; the midpoint of the round trip is our best guess.
      const sample = { offset: server.getTime() - (t0 + t1) / 2, rtt: t1 - t0 };
      if (!best || sample.rtt < best.rtt) best = sample;
    }
    if (!best) best = { offset: 0, rtt: Number.POSITIVE_INFINITY };
    this.offsetMs = Math.round(best.offset);
    this.rttMs = best.rtt;
    this.syncedAt = Date.now();
  }

  /** Estimated server time. Starts a background refresh when the measurement is stale. */
  now(): Date {
    if (Date.now() - this.syncedAt > this.refreshMs && !this.inflight) {
      this.inflight = this.sync()
        .catch(() => undefined) // keep the previous offset; the next call retries
        .finally(() => {
          this.inflight = null;
        });
    }
    return new Date(Date.now() + this.offsetMs);
  }
}
