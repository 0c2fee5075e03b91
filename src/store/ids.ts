import { randomBytes, randomInt } from 'node:crypto';

/**
 * Task ids shaped like MongoDB ObjectIds: 4-byte seconds, 5 random bytes chosen once per process,
 * 3-byte counter. The per-process random part keeps ids unique across concurrent processes; the
 * counter keeps ids from one process increasing, so `id` is a usable FIFO tie-break.
 */
const processRandom = randomBytes(5).toString('hex');
let counter = randomInt(0, 0xffffff);

export function newTaskId(nowMs: number = Date.now()): string {
  counter = (counter + 1) & 0xffffff;
  const seconds = Math.floor(nowMs / 1000) >>> 0;
  return seconds.toString(16).padStart(8, '0') + processRandom + counter.toString(16).padStart(6, '0');
}

const ID_SHAPE = /^[0-9a-f]{24}$/;

export function isTaskId(value: unknown): value is string {
  return typeof value === 'string' && ID_SHAPE.test(value);
}

// Random bytes are drawn in blocks: one randomBytes call per 256 tokens instead of one per claim.
let tokenPool = Buffer.alloc(0);
let tokenOffset = 0;

/** A fencing token: 128 random bits, new for every claim. */
export function newLeaseToken(): string {
  if (tokenOffset + 16 > tokenPool.length) {
    tokenPool = randomBytes(4096);
    tokenOffset = 0;
  }
  const token = tokenPool.toString('hex', tokenOffset, tokenOffset + 16);
  tokenOffset += 16;
  return token;
}
