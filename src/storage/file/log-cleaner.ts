/**
 * The file engine's log cleaner: reads closed segments, writes cleaned ones beside them, and swaps
 * them in, crash-safely. The rules of what to keep are shared with the memory engine (../cleaner.ts).
 *
 * Files (in the partition directory):
 * ```
 * <base>.log.cleaned, <base>.index.cleaned, <base>.timeindex.cleaned   a cleaned segment being written
 * <base>.log.swap, <base>.index.swap, <base>.timeindex.swap            a cleaned segment being swapped in
 * cleaner-swap.json    { "version": 1, "replaced": ["<base>", ...], "created": ["<base>", ...] }
 * ```
 * Swap protocol (Kafka's suffixes, plus a manifest so that recovery knows exactly which old
 * segments a swap replaces):
 * 1. Write every cleaned segment as `.cleaned` files (log and both indexes), fsync each, fsync the
 *    directory. Concurrent appends, reads, rolls and retention carry on meanwhile.
 * 2. In the partition's writer queue (exclusive with appends, rolls, retention and close), check the
 *    segments being replaced are all still there, then:
 *    a. checkpoint.json records `offsetGapsBelow` (segments below it may have offset gaps; recovery
 *       must not take those for corruption);
 *    b. write cleaner-swap.json atomically: the commit point. Before it, recovery rolls back
 *       (deletes `.cleaned` and `.swap` files); from it on, recovery rolls forward;
 *    c. rename `.cleaned` -> `.swap`, fsync the directory;
 *    d. put the new segments in the in-memory list (their files are open already, so readers use
 *       them at once), then retire the old ones: each waits for the readers still in it, is renamed
 *       to `.deleted` and removed;
 *    e. rename `.swap` -> the final names, fsync the directory;
 *    f. remove the manifest; checkpoint.json records the new cleaner checkpoint.
 * Recovery on open (`completeInterruptedSwap`) with a manifest: rename remaining `.cleaned` to
 * `.swap`; delete each replaced segment's file unless that name now holds a created segment (no
 * `.swap` of it left); rename `.swap` to the final names; remove the manifest. Every step is
 * idempotent, so a crash during recovery is recovered the same way.
 */
import { open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, CURRENT_MAGIC, Offsets } from '../../protocol/records/record-batch.js';
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
  type CleanerStats,
} from '../cleaner.js';
import { policyCompacts, type CompactionOptions, type CompactionResult, type LogConfig } from '../engine.js';
import { fsyncDirectory, isNotFound, offsetFileStem, pathExists, writeFileAtomic } from './fs-util.js';
import { OffsetIndex } from './offset-index.js';
import { INDEX_SUFFIX, LOG_SUFFIX, LogSegment, TIME_INDEX_SUFFIX, type SegmentHooks } from './segment.js';
import { StorageError } from './storage-error.js';
import { TimeIndex } from './time-index.js';

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const SWAP_MANIFEST_FILE = 'cleaner-swap.json';
const SEGMENT_FILE_SUFFIXES = [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] as const;
/** Bytes read from a segment at a time. */
const READ_CHUNK_BYTES = 1 << 20;
/** Cleaned bytes buffered before they are written out. */
const WRITE_CHUNK_BYTES = 1 << 20;

/** What the cleaner persists per partition (in checkpoint.json, next to the log start offset). */
export interface CleanerState {
  /** First dirty offset: every offset below it has been cleaned at least once; null when never cleaned. */
  checkpoint: bigint | null;
  /** Earliest delete horizon of the tombstones kept, null when none. */
  tombstonesDueMs: number | null;
  /** Segments whose base offset is below this may have offset gaps. */
  offsetGapsBelow: bigint;
}

