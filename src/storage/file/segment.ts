/**
 * One segment of a partition log: `<baseOffset, 20 digits>.log` and its two sparse indexes,
 * `.index` (offset -> position, see offset-index.ts) and `.timeindex` (timestamp -> offset, see
 * time-index.ts).
 *
 * `.log` file format: record batches (magic 2) back to back, no file header and no padding, each
 * exactly as produced except for the fields the broker assigns (baseOffset, partitionLeaderEpoch and,
 * for LogAppendTime topics, the timestamp type and maxTimestamp). The first batch's baseOffset is the
 * segment's base offset (the file name) and every further batch starts at the previous batch's last
 * offset + 1. A segment never holds more than 2^31 - 1 offsets past its base, so relative offsets fit
 * the indexes' int32.
 *
 * Invariants kept in memory:
 * - `size` is the committed length: every write below it has completed, so readers never see a
 *   partial batch. Writes happen only at `size`, one at a time, by the partition's single writer.
 * - The indexes in memory cover every batch below `size`; they reach disk when the segment is sealed
 *   (rolled) or closed, so index files on disk may lag the log only for the active segment, and
 *   recovery rebuilds the active segment's indexes anyway.
 */
import { open, rename, unlink, readFile, type FileHandle } from 'node:fs/promises';
import { writev, writevSync } from 'node:fs';
import { join } from 'node:path';
import type { StampedBatch } from './batches.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { STOP_SCAN, scanBatches, type ScanOutcome, type ScannedBatch } from './log-scan.js';
import { isNotFound, offsetFileStem, readAt, writeFilesAtomic } from './fs-util.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
/** Segment files being deleted are renamed with this suffix first (as Kafka does). */
export const DELETED_SUFFIX = '.deleted';

export const MAX_RELATIVE_OFFSET = 2_147_483_647n;

export interface SegmentHooks {
  /** Runs before each data fsync; a throw is treated as a failed fsync (fault injection for tests). */
  beforeDataSync?: ((path: string) => void | Promise<void>) | undefined;
  /** Told after each data fsync of a segment, with how long it took. */
  onDataSync?: ((durationSeconds: number) => void) | undefined;
  /** Told when index files were missing or inconsistent and the indexes were rebuilt from the log. */
  onIndexesRebuilt?: ((segment: LogSegment) => void) | undefined;
}

export class LogSegment {
  readonly baseOffset: bigint;
  readonly directory: string;
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;

  /** Committed bytes of the .log (see the invariants above). */
  size: number;
  /** Offset after the last batch below `size`. Set by the partition for segments it did not scan. */
  nextOffset: bigint;
  /** Wall-clock ms of the first append into this segment, for segment.ms; null while empty. */
  rollingBaseMs: number | null;
  /** Wall-clock ms of the last write, for retention of segments whose batches carry no timestamps. */
  lastModifiedMs: number;
  /** Largest batch maxTimestamp in the segment, -1 when none (valid once indexes are loaded). */
  maxTimestamp = -1n;
  /** Base offset of the first batch that has `maxTimestamp`. */
  offsetOfMaxTimestamp = -1n;
  /**
   * The log cleaner may have removed batches from this segment: offsets then rise from batch to
   * batch with gaps, and the first batch may start after the base offset. Scans accept that.
   */
  offsetGapsAllowed = false;

  private offsetIndex: OffsetIndex | null = null;
  private timeIndex: TimeIndex | null = null;
  private indexesLoading: Promise<void> | null = null;
  /** The in-memory indexes differ from the index files. */
  private indexesDirty = false;
  private bytesSinceLastIndexEntry = 0;
  private handlePromise: Promise<FileHandle> | null = null;
  /** The descriptor of the open handle, for synchronous writes; null while none is open. */
  private openFd: number | null = null;
  private readonly hooks: SegmentHooks;
  private readers = 0;
  private retiring: (() => void) | null = null;
  private retired = false;

  private constructor(directory: string, baseOffset: bigint, size: number, hooks: SegmentHooks) {
    this.directory = directory;
    this.baseOffset = baseOffset;
    const stem = join(directory, offsetFileStem(baseOffset));
    this.logPath = stem + LOG_SUFFIX;
    this.indexPath = stem + INDEX_SUFFIX;
    this.timeIndexPath = stem + TIME_INDEX_SUFFIX;
    this.size = size;
    this.nextOffset = baseOffset;
    this.rollingBaseMs = null;
    this.lastModifiedMs = 0;
    this.hooks = hooks;
  }

