/**
 * A partition log held in memory, with the same semantics as the file engine's (offsets, segments
 * rolled by segment.bytes / segment.ms, KIP-74 reads, retention by whole segments, DeleteRecords,
 * timestamp search, compaction), so tests and ephemeral brokers behave like a durable one. Appends are applied
 * synchronously, so they are trivially in call order; `durable` has nothing to wait for.
 *
 * Batches are stored as copies of what append() received (the caller may reuse its buffer), one
 * Buffer per batch; reads return them without copying when one batch is asked for, else one
 * concatenated Buffer.
 */
import {
  policyCompacts,
  policyDeletes,
  type AppendOptions,
  type AppendResult,
  type CompactionOptions,
  type CompactionResult,
  type LogConfig,
  type PartitionLog,
  type ReadResult,
  type TimestampOffset,
} from '../engine.js';
import { Offsets } from '../../protocol/records/record-batch.js';
import {
  OffsetMap,
  cleanBatch,
  emptyResult,
  mapBatch,
  newCleanerStats,
  noteProducerBatch,
  planCleaning,
  startsNewSegment,
  type CleanerSegment,
} from '../cleaner.js';
import { stampBatches } from '../file/batches.js';
import { firstRecordAtOrAfter, maxTimestampRecord } from '../file/batch-timestamps.js';
import { StorageError } from '../file/storage-error.js';
import { floorByBaseOffset } from '../floor-by-base-offset.js';
import { segmentsPastRetention } from '../retention.js';

const MAX_RELATIVE_OFFSET = 2_147_483_647n;

interface MemoryBatch {
  bytes: Buffer;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
}

interface MemorySegment {
  baseOffset: bigint;
  batches: MemoryBatch[];
  size: number;
  /** Largest batch maxTimestamp, -1 when none. */
  maxTimestamp: bigint;
  /** Base offset of the first batch with `maxTimestamp`. */
  offsetOfMaxTimestamp: bigint;
  rollingBaseMs: number | null;
  lastModifiedMs: number;
}

/** A partition's data; it outlives MemoryPartitionLog objects so a reopened partition keeps it. */
export class MemoryPartitionState {
  readonly topicId: string;
  segments: MemorySegment[];
  logStartOffset = 0n;
  logEndOffset = 0n;
  producerSnapshot: Buffer | null = null;
  /** The log cleaner's first dirty offset (null: never cleaned) and when its kept tombstones are due. */
  cleaner: { checkpoint: bigint | null; tombstonesDueMs: number | null } = { checkpoint: null, tombstonesDueMs: null };
  cleaning = false;

  constructor(topicId: string, nowMs: number) {
    this.topicId = topicId;
    this.segments = [newSegment(0n, nowMs)];
  }
}

function newSegment(baseOffset: bigint, nowMs: number): MemorySegment {
  return { baseOffset, batches: [], size: 0, maxTimestamp: -1n, offsetOfMaxTimestamp: -1n, rollingBaseMs: null, lastModifiedMs: nowMs };
}