/** What the cleaner needs of the partition log it cleans (FilePartitionLog provides it). */
export interface CleanerHost {
  readonly directory: string;
  readonly hooks: SegmentHooks;
  config(): LogConfig;
  segments(): readonly LogSegment[];
  logStartOffset(): bigint;
  logEndOffset(): bigint;
  /** Segments ending at or below it are flushed and have their index files written (sealed). */
  recoveryPoint(): bigint;
  /** Resolves once the segments rolled so far are sealed. */
  sealed(): Promise<void>;
  cleanerState(): CleanerState;
  saveCleanerState(state: CleanerState): Promise<void>;
  /** True once the log is closing or failed: the cleaner then stops. */
  stopped(): boolean;
  /** Runs `run` in the writer's queue, exclusive with appends, rolls, retention and close. */
  exclusive<T>(run: () => Promise<T>): Promise<T>;
  /** Replaces `old` (consecutive, from the start of the list) by `replacement` in the segment list. */
  replaceSegments(old: readonly LogSegment[], replacement: readonly LogSegment[]): void;
  /** Marks the log failed after an I/O error that left the directory mid-swap. */
  fail(error: unknown): Error;
}

/** The cleaner stops without changing anything: the log is closing, or changed under it. */
class CleaningAborted extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CleaningAborted';
  }
}

/** Runs one cleaning of `host` (see PartitionLog.compact and the file comment). */
export async function runFileCleaner(host: CleanerHost, nowMs: number, options: CompactionOptions): Promise<CompactionResult> {
  const config = host.config();
  const state = host.cleanerState();
  if (!policyCompacts(config.cleanupPolicy)) return emptyResult('not-compacted', state.checkpoint ?? host.logStartOffset());
  const interval = config.indexIntervalBytes;
  await host.sealed();
  const all = host.segments();
  const recoveryPoint = host.recoveryPoint();
  // Closed and sealed segments only: never the active one, nor one whose flush and index files
  // are still being written by the seal that follows a roll.
  const eligible: LogSegment[] = [];
  for (const segment of all.slice(0, -1)) {
    if (segment.nextOffset > recoveryPoint) break;
    eligible.push(segment);
  }
  try {
    const views: CleanerSegment[] = [];
    for (const segment of eligible) {
      const largestTimestampMs = await holding(segment, () => segment.largestTimestampForRetention(interval));
      views.push({ baseOffset: segment.baseOffset, endOffset: segment.nextOffset, size: segment.size, largestTimestampMs });
    }
    const plan = await planCleaning({
      segments: views,
      logStartOffset: host.logStartOffset(),
      logEndOffset: host.logEndOffset(),
      checkpoint: state.checkpoint,
      tombstonesDueMs: state.tombstonesDueMs,
      config,
      nowMs,
      force: options.force === true,
      firstBatchTimestampMs: (index) => firstBatchTimestamp(eligible[index]!),
    });
    if (plan.reason === null) return emptyResult(plan.skipReason ?? 'nothing-to-clean', plan.firstDirtyOffset);

    // Map the dirty section, or as much of it as the map holds.
    const map = new OffsetMap(options.offsetMapBytes);
    const stats = newCleanerStats();
    const firstDirty = plan.firstDirtyOffset;
    let mappedEnd = plan.firstUncleanableOffset;
    mapping: for (const segment of eligible) {
      if (segment.nextOffset <= firstDirty) continue;
      if (segment.baseOffset >= plan.firstUncleanableOffset) break;
      const start = await holding(segment, async () => {
        await segment.loadIndexes(interval);
        return segment.lookup(firstDirty).position;
      });
      for await (const batch of segmentBatches(host, segment, start)) {
        if (lastOffsetOf(batch) < firstDirty) continue;
        if (!(await mapBatch(batch, map, firstDirty, stats))) {
          mappedEnd = batch.readBigInt64BE(Offsets.baseOffset);
          break mapping;
        }
      }
    }

    // Rewrite every segment from the log start up to the one holding the end of the mapped section.
    const sources = eligible.filter((segment) => segment.baseOffset < mappedEnd);
    if (sources.length === 0) return emptyResult('nothing-to-clean', firstDirty);
    const rewriteEnd = sources[sources.length - 1]!.nextOffset;
    const lastBatchOfProducer = new Map<bigint, bigint>();
    for (const segment of sources) {
      for await (const batch of segmentBatches(host, segment, 0)) noteProducerBatch(batch, lastBatchOfProducer);
    }
    const context = {
      map,
      mappedEnd,
      rangeEnd: rewriteEnd,
      logStartOffset: host.logStartOffset(),
      nowMs,
      deleteRetentionMs: config.deleteRetentionMs,
      lastBatchOfProducer,
      stats,
    };
    const writers: CleanedSegmentWriter[] = [];
    try {
      let writer = await CleanedSegmentWriter.create(host.directory, sources[0]!.baseOffset, interval, sources[0]!.lastModifiedMs);
      writers.push(writer);
      for (const segment of sources) {
        writer.noteSource(segment.lastModifiedMs);
        for await (const batch of segmentBatches(host, segment, 0)) {
          const cleaned = await cleanBatch(batch, context);
          if (cleaned === null) continue;
          if (startsNewSegment(writer, cleaned.length, lastOffsetOf(cleaned), config.segmentBytes)) {
            writer = await CleanedSegmentWriter.create(host.directory, cleaned.readBigInt64BE(Offsets.baseOffset), interval, segment.lastModifiedMs);
            writers.push(writer);
          }
          await writer.append(cleaned);
        }
      }
      for (let i = 0; i < writers.length; i++) await writers[i]!.finish(writers[i + 1]?.baseOffset ?? rewriteEnd);
      await fsyncDirectory(host.directory);
    } catch (error) {
      await Promise.allSettled(writers.map((each) => each.discard()));
      throw error;
    }

    const bytesBefore = sources.reduce((total, segment) => total + segment.size, 0);
    await swapIn(host, sources, writers, { ...state, checkpoint: mappedEnd, tombstonesDueMs: stats.tombstonesDueMs }, rewriteEnd, options);
    return resultOf(plan.reason, firstDirty, mappedEnd, bytesBefore, sources.length, writers, stats);
  } catch (error) {
    if (error instanceof CleaningAborted) return emptyResult('aborted', state.checkpoint ?? host.logStartOffset());
    throw error;
  }
}