  /** Creates a new, empty segment (replacing any leftover file of that name). */
  static async create(directory: string, baseOffset: bigint, nowMs: number, hooks: SegmentHooks): Promise<LogSegment> {
    const segment = new LogSegment(directory, baseOffset, 0, hooks);
    const handle = await open(segment.logPath, 'w+');
    segment.handlePromise = Promise.resolve(handle);
    segment.openFd = handle.fd;
    segment.offsetIndex = OffsetIndex.empty();
    segment.timeIndex = TimeIndex.empty();
    segment.indexesDirty = true;
    segment.lastModifiedMs = nowMs;
    return segment;
  }

  /**
   * A segment the log cleaner has just written (still under a temporary name): `handle` is open on
   * its .log, and its indexes, built while writing, are in memory and in index files that will be
   * renamed with the .log. The paths are the final ones; the open handle keeps working across the
   * renames, so readers can use the segment before the swap has finished.
   */
  static adopt(
    directory: string,
    baseOffset: bigint,
    built: {
      handle: FileHandle;
      size: number;
      nextOffset: bigint;
      lastModifiedMs: number;
      offsetIndex: OffsetIndex;
      timeIndex: TimeIndex;
      maxTimestamp: bigint;
      offsetOfMaxTimestamp: bigint;
      bytesSinceLastIndexEntry: number;
    },
    hooks: SegmentHooks,
  ): LogSegment {
    const segment = new LogSegment(directory, baseOffset, built.size, hooks);
    segment.handlePromise = Promise.resolve(built.handle);
    segment.openFd = built.handle.fd;
    segment.nextOffset = built.nextOffset;
    segment.lastModifiedMs = built.lastModifiedMs;
    segment.rollingBaseMs = built.size === 0 ? null : built.lastModifiedMs;
    segment.offsetIndex = built.offsetIndex;
    segment.timeIndex = built.timeIndex;
    segment.maxTimestamp = built.maxTimestamp;
    segment.offsetOfMaxTimestamp = built.offsetOfMaxTimestamp;
    segment.bytesSinceLastIndexEntry = built.bytesSinceLastIndexEntry;
    segment.offsetGapsAllowed = true;
    return segment;
  }

  /** A segment found on disk; nothing is read until it is used. */
  static existing(
    directory: string,
    baseOffset: bigint,
    file: { size: number; mtimeMs: number; birthtimeMs: number },
    hooks: SegmentHooks,
  ): LogSegment {
    const segment = new LogSegment(directory, baseOffset, file.size, hooks);
    segment.lastModifiedMs = file.mtimeMs;
    segment.rollingBaseMs = file.size === 0 ? null : file.birthtimeMs > 0 ? file.birthtimeMs : file.mtimeMs;
    return segment;
  }

  get indexesLoaded(): boolean {
    return this.offsetIndex !== null;
  }

  /** The open handle of the .log, opened on first use. */
  handle(): Promise<FileHandle> {
    if (this.handlePromise === null) {
      const opening = open(this.logPath, 'r+');
      this.handlePromise = opening;
      opening.then(
        (handle) => {
          if (this.handlePromise === opening) this.openFd = handle.fd;
        },
        () => {
          if (this.handlePromise === opening) this.handlePromise = null;
        },
      );
    }
    return this.handlePromise;
  }

  // ---- readers and deletion ----

  /** Registers a reader; false when the segment is being deleted (skip it). */
  acquire(): boolean {
    if (this.retired) return false;
    this.readers++;
    return true;
  }

  release(): void {
    this.readers--;
    if (this.readers === 0 && this.retiring !== null) this.retiring();
  }

