/**
 * The storage interface the broker depends on. Two engines implement it: `file/` (the default, a
 * segmented log on local disk with Kafka's layout) and `memory/` (ephemeral brokers and tests).
 *
 * Contract shared by every engine:
 * - Offsets are assigned by the engine, in append order, with no gaps between batches. Compaction
 *   (cleanup.policy=compact) later removes records and batches, leaving gaps: reads and timestamp
 *   searches step over them, and the log start and end offsets stay where they were.
 * - Batches are stored exactly as produced; only baseOffset, partitionLeaderEpoch and (for
 *   LogAppendTime topics) the timestamp fields are rewritten, in place, before the bytes are stored.
 *   The log cleaner alone rebuilds batches of compacted logs (see storage/cleaner.ts).
 * - `append` calls on one partition are applied in call order, even when the caller does not wait
 *   for the previous one; `read` may run concurrently with appends and sees every batch whose append
 *   has resolved (and possibly later ones whose write completed but whose fsync is still running).
 * - The high watermark equals the log end offset: a single node has no followers to wait for. Both
 *   advance when an append's write has completed, before its fsync (as in Kafka with one replica).
 * - After a write or fsync fails, the partition log refuses every later append (and rejects the ones
 *   queued or waiting for that fsync) with an error of code TRIB_ERR_STORAGE_FAILED, because what
 *   reached the disk is then unknown; reads keep working. Reopening the log (a broker restart)
 *   recovers it. Kafka does the same by taking the log directory offline.
 */

/** Per-partition log settings, from the topic's configs (Kafka names in the comments). */
export interface LogConfig {
  /** segment.bytes */
  segmentBytes: number;
  /** segment.ms */
  segmentMs: number;
  /** retention.ms; -1 keeps data forever */
  retentionMs: number;
  /** retention.bytes; -1 means no size limit */
  retentionBytes: number;
  /** index.interval.bytes: bytes of log between two entries of the sparse offset index */
  indexIntervalBytes: number;
  /** message.timestamp.type */
  timestampType: 'CreateTime' | 'LogAppendTime';
  /**
   * cleanup.policy: with `delete`, retention.ms / retention.bytes delete old segments; with
   * `compact`, the cleaner (`compact`) keeps the latest record of each key. Both may apply.
   */
  cleanupPolicy: CleanupPolicy;
  /** min.cleanable.dirty.ratio: the cleaner skips a log whose dirty share of bytes is not above it. */
  minCleanableDirtyRatio: number;
  /** delete.retention.ms: how long a tombstone survives after the cleaner first saw it. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: records younger than this are never compacted. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: dirty records older than this make the log cleanable whatever its ratio. */
  maxCompactionLagMs: number;
}

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export function policyCompacts(policy: CleanupPolicy): boolean {
  return policy !== 'delete';
}

export function policyDeletes(policy: CleanupPolicy): boolean {
  return policy !== 'compact';
}

/** Tuning and test hooks for one run of the cleaner (PartitionLog.compact). */
export interface CompactionOptions {
  /**
   * Memory the key -> offset map may use (Kafka's log.cleaner.dedupe.buffer.size). When the dirty
   * section has more keys than fit, a prefix of it is cleaned now and the rest on later runs.
   */
  offsetMapBytes?: number;
  /** Clean whatever is cleanable even when min.cleanable.dirty.ratio is not reached. */
  force?: boolean;
  /**
   * File engine, tests only: called before each file operation of the swap; throwing stops the
   * cleaner there as a crash would (files left as they are, the log failed until reopened).
   */
  beforeSwapStep?: (step: string) => void;
}