function resultOf(
  reason: string,
  firstDirty: bigint,
  cleanedUpTo: bigint,
  bytesBefore: number,
  segmentsBefore: number,
  writers: readonly CleanedSegmentWriter[],
  stats: CleanerStats,
): CompactionResult {
  return {
    cleaned: true,
    reason,
    firstDirtyOffset: firstDirty,
    cleanedUpTo,
    bytesBefore,
    bytesAfter: writers.reduce((total, writer) => total + writer.size, 0),
    segmentsBefore,
    segmentsAfter: writers.length,
    recordsRead: stats.recordsRead,
    recordsRemoved: stats.recordsRemoved,
    tombstonesRemoved: stats.tombstonesRemoved,
    batchesRemoved: stats.batchesRemoved,
  };
}

/** Step 2 of the file comment. */
async function swapIn(
  host: CleanerHost,
  sources: readonly LogSegment[],
  writers: readonly CleanedSegmentWriter[],
  finalState: CleanerState,
  rewriteEnd: bigint,
  options: CompactionOptions,
): Promise<void> {
  const { directory } = host;
  let committed = false;
  let replaced = false;
  let crashed = false;
  const step = (name: string): void => {
    try {
      options.beforeSwapStep?.(name);
    } catch (error) {
      crashed = true;
      throw error;
    }
  };
  try {
    await host.exclusive(async () => {
      const current = host.segments();
      if (host.stopped()) throw new CleaningAborted('the log is closing');
      if (sources.some((segment, i) => current[i] !== segment)) throw new CleaningAborted('segments were deleted meanwhile');
      step('checkpoint');
      const gapsBelow = host.cleanerState().offsetGapsBelow;
      await host.saveCleanerState({ ...host.cleanerState(), offsetGapsBelow: rewriteEnd > gapsBelow ? rewriteEnd : gapsBelow });
      step('manifest');
      const manifest = {
        version: 1,
        replaced: sources.map((segment) => segment.baseOffset.toString()),
        created: writers.map((writer) => writer.baseOffset.toString()),
      };
      await writeFileAtomic(join(directory, SWAP_MANIFEST_FILE), JSON.stringify(manifest) + '\n');
      committed = true;
      for (const writer of writers) {
        for (const suffix of SEGMENT_FILE_SUFFIXES) {
          const path = writer.stem + suffix;
          step(`rename ${path + CLEANED_SUFFIX}`);
          await rename(path + CLEANED_SUFFIX, path + SWAP_SUFFIX);
        }
      }
      await fsyncDirectory(directory);
      host.replaceSegments(sources, writers.map((writer) => writer.adopt(host.hooks)));
      replaced = true;
      for (const segment of sources) {
        step(`retire ${segment.logPath}`);
        await segment.retire();
      }
      await fsyncDirectory(directory);
      for (const writer of writers) {
        for (const suffix of SEGMENT_FILE_SUFFIXES) {
          const path = writer.stem + suffix;
          step(`rename ${path + SWAP_SUFFIX}`);
          await rename(path + SWAP_SUFFIX, path);
        }
      }
      await fsyncDirectory(directory);
      step('remove manifest');
      await unlink(join(directory, SWAP_MANIFEST_FILE));
      await fsyncDirectory(directory);
      step('final checkpoint');
      await host.saveCleanerState({ ...finalState, offsetGapsBelow: host.cleanerState().offsetGapsBelow });
    });
  } catch (error) {
    // Sources out of the log but not yet retired: nothing else would close their files.
    if (replaced) await Promise.allSettled(sources.map((segment) => segment.detach()));
    if (crashed) {
      // A simulated crash (tests): leave every file as it is; the log is unusable until reopened.
      host.fail(error);
      await Promise.allSettled(writers.map((writer) => writer.closeHandleIfUnadopted()));
      throw error;
    }
    if (!committed) {
      await Promise.allSettled(writers.map((writer) => writer.discard()));
      throw error;
    }
    throw host.fail(error);
  }
}

