/**
 * What a worker may assume about its own lease, judged on the monotonic clock only.
 *
 * The store starts a lease no earlier than the moment the claim (or heartbeat) was sent, so the
 * lease lasts at least until `sentAt + leaseMs` however late the reply arrives and whatever the
 * store's wall clock says. Reading `expiresAt` instead would trust a clock on another machine.
 * A safety margin is kept off the end: it covers the time between noticing and the task function
 * actually stopping, and timers firing late on a loaded machine.
 */

/** The part of a lease kept in reserve: a quarter of it, at most 5 s. */
export function leaseSafetyMarginMs(leaseMs: number): number {
  return Math.min(leaseMs / 4, 5_000);
}

export class LeaseClock {
  /** Send time (performance.now()) of the newest claim or heartbeat the store accepted. */
  private renewedAt: number;

  constructor(
    readonly leaseMs: number,
    claimSentAt: number,
  ) {
    this.renewedAt = claimSentAt;
  }

  /** How long the lease is safely ours from the last renewal: `leaseMs` minus the margin. */
  get safeMs(): number {
    return this.leaseMs - leaseSafetyMarginMs(this.leaseMs);
  }

  /** Milliseconds of the safe part left; <= 0 means another worker may hold the task any moment. */
  remainingMs(now = performance.now()): number {
    return this.renewedAt + this.safeMs - now;
  }

  /** Milliseconds since the last renewal was sent. */
  sinceRenewalMs(now = performance.now()): number {
    return now - this.renewedAt;
  }

  /** A heartbeat sent at `sentAt` was accepted. */
  renewed(sentAt: number): void {
    this.renewedAt = Math.max(this.renewedAt, sentAt);
  }
}