  /**
   * Deletes the segment. New readers are turned away at once; once the readers in flight are done,
   * the files are renamed to `.deleted` (as Kafka does: a crash from then on cannot bring them back
   * as part of the log), closed and unlinked. Leftover `.deleted` files are removed on open.
   */
  async retire(): Promise<void> {
    if (!(await this.turnAwayReaders())) return;
    for (const path of [this.logPath, this.indexPath, this.timeIndexPath]) {
      await rename(path, path + DELETED_SUFFIX).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
    await this.closeHandle();
    for (const path of [this.logPath, this.indexPath, this.timeIndexPath]) {
      await unlink(path + DELETED_SUFFIX).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    }
  }

  /**
   * Closes the .log once the readers in flight are done, leaving the files as they are: for a
   * segment a failed swap took out of the log, whose files recovery must find untouched.
   */
  async detach(): Promise<void> {
    if (await this.turnAwayReaders()) await this.closeHandle();
  }

  /** Refuses new readers and waits for those in flight; false if that had already begun. */
  private async turnAwayReaders(): Promise<boolean> {
    if (this.retired) return false;
    this.retired = true;
    if (this.readers > 0) await new Promise<void>((resolve) => (this.retiring = resolve));
    return true;
  }

  // ---- indexes ----

  /**
   * Loads the index files, or rebuilds the indexes from the log when a file is missing or
   * inconsistent (see OffsetIndex.fromFile / TimeIndex.fromFile). Batches are framing-checked but
   * not CRC-checked: this is for segments the recovery point says were flushed.
   */
  loadIndexes(indexIntervalBytes: number): Promise<void> {
    if (this.offsetIndex !== null) return Promise.resolve();
    if (this.indexesLoading === null) {
      this.indexesLoading = this.readIndexFiles(indexIntervalBytes).finally(() => (this.indexesLoading = null));
    }
    return this.indexesLoading;
  }

  private async readIndexFiles(indexIntervalBytes: number): Promise<void> {
    const [offsetBytes, timeBytes] = await Promise.all([readIfExists(this.indexPath), readIfExists(this.timeIndexPath)]);
    const offsetIndex = offsetBytes === null ? null : OffsetIndex.fromFile(offsetBytes, this.size);
    const timeIndex = timeBytes === null ? null : TimeIndex.fromFile(timeBytes);
    if (offsetIndex === null || timeIndex === null) {
      await this.rebuildIndexes(indexIntervalBytes, { verifyCrc: false, end: this.size });
      this.hooks.onIndexesRebuilt?.(this);
      return;
    }
    const timeLast = timeIndex.lastEntry();
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.maxTimestamp = timeLast?.timestamp ?? -1n;
    this.offsetOfMaxTimestamp = timeLast === null ? -1n : this.baseOffset + BigInt(timeLast.relativeOffset);
    const lastEntry = offsetIndex.lastEntry();
    this.bytesSinceLastIndexEntry = this.size - (lastEntry?.position ?? 0);
  }

  /**
   * Rebuilds both indexes by scanning the log from the start to `end` (the file's size when absent).
   * With `verifyCrc` (recovery) each batch's CRC-32C is checked too. Batches must carry consecutive
   * offsets starting at the base offset (rising offsets, when `offsetGapsAllowed`). Returns where the valid log ends and the offset after it;
   * the caller decides whether to truncate there. Never use on the active segment while it takes
   * appends: the writer updates the indexes it replaces.
   */
  async rebuildIndexes(
    indexIntervalBytes: number,
    options: { verifyCrc: boolean; end?: number },
  ): Promise<{ outcome: ScanOutcome; nextOffset: bigint }> {
    const handle = await this.handle();
    const end = options.end ?? (await handle.stat()).size;
    const offsetIndex = OffsetIndex.empty();
    const timeIndex = TimeIndex.empty();
    let maxTimestamp = -1n;
    let offsetOfMax = -1n;
    let bytesSinceLastEntry = 0;
    let expected = this.baseOffset;
    const outcome = await scanBatches(handle, 0, end, { verifyCrc: options.verifyCrc }, (batch: ScannedBatch) => {
      if (batch.baseOffset < expected || (batch.baseOffset !== expected && !this.offsetGapsAllowed)) {
        return `batch at position ${batch.position} has base offset ${batch.baseOffset}, expected ${expected}`;
      }
      if (batch.lastOffset - this.baseOffset > MAX_RELATIVE_OFFSET) return `batch at position ${batch.position} overflows the segment's offsets`;
      const relative = Number(batch.baseOffset - this.baseOffset);
      if (batch.maxTimestamp > maxTimestamp) {
        maxTimestamp = batch.maxTimestamp;
        offsetOfMax = batch.baseOffset;
      }
      if (bytesSinceLastEntry >= indexIntervalBytes) {
        offsetIndex.append(relative, batch.position);
        timeIndex.maybeAppend(maxTimestamp, Number(offsetOfMax - this.baseOffset));
        bytesSinceLastEntry = 0;
      }
      bytesSinceLastEntry += batch.size;
      expected = batch.lastOffset + 1n;
      return undefined;
    });
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.maxTimestamp = maxTimestamp;
    this.offsetOfMaxTimestamp = offsetOfMax;
    this.bytesSinceLastIndexEntry = bytesSinceLastEntry;
    this.indexesDirty = true;
    return { outcome, nextOffset: expected };
  }

  /** Cuts the .log at `size` (recovery of a torn or corrupt tail). Indexes must already match. */
  async truncate(size: number): Promise<void> {
    const handle = await this.handle();
    await handle.truncate(size);
    this.size = size;
  }

  /**
   * For the active segment of a cleanly closed log: loads the indexes and walks the batch headers
   * after the last index entry to find the next offset. Returns the scan outcome so that the caller
   * can truncate an unexpected tail.
   */
  async loadTail(indexIntervalBytes: number): Promise<ScanOutcome> {
    await this.loadIndexes(indexIntervalBytes);
    const entry = this.offsetIndex!.lastEntry();
    const start = entry?.position ?? 0;
    let expected = entry === null ? this.baseOffset : this.baseOffset + BigInt(entry.relativeOffset);
    const handle = await this.handle();
    const outcome = await scanBatches(handle, start, this.size, { verifyCrc: false, chunkSize: 64 * 1024 }, (batch) => {
      if (batch.baseOffset !== expected) return `batch at position ${batch.position} has base offset ${batch.baseOffset}, expected ${expected}`;
      if (batch.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = batch.maxTimestamp;
        this.offsetOfMaxTimestamp = batch.baseOffset;
      }
      expected = batch.lastOffset + 1n;
      return undefined;
    });
    this.nextOffset = expected;
    this.bytesSinceLastIndexEntry = outcome.validSize - (entry?.position ?? 0);
    return outcome;
  }

  /** The index entry at or below `offset`: where to start looking for it. */
  lookup(offset: bigint): { position: number; offset: bigint | null } {
    const relative = offset - this.baseOffset;
    const entry = this.offsetIndex!.lookup(relative > MAX_RELATIVE_OFFSET ? Number(MAX_RELATIVE_OFFSET) : Number(relative));
    if (entry === null) return { position: 0, offset: null };
    return { position: entry.position, offset: this.baseOffset + BigInt(entry.relativeOffset) };
  }

  /** The file position to start a search for the first batch with maxTimestamp >= `timestamp`. */
  timestampLookup(timestamp: bigint): number {
    const entry = this.timeIndex!.lookupBefore(timestamp);
    if (entry === null) return 0;
    return this.lookup(this.baseOffset + BigInt(entry.relativeOffset)).position;
  }

  /** Rebuilds the indexes of an inactive segment from its log (an index entry proved wrong). */
  async repairIndexes(indexIntervalBytes: number): Promise<void> {
    await this.rebuildIndexes(indexIntervalBytes, { verifyCrc: false, end: this.size });
    this.hooks.onIndexesRebuilt?.(this);
  }

  // ---- writing ----

  /** Writes `buffers` at the committed end. Does not commit: call `commitWrite` after. */
  async write(buffers: Buffer[], totalBytes: number): Promise<void> {
    const handle = await this.handle();
    let position = this.size;
    let remaining = buffers;
    let left = totalBytes;
    while (left > 0) {
      const bytesWritten = await writevAt(handle.fd, remaining, position);
      if (bytesWritten === left) return;
      if (bytesWritten <= 0) throw new Error(`short write to ${this.logPath}`);
      // Short write: continue after the bytes that made it.
      position += bytesWritten;
      left -= bytesWritten;
      remaining = skipBytes(remaining, bytesWritten);
    }
  }

  /**
   * Writes `buffers` at the committed end on the calling thread (see inline-writes.ts for when).
   * Returns false, having written nothing, when the file is not open yet: use `write` then. Does
   * not commit: call `commitWrite` after.
   */
  writeInline(buffers: Buffer[], totalBytes: number): boolean {
    const fd = this.openFd;
    if (fd === null) return false;
    let position = this.size;
    let remaining = buffers;
    let left = totalBytes;
    while (left > 0) {
      const bytesWritten = writevSync(fd, remaining, position);
      if (bytesWritten === left) break;
      if (bytesWritten <= 0) throw new Error(`short write to ${this.logPath}`);
      position += bytesWritten;
      left -= bytesWritten;
      remaining = skipBytes(remaining, bytesWritten);
    }
    return true;
  }

  /** Makes a completed write visible: indexes, size, next offset. */
  commitWrite(batches: StampedBatch[], writeStart: number, totalBytes: number, nowMs: number, indexIntervalBytes: number): void {
    const offsetIndex = this.offsetIndex!;
    const timeIndex = this.timeIndex!;
    for (const batch of batches) {
      const { baseOffset, maxTimestamp } = batch;
      const relative = Number(baseOffset - this.baseOffset);
      // Selects instead of a branch, like the store of rollingBaseMs below: when every batch
      // carries the same timestamp only a segment's first batch raises the maximum, and that store
      // would deoptimize this method at the first write after a roll.
      const previousMax = this.maxTimestamp;
      const previousOffset = this.offsetOfMaxTimestamp;
      const raises = maxTimestamp > previousMax;
      this.maxTimestamp = raises ? maxTimestamp : previousMax;
      this.offsetOfMaxTimestamp = raises ? baseOffset : previousOffset;
      if (this.bytesSinceLastIndexEntry >= indexIntervalBytes) {
        offsetIndex.append(relative, writeStart + batch.relativePosition);
        timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
        this.bytesSinceLastIndexEntry = 0;
      }
      this.bytesSinceLastIndexEntry += batch.size;
      this.nextOffset = batch.lastOffset + 1n;
    }
    // Stored on every write: a store that runs only on a segment's first write has no type feedback
    // when V8 compiles this method, and the first write after a roll would deoptimize it.
    this.rollingBaseMs = this.rollingBaseMs ?? nowMs;
    this.lastModifiedMs = nowMs;
    this.indexesDirty = true;
    this.size = writeStart + totalBytes;
  }

  /** fdatasync of the .log. */
  async sync(): Promise<void> {
    const handle = await this.handle();
    await this.hooks.beforeDataSync?.(this.logPath);
    const started = performance.now();
    await handle.datasync();
    this.hooks.onDataSync?.((performance.now() - started) / 1000);
  }

  /**
   * Writes the index files if they differ from memory, adding the final time index entry (the
   * segment's largest timestamp) first. Call only after the .log is synced, so index files on disk
   * never describe data that is not.
   */
  async writeIndexFiles(): Promise<void> {
    if (this.offsetIndex === null || this.timeIndex === null || !this.indexesDirty || this.retired) return;
    if (this.maxTimestamp >= 0n) {
      this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
    }
    await writeFilesAtomic(this.directory, [
      { path: this.indexPath, data: Buffer.from(this.offsetIndex.bytes()) },
      { path: this.timeIndexPath, data: Buffer.from(this.timeIndex.bytes()) },
    ]);
    this.indexesDirty = false;
  }

  async closeHandle(): Promise<void> {
    const opening = this.handlePromise;
    this.handlePromise = null;
    // Forget the descriptor first: once closed, the number may name another file.
    this.openFd = null;
    if (opening === null) return;
    const handle = await opening.catch(() => null);
    await handle?.close();
  }

  /** Reads up to `length` bytes at `position` of the .log. */
  async readBytes(position: number, length: number): Promise<Buffer> {
    return readAt(await this.handle(), position, length);
  }

  /** Largest timestamp for retention: the batches' max timestamp, else the file's last write. */
  async largestTimestampForRetention(indexIntervalBytes: number): Promise<number> {
    await this.loadIndexes(indexIntervalBytes);
    return this.maxTimestamp >= 0n ? Number(this.maxTimestamp) : this.lastModifiedMs;
  }

  /** Scans batch headers from `position`; see scanBatches. */
  async scanFrom(position: number, end: number, visit: (batch: ScannedBatch) => typeof STOP_SCAN | undefined): Promise<ScanOutcome> {
    const handle = await this.handle();
    return scanBatches(handle, position, end, { verifyCrc: false, chunkSize: 64 * 1024 }, visit);
  }
}

function skipBytes(buffers: Buffer[], count: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = count;
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    out.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return out;
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * Positional writev through the callback API on the handle's descriptor: on the append hot path it
 * costs measurably less than FileHandle.writev's promise machinery.
 */
function writevAt(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writev(fd, buffers, position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}