/** Runs `read` while holding a reference on `segment`; aborts the cleaning when it is being deleted. */
async function holding<T>(segment: LogSegment, read: () => Promise<T>): Promise<T> {
  if (!segment.acquire()) throw new CleaningAborted(`${segment.logPath} was deleted meanwhile`);
  try {
    return await read();
  } finally {
    segment.release();
  }
}

async function firstBatchTimestamp(segment: LogSegment): Promise<number> {
  if (segment.size < BATCH_HEADER_SIZE) return -1;
  const header = await holding(segment, () => segment.readBytes(0, BATCH_HEADER_SIZE));
  return header.length < BATCH_HEADER_SIZE ? -1 : Number(header.readBigInt64BE(Offsets.maxTimestamp));
}

function lastOffsetOf(batch: Buffer): bigint {
  return batch.readBigInt64BE(Offsets.baseOffset) + BigInt(batch.readInt32BE(Offsets.lastOffsetDelta));
}

/** The whole batches of `segment` from byte `start` to its end, read a chunk at a time. */
async function* segmentBatches(host: CleanerHost, segment: LogSegment, start: number): AsyncGenerator<Buffer> {
  const end = segment.size;
  let position = start;
  while (position < end) {
    if (host.stopped()) throw new CleaningAborted('the log is closing');
    const chunk = await holding(segment, () => segment.readBytes(position, Math.min(READ_CHUNK_BYTES, end - position)));
    let at = 0;
    while (chunk.length - at >= BATCH_HEADER_SIZE) {
      const size = chunk.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD;
      if (size < BATCH_HEADER_SIZE || chunk.readInt8(at + Offsets.magic) !== CURRENT_MAGIC || position + at + size > end) {
        throw new StorageError('TRIB_ERR_STORAGE_CORRUPT', `no valid batch at position ${position + at} of ${segment.logPath}; the cleaner leaves this log alone`);
      }
      if (at + size > chunk.length) break;
      yield chunk.subarray(at, at + size);
      at += size;
    }
    if (at > 0) {
      position += at;
      continue;
    }
    // One batch larger than a chunk.
    if (chunk.length < BATCH_HEADER_SIZE) {
      throw new StorageError('TRIB_ERR_STORAGE_CORRUPT', `${segment.logPath} ends inside a batch header at position ${position}`);
    }
    const size = chunk.readInt32BE(Offsets.batchLength) + BATCH_LOG_OVERHEAD;
    const whole = await holding(segment, () => segment.readBytes(position, size));
    if (whole.length !== size) throw new StorageError('TRIB_ERR_STORAGE_CORRUPT', `${segment.logPath} is shorter than its committed size`);
    yield whole;
    position += size;
  }
}

