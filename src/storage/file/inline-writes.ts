/**
 * Decides where an append's write runs: on the event loop (a synchronous positional writev) or in
 * libuv's thread pool.
 *
 * Why on the event loop: a 16 KiB write into the page cache takes 10-50 µs, and handing it to the
 * thread pool costs about as much again (a futex wake, a worker's context switches, an async
 * wake-up of the loop, a promise hop back) on the two cores that requests, workers and clients
 * share. With 16 KiB produce requests arriving one at a time, 8,000 a second, writing them inline
 * took the broker's p50 from 240-300 µs to 170-240 µs, level with the same-run baseline.
 *
 * Why not always: a large write (appends coalesced under load) amortizes the hop, and in the pool
 * it leaves the event loop free to take in the next requests on the other core; writing
 * everything inline cost about 5% of the maximum throughput. The writer starts a turn after the appends
 * (`scheduleDrain` in partition-log.ts), so requests that arrive together form one large write
 * for the pool, while requests arriving one at a time are written inline.
 *
 * And a write can block in the kernel (dirty-page throttling once writeback falls behind, a slow
 * or failing device) while the event loop serves every connection's fetches and heartbeats. A lone
 * slow write is common and harmless: a preempted thread or a page allocation, about one a second
 * over 1 ms at 8,000 writes a second on a busy 2-core guest. What matters is how long the loop
 * stalls in all. So when inline writes slower than `slowMs` add up to more than `stallBudgetMs`
 * within a second, writes go to the pool for a back-off period, which doubles while the stalls go
 * on: a stalled device stalls the event loop for about one budget per back-off.
 */

/**
 * Writes up to this many bytes run inline: one 16 KiB batch, not a coalesced group of them. Copying
 * two or more into the page cache costs the event loop more than the hop to the pool does; with
 * 64 KiB the maximum produce rate at 64 requests in flight was 6% lower.
 */
export const MAX_INLINE_WRITE_BYTES = 32 * 1024;
/** An inline write slower than this counts towards the stall budget. */
export const SLOW_INLINE_WRITE_MS = 1;
/** Slow inline writes may stall the event loop this long per second before writes leave it. */
export const INLINE_STALL_BUDGET_MS = 10;
const STALL_WINDOW_MS = 1_000;
const FIRST_BACK_OFF_MS = 1_000;
const MAX_BACK_OFF_MS = 60_000;

export interface InlineWriteOptions {
  /** 0 sends every write to the thread pool. */
  maxBytes?: number;
  slowMs?: number;
  stallBudgetMs?: number;
  /** Monotonic milliseconds; tests pass a controllable one. */
  now?: () => number;
  /** Told each time the budget runs out and writes go to the pool (for a log line and a metric). */
  onBackOff?: (backOff: InlineWriteBackOff) => void;
}

export interface InlineWriteBackOff {
  /** How long slow inline writes held the event loop within the last second. */
  stalledMs: number;
  /** How long writes now go to the pool. */
  backOffMs: number;
}

/** Shared by every partition log of an engine: they write to the same device. */
export class InlineWritePolicy {
  readonly maxBytes: number;
  readonly now: () => number;
  private readonly slowMs: number;
  private readonly stallBudgetMs: number;
  private readonly onBackOff: ((backOff: InlineWriteBackOff) => void) | undefined;
  private windowStartMs = -Infinity;
  private stalledMs = 0;
  private backOffMs = 0;
  private poolUntilMs = -Infinity;
  /** Times the stall budget ran out and writes went to the pool. */
  backOffs = 0;

  constructor(options: InlineWriteOptions = {}) {
    this.maxBytes = options.maxBytes ?? MAX_INLINE_WRITE_BYTES;
    this.slowMs = options.slowMs ?? SLOW_INLINE_WRITE_MS;
    this.stallBudgetMs = options.stallBudgetMs ?? INLINE_STALL_BUDGET_MS;
    this.now = options.now ?? (() => performance.now());
    this.onBackOff = options.onBackOff;
  }

  /** Whether a write of `bytes` should run inline now. */
  admits(bytes: number): boolean {
    return bytes <= this.maxBytes && this.now() >= this.poolUntilMs;
  }

  /** Told when an inline write started and ended (by `now`). */
  record(startedMs: number, endedMs: number): void {
    if (endedMs - this.windowStartMs >= STALL_WINDOW_MS) {
      this.windowStartMs = endedMs;
      this.stalledMs = 0;
    }
    const elapsedMs = endedMs - startedMs;
    if (elapsedMs > this.slowMs) this.stalledMs += elapsedMs;
    if (this.stalledMs <= this.stallBudgetMs) {
      // A whole back-off period inline since the last one ended: the device has recovered.
      if (this.backOffMs > 0 && endedMs >= this.poolUntilMs + this.backOffMs) this.backOffMs = 0;
      return;
    }
    this.backOffs++;
    this.backOffMs = this.backOffMs === 0 ? FIRST_BACK_OFF_MS : Math.min(this.backOffMs * 2, MAX_BACK_OFF_MS);
    this.poolUntilMs = endedMs + this.backOffMs;
    this.windowStartMs = -Infinity;
    this.onBackOff?.({ stalledMs: this.stalledMs, backOffMs: this.backOffMs });
  }

  /** How long writes go to the pool after the last back-off (0 when none is in force). */
  get currentBackOffMs(): number {
    return this.backOffMs;
  }
}
