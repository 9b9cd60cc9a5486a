/**
 * Kafka's defaults for the settings a partition log uses. Parsing topic configs into a LogConfig is
 * done by the cluster layer (`logConfigOf` in cluster/topic-configs.ts), next to the definitions of
 * every topic config; the engines only ever receive a complete LogConfig.
 */
import type { LogConfig } from './engine.js';

/**
 * log.roll.flush.delay.ms (Tributary's own, engine-wide): how long a rolled segment waits for its
 * seal. Linux's default dirty expiry (vm.dirty_expire_centisecs, 30 s) plus two wake-ups of the
 * kernel's flusher threads (vm.dirty_writeback_centisecs, 5 s): by then the kernel has written the
 * segment back itself.
 */
export const DEFAULT_ROLL_FLUSH_DELAY_MS = 40_000;

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  /** segment.bytes: 1 GiB */
  segmentBytes: 1_073_741_824,
  /** segment.ms: 7 days */
  segmentMs: 604_800_000,
  /** retention.ms: 7 days */
  retentionMs: 604_800_000,
  /** retention.bytes: unlimited */
  retentionBytes: -1,
  /** index.interval.bytes */
  indexIntervalBytes: 4096,
  /** message.timestamp.type */
  timestampType: 'CreateTime',
  /** cleanup.policy */
  cleanupPolicy: 'delete',
  /** min.cleanable.dirty.ratio */
  minCleanableDirtyRatio: 0.5,
  /** delete.retention.ms: 1 day */
  deleteRetentionMs: 86_400_000,
  /** min.compaction.lag.ms */
  minCompactionLagMs: 0,
  /** max.compaction.lag.ms: Long.MAX_VALUE in Kafka, "never" */
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
});