export interface CompactionResult {
  /** False when nothing was cleaned (nothing cleanable, or below the dirty ratio). */
  cleaned: boolean;
  /**
   * Why the run cleaned: 'dirty-ratio', 'max-compaction-lag', 'tombstones', 'forced'; or did not:
   * 'nothing-to-clean', 'below-dirty-ratio', 'in-progress' (another run is under way),
   * 'not-compacted' (cleanup.policy has no compact), 'aborted' (the log closed, or retention
   * deleted a segment being cleaned), 'log-failed' (an I/O error stopped the log until a restart).
   */
  reason: string;
  /** The cleaner checkpoint before and after: offsets below it have been cleaned at least once. */
  firstDirtyOffset: bigint;
  cleanedUpTo: bigint;
  /** Bytes of the rewritten segments before and after. */
  bytesBefore: number;
  bytesAfter: number;
  segmentsBefore: number;
  segmentsAfter: number;
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  /** Batches dropped entirely (every record removed, no producer state to keep). */
  batchesRemoved: number;
}

export interface AppendOptions {
  /** Resolve only once the batch is on stable storage (acks=all). Otherwise once it is written. */
  durable: boolean;
  /** Leader epoch to stamp into the batch's partitionLeaderEpoch field. */
  leaderEpoch: number;
}

export interface AppendResult {
  baseOffset: bigint;
  lastOffset: bigint;
  /** The broker's append time in ms when the topic uses LogAppendTime, else -1n. */
  logAppendTime: bigint;
  logStartOffset: bigint;
}

export interface ReadResult {
  /**
   * Whole record batches, starting with the one that contains the requested offset, or the first
   * one after it when compaction removed it.
   */
  records: Buffer;
  highWatermark: bigint;
  logStartOffset: bigint;
}

export interface TimestampOffset {
  offset: bigint;
  timestamp: bigint;
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** First offset still in the log. */
  readonly logStartOffset: bigint;
  /**
   * Offset after the last batch whose write has completed: the high watermark. Appends still queued
   * are not counted (offsets are nevertheless assigned to them in call order).
   */
  readonly logEndOffset: bigint;
  /**
   * Every batch below this offset is on stable storage (fsynced): it survives a power loss, not
   * only a crash of the process. Advances with durable appends, flushes and sealed segments.
   */
  readonly durableOffset: bigint;
  /** Bytes of log data held for this partition (committed writes only). */
  readonly sizeInBytes: number;

  /**
   * Appends one or more complete, validated batches (see the contract above). The engine owns
   * `batches` until the returned promise settles: it stamps them in place and may write from the
   * buffer later (the memory engine keeps a copy). Rejects without appending anything when the bytes
   * are not whole magic-2 batches (TRIB_ERR_STORAGE_BAD_BATCH), and after close (TRIB_ERR_STORAGE_CLOSED).
   */
  append(batches: Buffer, options: AppendOptions): Promise<AppendResult>;

  /**
   * Reads whole batches from the first whose last offset is >= `offset` (the one containing it, or
   * the next one when compaction removed it), up to `maxBytes` in total, except that the
   * first batch is returned whole even when larger than `maxBytes` (KIP-74), so consumers progress.
   * An offset equal to the log end offset yields empty records. The caller checks the range.
   */
  read(offset: bigint, maxBytes: number): Promise<ReadResult>;

  /**
   * The first record (at or above the log start offset) whose timestamp is >= `timestampMs`, or null
   * when there is none. Record-level: the answer may lie inside a batch. For LogAppendTime batches
   * every record has the batch's append time.
   */
  offsetForTimestamp(timestampMs: bigint): Promise<TimestampOffset | null>;

  /**
   * The record (at or above the log start offset) with the largest timestamp, earliest offset among
   * equals, or null when the log holds no timestamped record (ListOffsets MAX_TIMESTAMP).
   */
  maxTimestamp(): Promise<TimestampOffset | null>;

  /**
   * Moves the log start offset forward to `offset` (DeleteRecords), durably, and deletes the whole
   * segments that lie entirely below it (never the active one). Returns the new log start offset;
   * an offset at or below the current one changes nothing, and one above the log end is clamped to
   * it (the caller refuses those with OFFSET_OUT_OF_RANGE first). Ordered after earlier appends.
   */
  deleteRecordsBefore(offset: bigint): Promise<bigint>;

