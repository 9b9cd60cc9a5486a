/**
 * The log cleaner's rules (cleanup.policy=compact), shared by both engines; each engine supplies the
 * reading, writing and swapping of its segments (file/log-cleaner.ts, memory/memory-partition-log.ts).
 * Kafka's LogCleaner / Cleaner / LogCleanerManager are the model:
 *
 * 1. Plan (`planCleaning`): the log is split at the cleaner checkpoint (the first dirty offset) into
 *    a clean head, already cleaned at least once, and a dirty tail. The cleanable part of the tail
 *    ends at the active segment, and earlier at the first segment holding a record younger than
 *    min.compaction.lag.ms. It is cleaned when its share of the bytes (cleanable / (clean +
 *    cleanable)) is above min.cleanable.dirty.ratio, or when a dirty segment's first record is older
 *    than max.compaction.lag.ms, or when tombstones kept by an earlier run are now due for removal.
 * 2. Map (`OffsetMap`): key -> offset of its latest record, over the cleanable dirty records, in a
 *    bounded amount of memory. When the keys do not fit, only a prefix of the dirty section is
 *    mapped (whole batches), cleaned now, and the rest is left dirty for the next run.
 * 3. Rewrite (`cleanBatch`) every batch from the log start to the end of the mapped section: a record
 *    stays unless a later record of its key is in the map, or it is a tombstone whose delete horizon
 *    has passed. Batches left untouched are copied byte for byte; the others are rebuilt (see
 *    protocol/records/record-filter.ts). Control batches and records without a key always stay.
 *
 * Tombstones (KIP-534): the first run that keeps a tombstone stamps its batch with a delete horizon
 * of now + delete.retention.ms; a run after the horizon removes it. Consumers that started reading
 * before the horizon therefore see the delete, as in Kafka.
 *
 * Empty batches: a batch emptied by cleaning is dropped, except (as in Kafka) when it must stay as
 * an empty batch (header only, offsets kept, records gone):
 * - the last batch of each idempotent producer in the rewritten range, so that the producer's epoch
 *   and last sequence can still be rebuilt from the log after a restart (Kafka does the same for its
 *   active producers). It goes once a later batch of the producer is rewritten too, or once it is
 *   older than producer.id.expiration.ms (1 day);
 * - the batch that ends the rewritten range, so that the range still ends on a batch: a fetch from
 *   any offset below the high watermark then always finds a batch to step to.
 */
import { createHash } from 'node:crypto';
import { isControl, readBatchHeader } from '../protocol/records/record-batch.js';
import { emptyBatchOf, hasDeleteHorizon, rebuildBatch, recordsOfBatch, type RecordView } from '../protocol/records/record-filter.js';
import type { CompactionResult, LogConfig } from './engine.js';

/** Memory for the key -> offset map when the caller does not say (Kafka's default is 128 MiB at 24 bytes a key). */
export const DEFAULT_OFFSET_MAP_BYTES = 64 * 1024 * 1024;
/** What one map entry is reckoned to cost: a key of at most 33 characters, a bigint, the Map's slot. */
export const OFFSET_MAP_ENTRY_BYTES = 128;
/** Keys longer than this are mapped by their SHA-256 instead (collisions are then 2^-128 unlikely). */
const MAX_RAW_KEY_BYTES = 32;
/** producer.id.expiration.ms (Kafka's default): an empty batch kept for a producer older than this goes. */
export const PRODUCER_STATE_RETENTION_MS = 86_400_000;
/** Records a decompressed batch may expand to while cleaning; larger batches are kept as they are. */
export const CLEANER_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** Key -> offset of the latest record with that key, within a budget of entries. */
export class OffsetMap {
  readonly capacity: number;
  private readonly entries = new Map<string, bigint>();