/**
 * Writes one cleaned segment as `.cleaned` files, building its indexes as the writer does for
 * appends (an offset index entry, and a time index entry, every index.interval.bytes).
 */
class CleanedSegmentWriter {
  readonly baseOffset: bigint;
  /** Path of the segment's files without suffix: `<dir>/<base, 20 digits>`. */
  readonly stem: string;
  size = 0;
  private readonly directory: string;
  private readonly indexIntervalBytes: number;
  private handle: FileHandle | null;
  private adopted = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private readonly offsetIndex = OffsetIndex.empty();
  private readonly timeIndex = TimeIndex.empty();
  private maxTimestamp = -1n;
  private offsetOfMaxTimestamp = -1n;
  private bytesSinceLastIndexEntry = 0;
  private lastModifiedMs: number;
  private nextOffset: bigint;

  private constructor(directory: string, baseOffset: bigint, indexIntervalBytes: number, handle: FileHandle, lastModifiedMs: number) {
    this.directory = directory;
    this.baseOffset = baseOffset;
    this.stem = join(directory, offsetFileStem(baseOffset));
    this.indexIntervalBytes = indexIntervalBytes;
    this.handle = handle;
    this.lastModifiedMs = lastModifiedMs;
    this.nextOffset = baseOffset;
  }

  static async create(directory: string, baseOffset: bigint, indexIntervalBytes: number, lastModifiedMs: number): Promise<CleanedSegmentWriter> {
    const handle = await open(join(directory, offsetFileStem(baseOffset)) + LOG_SUFFIX + CLEANED_SUFFIX, 'w+');
    return new CleanedSegmentWriter(directory, baseOffset, indexIntervalBytes, handle, lastModifiedMs);
  }

  /** The cleaned segment keeps the latest modification time of the segments it came from (as Kafka). */
  noteSource(lastModifiedMs: number): void {
    if (lastModifiedMs > this.lastModifiedMs) this.lastModifiedMs = lastModifiedMs;
  }

  async append(batch: Buffer): Promise<void> {
    const baseOffset = batch.readBigInt64BE(Offsets.baseOffset);
    const maxTimestamp = batch.readBigInt64BE(Offsets.maxTimestamp);
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    if (this.bytesSinceLastIndexEntry >= this.indexIntervalBytes) {
      this.offsetIndex.append(Number(baseOffset - this.baseOffset), this.size);
      this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batch.length;
    this.size += batch.length;
    this.pending.push(batch);
    this.pendingBytes += batch.length;
    if (this.pendingBytes >= WRITE_CHUNK_BYTES) await this.writePending();
  }

  private async writePending(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle!.write(data, done, data.length - done, this.written + done);
      if (bytesWritten <= 0) throw new Error(`short write to ${this.stem}${LOG_SUFFIX}${CLEANED_SUFFIX}`);
      done += bytesWritten;
    }
    this.written += data.length;
  }

  /** Writes out the rest, fsyncs, and writes both index files (fsynced) next to the log. */
  async finish(nextOffset: bigint): Promise<void> {
    this.nextOffset = nextOffset;
    await this.writePending();
    if (this.maxTimestamp >= 0n) this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
    const modified = new Date(this.lastModifiedMs);
    await this.handle!.utimes(modified, modified);
    await this.handle!.datasync();
    await writeSynced(this.stem + INDEX_SUFFIX + CLEANED_SUFFIX, this.offsetIndex.bytes());
    await writeSynced(this.stem + TIME_INDEX_SUFFIX + CLEANED_SUFFIX, this.timeIndex.bytes());
  }