export class MemoryPartitionLog implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  private readonly state: MemoryPartitionState;
  private config: LogConfig;
  private readonly clock: () => number;
  private readonly onClose: () => void;
  private closed = false;

  constructor(
    topic: string,
    partition: number,
    state: MemoryPartitionState,
    config: LogConfig,
    clock: () => number,
    onClose: () => void = () => undefined,
  ) {
    this.topic = topic;
    this.partition = partition;
    this.state = state;
    this.config = { ...config };
    this.clock = clock;
    this.onClose = onClose;
  }

  get logStartOffset(): bigint {
    return this.state.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.state.logEndOffset;
  }

  /** Nothing in memory survives a power loss; within the process every append is as durable as it gets. */
  get durableOffset(): bigint {
    return this.state.logEndOffset;
  }

  get sizeInBytes(): number {
    let total = 0;
    for (const segment of this.state.segments) total += segment.size;
    return total;
  }

  /** Base offsets of the segments, oldest first. */
  segmentBaseOffsets(): bigint[] {
    return this.state.segments.map((segment) => segment.baseOffset);
  }

  private get active(): MemorySegment {
    return this.state.segments[this.state.segments.length - 1]!;
  }

  updateConfig(config: LogConfig): void {
    this.config = { ...config };
  }

  async append(batches: Buffer, options: AppendOptions): Promise<AppendResult> {
    this.assertOpen();
    const copy = Buffer.from(batches);
    const nowMs = this.clock();
    const logAppendTime = this.config.timestampType === 'LogAppendTime' ? BigInt(nowMs) : null;
    const baseOffset = this.state.logEndOffset;
    const stamped = stampBatches(copy, baseOffset, options.leaderEpoch, logAppendTime);
    const lastOffset = stamped[stamped.length - 1]!.lastOffset;
    let segment = this.active;
    if (this.shouldRoll(segment, copy.length, lastOffset, nowMs)) segment = this.roll(baseOffset, nowMs);
    for (const batch of stamped) {
      segment.batches.push({
        bytes: copy.subarray(batch.relativePosition, batch.relativePosition + batch.size),
        baseOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        maxTimestamp: batch.maxTimestamp,
      });
      if (batch.maxTimestamp > segment.maxTimestamp) {
        segment.maxTimestamp = batch.maxTimestamp;
        segment.offsetOfMaxTimestamp = batch.baseOffset;
      }
    }
    segment.size += copy.length;
    segment.rollingBaseMs ??= nowMs;
    segment.lastModifiedMs = nowMs;
    this.state.logEndOffset = lastOffset + 1n;
    return { baseOffset, lastOffset, logAppendTime: logAppendTime ?? -1n, logStartOffset: this.state.logStartOffset };
  }

  private shouldRoll(segment: MemorySegment, size: number, lastOffset: bigint, nowMs: number): boolean {
    if (segment.size === 0) return false;
    if (segment.size + size > this.config.segmentBytes) return true;
    if (segment.rollingBaseMs !== null && nowMs - segment.rollingBaseMs > this.config.segmentMs) return true;
    return lastOffset - segment.baseOffset > MAX_RELATIVE_OFFSET;
  }

  private roll(baseOffset: bigint, nowMs: number): MemorySegment {
    const segment = newSegment(baseOffset, nowMs);
    this.state.segments = [...this.state.segments, segment];
    return segment;
  }

  async read(offset: bigint, maxBytes: number): Promise<ReadResult> {
    this.assertOpen();
    const { segments, logEndOffset: highWatermark, logStartOffset } = this.state;
    const result = (records: Buffer): ReadResult => ({ records, highWatermark, logStartOffset });
    if (offset >= highWatermark) return result(Buffer.alloc(0));
    for (let s = floorByBaseOffset(segments, offset); s < segments.length; s++) {
      const batches = segments[s]!.batches;
      const first = firstBatchEndingAtOrAfter(batches, offset);
      if (first >= batches.length) continue;
      const chosen = [batches[first]!.bytes];
      let total = chosen[0]!.length;
      for (let i = first + 1; i < batches.length; i++) {
        const bytes = batches[i]!.bytes;
        if (total + bytes.length > maxBytes) break;
        chosen.push(bytes);
        total += bytes.length;
      }
      return result(chosen.length === 1 ? chosen[0]! : Buffer.concat(chosen, total));
    }
    return result(Buffer.alloc(0));
  }

  async offsetForTimestamp(timestampMs: bigint): Promise<TimestampOffset | null> {
    this.assertOpen();
    const logStart = this.state.logStartOffset;
    for (const segment of this.state.segments) {
      if (segment.maxTimestamp < timestampMs || segment.maxTimestamp < 0n) continue;
      for (const batch of segment.batches) {
        if (batch.lastOffset < logStart || batch.maxTimestamp < timestampMs) continue;
        const found = await firstRecordAtOrAfter(batch.bytes, timestampMs, logStart);
        if (found !== null) return found;
      }
    }
    return null;
  }

  async maxTimestamp(): Promise<TimestampOffset | null> {
    this.assertOpen();
    const logStart = this.state.logStartOffset;
    // Whole batches compete by their maxTimestamp; a batch straddling the log start is answered
    // exactly, since its records below the start must not count.
    let best: { timestamp: bigint; batch: MemoryBatch; exact: TimestampOffset | null } | null = null;
    for (const segment of this.state.segments) {
      if (segment.maxTimestamp < 0n || (best !== null && segment.maxTimestamp <= best.timestamp)) continue;
      for (const batch of segment.batches) {
        if (batch.lastOffset < logStart || batch.maxTimestamp < 0n) continue;
        if (best !== null && batch.maxTimestamp <= best.timestamp) continue;
        if (batch.baseOffset < logStart) {
          const exact = await maxTimestampRecord(batch.bytes, logStart);
          if (exact !== null && (best === null || exact.timestamp > best.timestamp)) best = { timestamp: exact.timestamp, batch, exact };
        } else {
          best = { timestamp: batch.maxTimestamp, batch, exact: null };
        }
      }
    }
    if (best === null) return null;
    if (best.exact !== null) return best.exact;
    return (await maxTimestampRecord(best.batch.bytes, logStart)) ?? { offset: best.batch.baseOffset, timestamp: best.batch.maxTimestamp };
  }

  async deleteRecordsBefore(offset: bigint): Promise<bigint> {
    this.assertOpen();
    const state = this.state;
    const target = offset > state.logEndOffset ? state.logEndOffset : offset;
    if (target <= state.logStartOffset) return state.logStartOffset;
    state.logStartOffset = target;
    let count = 0;
    while (count + 1 < state.segments.length && state.segments[count + 1]!.baseOffset <= target) count++;
    this.deleteOldestSegments(count);
    return state.logStartOffset;
  }

  async enforceRetention(nowMs: number): Promise<number> {
    this.assertOpen();
    if (!policyDeletes(this.config.cleanupPolicy)) return 0;
    const segments = this.state.segments;
    const count = await segmentsPastRetention(segments, this.config, nowMs, (segment) =>
      segment.maxTimestamp >= 0n ? Number(segment.maxTimestamp) : segment.lastModifiedMs,
    );
    if (count === 0) return 0;
    if (count === segments.length) this.roll(this.state.logEndOffset, this.clock());
    this.deleteOldestSegments(count);
    return count;
  }

  private deleteOldestSegments(count: number): void {
    if (count <= 0) return;
    const state = this.state;
    state.segments = state.segments.slice(count);
    const newStart = state.segments[0]!.baseOffset;
    if (newStart > state.logStartOffset) state.logStartOffset = newStart;
  }

  async compact(nowMs: number, options: CompactionOptions = {}): Promise<CompactionResult> {
    this.assertOpen();
    const state = this.state;
    if (!policyCompacts(this.config.cleanupPolicy)) return emptyResult('not-compacted', state.cleaner.checkpoint ?? state.logStartOffset);
    if (state.cleaning) return emptyResult('in-progress', state.cleaner.checkpoint ?? state.logStartOffset);
    state.cleaning = true;
    try {
      return await this.clean(nowMs, options);
    } finally {
      state.cleaning = false;
    }
  }

  /** One run of the cleaner (the rules are in ../cleaner.ts): map, rewrite, swap the segment list. */
  private async clean(nowMs: number, options: CompactionOptions): Promise<CompactionResult> {
    const state = this.state;
    const config = this.config;
    const all = state.segments;
    const eligible = all.slice(0, -1);
    const views: CleanerSegment[] = eligible.map((segment, i) => ({
      baseOffset: segment.baseOffset,
      endOffset: all[i + 1]!.baseOffset,
      size: segment.size,
      largestTimestampMs: segment.maxTimestamp >= 0n ? Number(segment.maxTimestamp) : segment.lastModifiedMs,
    }));
    const plan = await planCleaning({
      segments: views,
      logStartOffset: state.logStartOffset,
      logEndOffset: state.logEndOffset,
      checkpoint: state.cleaner.checkpoint,
      tombstonesDueMs: state.cleaner.tombstonesDueMs,
      config,
      nowMs,
      force: options.force === true,
      firstBatchTimestampMs: async (index) => {
        const first = eligible[index]!.batches[0];
        return first === undefined ? -1 : Number(first.maxTimestamp);
      },
    });
    if (plan.reason === null) return emptyResult(plan.skipReason ?? 'nothing-to-clean', plan.firstDirtyOffset);

    const map = new OffsetMap(options.offsetMapBytes);
    const stats = newCleanerStats();
    const firstDirty = plan.firstDirtyOffset;
    let mappedEnd = plan.firstUncleanableOffset;
    // Nothing here waits for I/O: let requests in now and then.
    const breather = new Breather();
    mapping: for (let i = 0; i < eligible.length; i++) {
      if (views[i]!.endOffset <= firstDirty) continue;
      if (views[i]!.baseOffset >= plan.firstUncleanableOffset) break;
      for (const batch of eligible[i]!.batches) {
        if (batch.lastOffset < firstDirty) continue;
        await breather.maybeYield();
        if (!(await mapBatch(batch.bytes, map, firstDirty, stats))) {
          mappedEnd = batch.baseOffset;
          break mapping;
        }
      }
    }
    const sources = eligible.filter((segment) => segment.baseOffset < mappedEnd);
    if (sources.length === 0) return emptyResult('nothing-to-clean', firstDirty);
    const rangeEnd = views[sources.length - 1]!.endOffset;
    const lastBatchOfProducer = new Map<bigint, bigint>();
    for (const segment of sources) for (const batch of segment.batches) noteProducerBatch(batch.bytes, lastBatchOfProducer);
    const context = {
      map,
      mappedEnd,
      rangeEnd: rangeEnd,
      logStartOffset: state.logStartOffset,
      nowMs,
      deleteRetentionMs: config.deleteRetentionMs,
      lastBatchOfProducer,
      stats,
    };
    let current = newSegment(sources[0]!.baseOffset, sources[0]!.lastModifiedMs);
    const cleaned: MemorySegment[] = [current];
    for (const segment of sources) {
      if (segment.lastModifiedMs > current.lastModifiedMs) current.lastModifiedMs = segment.lastModifiedMs;
      for (const batch of segment.batches) {
        await breather.maybeYield();
        const bytes = await cleanBatch(batch.bytes, context);
        if (bytes === null) continue;
        const baseOffset = bytes.readBigInt64BE(Offsets.baseOffset);
        const lastOffset = baseOffset + BigInt(bytes.readInt32BE(Offsets.lastOffsetDelta));
        if (startsNewSegment(current, bytes.length, lastOffset, config.segmentBytes)) {
          current = newSegment(baseOffset, segment.lastModifiedMs);
          cleaned.push(current);
        }
        const maxTimestamp = bytes.readBigInt64BE(Offsets.maxTimestamp);
        current.batches.push({ bytes, baseOffset, lastOffset, maxTimestamp });
        current.size += bytes.length;
        current.rollingBaseMs ??= current.lastModifiedMs;
        if (maxTimestamp > current.maxTimestamp) {
          current.maxTimestamp = maxTimestamp;
          current.offsetOfMaxTimestamp = baseOffset;
        }
      }
    }
    // Appends went on meanwhile (into the active segment); retention or DeleteRecords may have
    // deleted some of the sources, in which case this run's work is dropped.
    if (this.closed || sources.some((segment, i) => state.segments[i] !== segment)) return emptyResult('aborted', firstDirty);
    state.segments = [...cleaned, ...state.segments.slice(sources.length)];
    state.cleaner = { checkpoint: mappedEnd, tombstonesDueMs: stats.tombstonesDueMs };
    return {
      cleaned: true,
      reason: plan.reason,
      firstDirtyOffset: firstDirty,
      cleanedUpTo: mappedEnd,
      bytesBefore: sources.reduce((total, segment) => total + segment.size, 0),
      bytesAfter: cleaned.reduce((total, segment) => total + segment.size, 0),
      segmentsBefore: sources.length,
      segmentsAfter: cleaned.length,
      recordsRead: stats.recordsRead,
      recordsRemoved: stats.recordsRemoved,
      tombstonesRemoved: stats.tombstonesRemoved,
      batchesRemoved: stats.batchesRemoved,
    };
  }

  async flush(): Promise<void> {
    this.assertOpen();
  }

  async readProducerSnapshot(): Promise<Buffer | null> {
    this.assertOpen();
    return this.state.producerSnapshot;
  }

  async writeProducerSnapshot(data: Buffer): Promise<void> {
    this.assertOpen();
    this.state.producerSnapshot = Buffer.from(data);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('TRIB_ERR_STORAGE_CLOSED', `partition ${this.topic}-${this.partition} is closed`);
  }
}


/** Yields to the event loop every so many calls, so a long computation does not hold up requests. */
class Breather {
  private calls = 0;
  async maybeYield(): Promise<void> {
    if (++this.calls % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Index of the first batch whose last offset >= `offset` (batches.length when none). */
function firstBatchEndingAtOrAfter(batches: MemoryBatch[], offset: bigint): number {
  let low = 0;
  let high = batches.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (batches[middle]!.lastOffset < offset) low = middle + 1;
    else high = middle;
  }
  return low;
}