  constructor(budgetBytes: number = DEFAULT_OFFSET_MAP_BYTES) {
    this.capacity = Math.max(1, Math.floor(budgetBytes / OFFSET_MAP_ENTRY_BYTES));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether `additional` more keys would still fit (existing keys are counted as new: a bound). */
  hasRoomFor(additional: number): boolean {
    return this.entries.size + additional <= this.capacity;
  }

  put(key: Buffer, offset: bigint): void {
    this.entries.set(mapKey(key), offset);
  }

  /** Offset of the latest mapped record with `key`, or -1n. */
  latestOffset(key: Buffer): bigint {
    return this.entries.get(mapKey(key)) ?? -1n;
  }
}

/** A string standing for the key bytes: the bytes themselves when short, else their SHA-256. */
function mapKey(key: Buffer): string {
  if (key.length <= MAX_RAW_KEY_BYTES) return 'k' + key.toString('latin1');
  return 'h' + createHash('sha256').update(key).digest().toString('latin1');
}

/** What the planner needs to know of a closed segment. */
export interface CleanerSegment {
  baseOffset: bigint;
  /** Offset after the segment: the next segment's base offset. */
  endOffset: bigint;
  size: number;
  /** For min.compaction.lag.ms: the largest record timestamp, else the segment's last modification. */
  largestTimestampMs: number;
}

export interface CleaningPlan {
  /** Why to clean, or null to leave the log alone (then `skipReason` says why). */
  reason: 'forced' | 'max-compaction-lag' | 'dirty-ratio' | 'tombstones' | null;
  skipReason: 'nothing-to-clean' | 'below-dirty-ratio' | null;
  firstDirtyOffset: bigint;
  /** End of the cleanable dirty section (a segment boundary); equals firstDirtyOffset when empty. */
  firstUncleanableOffset: bigint;
  cleanBytes: number;
  cleanableBytes: number;
}

export interface PlanInput {
  /**
   * The closed segments the cleaner may touch, oldest first (never the active segment; the file
   * engine also leaves out segments not yet flushed and sealed).
   */
  segments: readonly CleanerSegment[];
  logStartOffset: bigint;
  logEndOffset: bigint;
  /** The stored cleaner checkpoint, or null when the log was never cleaned. */
  checkpoint: bigint | null;
  /** When kept tombstones are due for removal (earliest delete horizon), or null. */
  tombstonesDueMs: number | null;
  config: LogConfig;
  nowMs: number;
  force: boolean;
  /** Timestamp of the first batch of segment `index` (max.compaction.lag.ms), -1 when it has none. */
  firstBatchTimestampMs: (index: number) => Promise<number>;
}

/** Decides whether and what to clean (step 1 in the file comment). */
export async function planCleaning(input: PlanInput): Promise<CleaningPlan> {
  const { segments, config, nowMs } = input;
  let firstDirty = input.checkpoint ?? input.logStartOffset;
  // A checkpoint outside the log (the log was truncated or deleted from the front) starts over.
  if (firstDirty < input.logStartOffset || firstDirty > input.logEndOffset) firstDirty = input.logStartOffset;
  let uncleanable = segments.length === 0 ? firstDirty : segments[segments.length - 1]!.endOffset;
  if (config.minCompactionLagMs > 0) {
    for (const segment of segments) {
      if (segment.endOffset <= firstDirty) continue;
      if (segment.largestTimestampMs > nowMs - config.minCompactionLagMs) {
        uncleanable = segment.baseOffset;
        break;
      }
    }
  }
  const firstUncleanable = uncleanable > firstDirty ? uncleanable : firstDirty;
  let cleanBytes = 0;
  let cleanableBytes = 0;
  for (const segment of segments) {
    if (segment.endOffset <= firstDirty) cleanBytes += segment.size;
    else if (segment.baseOffset < firstUncleanable) cleanableBytes += segment.size;
  }
  const base = { firstDirtyOffset: firstDirty, firstUncleanableOffset: firstUncleanable, cleanBytes, cleanableBytes };
  const total = cleanBytes + cleanableBytes;
  if (input.force && total > 0) return { ...base, reason: 'forced', skipReason: null };
  if (cleanableBytes > 0) {
    if (config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
      const cleanUntil = nowMs - config.maxCompactionLagMs;
      for (let i = 0; i < segments.length; i++) {
        if (segments[i]!.endOffset <= firstDirty) continue;
        const first = await input.firstBatchTimestampMs(i);
        if (first > 0 && first < cleanUntil) return { ...base, reason: 'max-compaction-lag', skipReason: null };
      }
    }
    if (cleanableBytes / total > config.minCleanableDirtyRatio) return { ...base, reason: 'dirty-ratio', skipReason: null };
  }
  if (input.tombstonesDueMs !== null && nowMs >= input.tombstonesDueMs && total > 0) return { ...base, reason: 'tombstones', skipReason: null };
  return { ...base, reason: null, skipReason: cleanableBytes === 0 ? 'nothing-to-clean' : 'below-dirty-ratio' };
}

/** Counters of one run; `tombstonesDueMs` is the earliest delete horizon among the tombstones kept. */
export interface CleanerStats {
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  batchesRemoved: number;
  /** Batches whose records could not be read (corrupt, or beyond the decompression bound): kept whole. */
  unreadableBatches: number;
  tombstonesDueMs: number | null;
}

export function newCleanerStats(): CleanerStats {
  return { recordsRead: 0, recordsRemoved: 0, tombstonesRemoved: 0, batchesRemoved: 0, unreadableBatches: 0, tombstonesDueMs: null };
}

/**
 * Adds the keys of one dirty batch (records at or above `firstDirty`) to the map. Returns false,
 * adding nothing, when they would not fit and the map already holds something: the mapped section
 * then ends before this batch. Control batches and unreadable batches add nothing (an unreadable
 * batch's keys unmapped only means older records of them stay: never a loss).
 */
export async function mapBatch(batch: Buffer, map: OffsetMap, firstDirty: bigint, stats: CleanerStats): Promise<boolean> {
  const header = readBatchHeader(batch, 0);
  if (isControl(header.attributes) || header.recordCount <= 0) return true;
  let records: RecordView[];
  try {
    records = (await recordsOfBatch(batch, { maxOutputBytes: CLEANER_MAX_DECOMPRESSED_BYTES })).records;
  } catch {
    stats.unreadableBatches++;
    return true;
  }
  const keyed = records.filter((record) => record.key !== null && header.baseOffset + BigInt(record.offsetDelta) >= firstDirty);
  if (!map.hasRoomFor(keyed.length) && map.size > 0) return false;
  for (const record of keyed) map.put(record.key!, header.baseOffset + BigInt(record.offsetDelta));
  return true;
}

/** Offset of each idempotent producer's last batch among the batches given (step 3's producer rule). */
export function noteProducerBatch(batch: Buffer, lastBatchOfProducer: Map<bigint, bigint>): void {
  const header = readBatchHeader(batch, 0);
  if (header.producerId < 0n || isControl(header.attributes)) return;
  lastBatchOfProducer.set(header.producerId, header.baseOffset + BigInt(header.lastOffsetDelta));
}

export interface RewriteContext {
  map: OffsetMap;
  /** Records at or above this offset were not mapped: their batches are copied untouched. */
  mappedEnd: bigint;
  /** End of the rewritten range (the next segment's base offset). */
  rangeEnd: bigint;
  logStartOffset: bigint;
  nowMs: number;
  deleteRetentionMs: number;
  lastBatchOfProducer: ReadonlyMap<bigint, bigint>;
  stats: CleanerStats;
}

/**
 * What becomes of one batch of the rewritten range (step 3): the batch itself when nothing in it
 * changes, a rebuilt or empty batch, or null to drop it.
 */
export async function cleanBatch(batch: Buffer, context: RewriteContext): Promise<Buffer | null> {
  const header = readBatchHeader(batch, 0);
  const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
  const { stats } = context;
  // The batch ending the rewritten range always stays, if only as an empty batch: otherwise a
  // fetch from an offset in the gap before it could find no batch at all below the high watermark
  // (when nothing but an empty active segment follows) and never move on. Kafka keeps it too.
  const endsRange = lastOffset + 1n === context.rangeEnd;
  const mustKeep = (): boolean => endsRange || (header.producerId >= 0n && keepsProducerState(header, lastOffset, context));
  if (lastOffset < context.logStartOffset) {
    // Below the log start (DeleteRecords moved it inside this segment): invisible, so gone.
    stats.recordsRemoved += Math.max(header.recordCount, 0);
    if (endsRange) return header.recordCount === 0 ? batch : emptyBatchOf(header);
    stats.batchesRemoved++;
    return null;
  }
  if (header.recordCount <= 0 && !isControl(header.attributes)) {
    if (mustKeep()) return batch;
    stats.batchesRemoved++;
    return null;
  }
  if (isControl(header.attributes) || header.baseOffset >= context.mappedEnd) return batch;
  let records: RecordView[];
  try {
    records = (await recordsOfBatch(batch, { maxOutputBytes: CLEANER_MAX_DECOMPRESSED_BYTES })).records;
  } catch {
    stats.unreadableBatches++;
    return batch;
  }
  stats.recordsRead += records.length;
  const horizon = hasDeleteHorizon(header.attributes) ? header.baseTimestamp : null;
  const kept: RecordView[] = [];
  let keptTombstones = false;
  for (const record of records) {
    if (record.key !== null) {
      const offset = header.baseOffset + BigInt(record.offsetDelta);
      if (offset < context.map.latestOffset(record.key)) continue;
      if (!record.hasValue && horizon !== null && BigInt(context.nowMs) >= horizon) {
        stats.tombstonesRemoved++;
        continue;
      }
    }
    if (!record.hasValue && record.key !== null) keptTombstones = true;
    kept.push(record);
  }
  stats.recordsRemoved += records.length - kept.length;
  if (kept.length === 0) {
    if (mustKeep()) return emptyBatchOf(header);
    stats.batchesRemoved++;
    return null;
  }
  const newHorizon = keptTombstones && horizon === null ? BigInt(context.nowMs) + BigInt(context.deleteRetentionMs) : null;
  if (keptTombstones) {
    const due = Number(newHorizon ?? horizon!);
    if (stats.tombstonesDueMs === null || due < stats.tombstonesDueMs) stats.tombstonesDueMs = due;
  }
  if (kept.length === records.length && newHorizon === null) return batch;
  return rebuildBatch(header, kept, newHorizon);
}

function keepsProducerState(header: ReturnType<typeof readBatchHeader>, lastOffset: bigint, context: RewriteContext): boolean {
  if (context.lastBatchOfProducer.get(header.producerId) !== lastOffset) return false;
  return header.maxTimestamp < 0n || Number(header.maxTimestamp) >= context.nowMs - PRODUCER_STATE_RETENTION_MS;
}

/**
 * Whether a batch must open a new cleaned segment rather than join the current one (of `size` bytes
 * from `baseOffset`): the segment would pass segment.bytes, or its relative offsets their int32.
 */
export function startsNewSegment(current: { baseOffset: bigint; size: number }, batchSize: number, batchLastOffset: bigint, segmentBytes: number): boolean {
  if (batchLastOffset - current.baseOffset > 2_147_483_647n) return true;
  return current.size > 0 && current.size + batchSize > segmentBytes;
}

export function emptyResult(reason: string, firstDirtyOffset: bigint): CompactionResult {
  return {
    cleaned: false,
    reason,
    firstDirtyOffset,
    cleanedUpTo: firstDirtyOffset,
    bytesBefore: 0,
    bytesAfter: 0,
    segmentsBefore: 0,
    segmentsAfter: 0,
    recordsRead: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    batchesRemoved: 0,
  };
}