  /** The segment for the partition's list, with this writer's open handle and indexes. */
  adopt(hooks: SegmentHooks): LogSegment {
    this.adopted = true;
    return LogSegment.adopt(
      this.directory,
      this.baseOffset,
      {
        handle: this.handle!,
        size: this.size,
        nextOffset: this.nextOffset,
        lastModifiedMs: this.lastModifiedMs,
        offsetIndex: this.offsetIndex,
        timeIndex: this.timeIndex,
        maxTimestamp: this.maxTimestamp,
        offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
        bytesSinceLastIndexEntry: this.bytesSinceLastIndexEntry,
      },
      hooks,
    );
  }

  async closeHandleIfUnadopted(): Promise<void> {
    if (this.adopted || this.handle === null) return;
    const handle = this.handle;
    this.handle = null;
    await handle.close();
  }

  /** Closes and deletes the `.cleaned` files (the cleaning did not commit). */
  async discard(): Promise<void> {
    await this.closeHandleIfUnadopted().catch(() => undefined);
    for (const suffix of SEGMENT_FILE_SUFFIXES) await unlink(this.stem + suffix + CLEANED_SUFFIX).catch(ignoreNotFound);
  }
}

async function writeSynced(path: string, data: Buffer): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}

/**
 * Finishes or undoes a swap interrupted by a crash (see the file comment), before the partition's
 * segments are listed. Returns what it did, for the log.
 */
export async function completeInterruptedSwap(directory: string): Promise<'none' | 'rolled back' | 'completed'> {
  const manifestPath = join(directory, SWAP_MANIFEST_FILE);
  let text: string | null = null;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (text === null) {
    const leftovers = (await readdir(directory)).filter((name) => name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX));
    for (const name of leftovers) await unlink(join(directory, name)).catch(ignoreNotFound);
    if (leftovers.length === 0) return 'none';
    await fsyncDirectory(directory);
    return 'rolled back';
  }
  let replaced: bigint[];
  let created: bigint[];
  try {
    const parsed = JSON.parse(text) as { replaced?: unknown; created?: unknown };
    if (!Array.isArray(parsed.replaced) || !Array.isArray(parsed.created) || parsed.created.length === 0) throw new Error('missing lists');
    replaced = parsed.replaced.map((value) => BigInt(String(value)));
    created = parsed.created.map((value) => BigInt(String(value)));
  } catch (error) {
    throw new StorageError('TRIB_ERR_STORAGE_METADATA', `cannot parse ${manifestPath}: ${String(error)}; restore it or move the partition directory away`, {
      cause: error,
    });
  }
  const stem = (base: bigint) => join(directory, offsetFileStem(base));
  // The manifest is written only once every cleaned file is complete and durable.
  for (const base of created) {
    for (const suffix of SEGMENT_FILE_SUFFIXES) {
      const path = stem(base) + suffix;
      if (await pathExists(path + CLEANED_SUFFIX)) await rename(path + CLEANED_SUFFIX, path + SWAP_SUFFIX);
      else if (!(await pathExists(path + SWAP_SUFFIX)) && !(await pathExists(path))) {
        throw new StorageError('TRIB_ERR_STORAGE_CORRUPT', `${path} of the interrupted cleaner swap in ${manifestPath} is missing`);
      }
    }
  }
  await fsyncDirectory(directory);
  const createdSet = new Set(created);
  for (const base of replaced) {
    for (const suffix of SEGMENT_FILE_SUFFIXES) {
      const path = stem(base) + suffix;
      // A name that a created segment already took over (no .swap of it left) is the new file.
      if (!createdSet.has(base) || (await pathExists(path + SWAP_SUFFIX))) await unlink(path).catch(ignoreNotFound);
    }
  }
  await fsyncDirectory(directory);
  for (const base of created) {
    for (const suffix of SEGMENT_FILE_SUFFIXES) {
      const path = stem(base) + suffix;
      if (await pathExists(path + SWAP_SUFFIX)) await rename(path + SWAP_SUFFIX, path);
    }
  }
  await fsyncDirectory(directory);
  await unlink(manifestPath);
  const strays = (await readdir(directory)).filter((name) => name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX));
  for (const name of strays) await unlink(join(directory, name)).catch(ignoreNotFound);
  await fsyncDirectory(directory);
  return 'completed';
}