  /**
   * Applies retention.ms and retention.bytes at `nowMs`, Kafka's way, when cleanup.policy includes
   * delete (a compact-only log is never shortened by age or size): deletes the oldest segments
   * whose largest timestamp is more than retention.ms old, then the oldest while the log would still
   * be larger than retention.bytes without them. When that includes the active segment, a new one is
   * rolled first, so the log is never without one. The log start offset moves to the first remaining
   * segment. Returns how many segments were deleted. The broker calls it periodically
   * (log.retention.check.interval.ms).
   */
  enforceRetention(nowMs: number): Promise<number>;

  /**
   * Runs the log cleaner once (cleanup.policy=compact), Kafka's way. The dirty section is the closed
   * segments from the cleaner checkpoint on (never the active segment, nor records younger than
   * min.compaction.lag.ms); it is cleaned when its share of the closed segments' bytes is above
   * min.cleanable.dirty.ratio, when it holds a record older than max.compaction.lag.ms, or when
   * tombstones are due for removal. Then, from the log start to the end of the dirty section, a
   * record stays only when no later record of the dirty section has its key; tombstones stay until
   * delete.retention.ms after the cleaner first saw them; records without a key stay. Surviving
   * records keep their offsets, so the log then has gaps, which read and offsetForTimestamp step
   * over; the log start and end offsets never change. Reads in flight are never disturbed. Runs
   * concurrently with appends; a second call while one runs returns at once (reason 'in-progress').
   */
  compact(nowMs: number, options?: CompactionOptions): Promise<CompactionResult>;

  /** Applies a changed topic configuration (segment and retention settings) to this partition. */
  updateConfig(config: LogConfig): void;

  /** Forces everything appended so far (including appends still queued) to stable storage. */
  flush(): Promise<void>;

  /**
   * Reads the broker's producer-state snapshot stored beside this partition's log (opaque bytes),
   * or null when there is none. The file engine keeps it as `producer-state.json`.
   */
  readProducerSnapshot(): Promise<Buffer | null>;

  /** Replaces the producer-state snapshot atomically (temp file, fsync, rename). */
  writeProducerSnapshot(data: Buffer): Promise<void>;

  /**
   * Writes the appends queued so far, flushes, and releases the partition's resources. Later calls
   * to append/read/etc. reject with TRIB_ERR_STORAGE_CLOSED. Rejects when the log had failed (see
   * the contract above); the engine then does not mark the shutdown clean.
   */
  close(): Promise<void>;
}

/** What the broker persists about a topic, next to its data. */
export interface TopicRecord {
  name: string;
  /** Canonical UUID string, stable for the topic's lifetime. */
  topicId: string;
  partitionCount: number;
  /** Topic-level config overrides, by Kafka config name. */
  configs: Record<string, string>;
}

/** The cluster's own persistent state. */
export interface ClusterRecord {
  clusterId: string;
  topics: TopicRecord[];
  /** The last value given to saveProducerIdBlockEnd (0n on a new cluster). */
  producerIdBlockEnd: bigint;
}

export interface StorageEngine {
  readonly kind: 'file' | 'memory';

  /**
   * Opens the engine: creates or recovers its state and returns the stored cluster metadata (a new
   * cluster id is made and stored on first start).
   */
  open(): Promise<ClusterRecord>;

  /** Atomically replaces the stored topic list (written to a temp file, fsynced, renamed). */
  saveTopics(topics: TopicRecord[]): Promise<void>;

  /**
   * Durably records the end of the reserved producer id block, so ids are never handed out twice
   * across restarts (returned by open() as `producerIdBlockEnd`).
   */
  saveProducerIdBlockEnd(end: bigint): Promise<void>;

  /**
   * Opens (creating if needed) the log of one partition. Called once per partition by the broker;
   * while that log is open, calling again returns the same object. A directory or state left by an
   * earlier topic of the same name but another topic id is discarded, not adopted.
   */
  openPartition(topic: TopicRecord, partition: number, config: LogConfig): Promise<PartitionLog>;

  /**
   * Removes a deleted topic's partition data. An open log is closed first, without flushing what is
   * about to be deleted. The name is free for a new topic as soon as this resolves.
   */
  deletePartition(topic: TopicRecord, partition: number): Promise<void>;

  /** Closes the engine after every partition has been closed; marks a clean shutdown. */
  close(): Promise<void>;
}
