/**
 * The log of one partition on local disk: a directory `<topic>-<partition>/` of segments (see
 * segment.ts), with Kafka's layering: partition log -> segments -> segment file + two indexes.
 *
 * Other files in the directory:
 * - `checkpoint.json`: `{ "version": 1, "logStartOffset": "<n>", "recoveryPoint": "<n>" }`, plus
 *   `"cleanerCheckpoint": "<n>" | null, "tombstonesDueMs": <n> | null, "offsetGapsBelow": "<n>"` once
 *   the log cleaner has run, replaced atomically. The log start offset moves with DeleteRecords (it
 *   may lie inside a segment, so it must be stored; Kafka's log-start-offset-checkpoint). The
 *   recovery point is an offset below which every segment is known to be flushed with its index
 *   files written (Kafka's recovery-point-offset-checkpoint): it advances when a rolled segment has
 *   been sealed (`rollFlushDelayMs` after the roll, see `scheduleSeal`), and to the log end on a
 *   clean close. The last three belong to the log cleaner (cleanup.policy=compact, see
 *   log-cleaner.ts): the first dirty offset (Kafka's cleaner-offset-checkpoint), when the tombstones
 *   it kept are due for removal, and the offset below which segments may have offset gaps.
 * - `cleaner-swap.json`, `*.cleaned`, `*.swap`: a log cleaner swap in progress (see log-cleaner.ts).
 * - `recovery-needed`: present while the partition has not been closed cleanly since an unclean
 *   broker start (or since a close that failed); its presence makes the next open recover the log
 *   (see `open`).
 * - `partition.json`: the topic id the directory belongs to (written by the engine).
 * - `producer-state.json`: the broker's snapshot of idempotent producers' sequence state, stored
 *   here so it lives and dies with the partition; the engine does not interpret it.
 *
 * Writing: one writer per partition. `append` assigns offsets synchronously, in call order, and
 * queues the batches; the writer takes every queued append that fits the active segment and writes
 * them with one positional `writev` (write coalescing) — on the event loop when it is small, else in
 * the thread pool (see inline-writes.ts) — then makes them visible (committed size, indexes, log end
 * offset). Appends that asked for durability then wait for a group commit: while an
 * fdatasync runs, later durable appends queue up, and the next fdatasync covers all of them.
 */
import { mkdir, readdir, stat, unlink, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logger.js';
import {
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
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, CURRENT_MAGIC, Offsets } from '../../protocol/records/record-batch.js';
import { stampBatches, wholeBatchesLength, type StampedBatch } from './batches.js';
import { firstRecordAtOrAfter, maxTimestampRecord } from './batch-timestamps.js';
import { STOP_SCAN, type ScannedBatch } from './log-scan.js';
import { TEMP_SUFFIX, fsyncDirectory, isNotFound, writeFileAtomic } from './fs-util.js';
import { DELETED_SUFFIX, LOG_SUFFIX, LogSegment, MAX_RELATIVE_OFFSET, type SegmentHooks } from './segment.js';
import { StorageError } from './storage-error.js';
import { completeInterruptedSwap, runFileCleaner, type CleanerHost, type CleanerState } from './log-cleaner.js';
import { floorByBaseOffset } from '../floor-by-base-offset.js';
import { emptyResult } from '../cleaner.js';
import { segmentsPastRetention } from '../retention.js';
import { DEFAULT_ROLL_FLUSH_DELAY_MS } from '../log-config.js';
import type { InlineWritePolicy } from './inline-writes.js';

export const CHECKPOINT_FILE = 'checkpoint.json';
export const RECOVERY_FLAG_FILE = 'recovery-needed';
/** The broker's producer-state snapshot (see cluster/producer-state.ts), opaque to the engine. */
export const PRODUCER_SNAPSHOT_FILE = 'producer-state.json';
/** Most appends one coalesced write takes. */
const MAX_WRITE_GROUP = 256;
/** Header reads past the first window read this much at a time. */
const HEADER_WINDOW = 64 * 1024;
/** A search met a segment the cleaner had just replaced: it starts again on the new list. */
const SEGMENTS_REPLACED: unique symbol = Symbol('segments replaced');

/** Counters for tests, metrics and benchmarks. */
export interface FileLogStats {
  /** append() calls accepted. */
  appends: number;
  /** Coalesced writes issued (one writev each). */
  writes: number;
  /** Of those, the ones written on the event loop rather than in the thread pool. */
  inlineWrites: number;
  /** fdatasync calls on segment files. */
  dataSyncs: number;
  /** Group commits completed (one per round of fdatasyncs). */
  groupCommits: number;
  rolls: number;
  /** fsyncs of the partition directory that made new segment files' names durable. */
  directorySyncs: number;
}

export interface FilePartitionLogOptions {
  directory: string;
  topic: string;
  partition: number;
  config: LogConfig;
  clock: () => number;
  hooks: SegmentHooks;
  logger?: Logger | undefined;
  /** How long a rolled segment waits before it is flushed and sealed (see `scheduleSeal`). */
  rollFlushDelayMs?: number | undefined;
  /** Which writes run on the event loop: the engine's, shared by its logs, with its warning and metric wired. */
  inlineWrites: InlineWritePolicy;
}

/** A rolled segment waiting out the roll flush delay. */
interface PendingSeal {
  segment: LogSegment;
  timer: NodeJS.Timeout;
}

interface AppendTask {
  kind: 'append';
  buffer: Buffer;
  batches: StampedBatch[];
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
  durable: boolean;
  nowMs: number;
  logAppendTime: bigint;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

interface ControlTask {
  kind: 'control';
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface SyncWaiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Checkpoint extends CleanerState {
  logStartOffset: bigint;
  recoveryPoint: bigint;
}

export class FilePartitionLog implements PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly directory: string;
  readonly stats: FileLogStats = { appends: 0, writes: 0, inlineWrites: 0, dataSyncs: 0, groupCommits: 0, rolls: 0, directorySyncs: 0 };

  private config: LogConfig;
  private readonly clock: () => number;
  private readonly hooks: SegmentHooks;
  private readonly logger: Logger | undefined;
  /** Sorted by base offset; replaced, never mutated, so readers can hold a snapshot. */
  private segments: LogSegment[] = [];
  private startOffset = 0n;
  /** Offset after the last batch whose write completed: the high watermark. */
  private endOffset = 0n;
  /** Offset the next append() call gets (ahead of endOffset while writes are queued). */
  private nextOffset = 0n;
  private recoveryPoint = 0n;
  /** Everything below this offset has been fsynced (see PartitionLog.durableOffset). */
  private syncedOffset = 0n;
  /** The log cleaner's persistent state (see checkpoint.json above). */
  private cleaner: CleanerState = { checkpoint: null, tombstonesDueMs: null, offsetGapsBelow: 0n };
  /** The cleaning in progress, if any. */
  private cleaning: Promise<CompactionResult> | null = null;

  private readonly queue: Array<AppendTask | ControlTask> = [];
  private draining = false;
  private drainScheduled = false;
  private readonly dirtySegments = new Set<LogSegment>();
  private syncWaiters: SyncWaiter[] = [];
  private syncRunning = false;
  /** Segment files created by rolls, and how many of their names a directory fsync has covered. */
  private rolledFiles = 0;
  private durableRolledFiles = 0;
  private sealChain: Promise<void> = Promise.resolve();
  private readonly rollFlushDelayMs: number;
  private readonly inlineWrites: InlineWritePolicy;
  /** Rolled segments not yet on the seal chain, oldest first. */
  private pendingSeals: PendingSeal[] = [];
  private checkpointChain: Promise<void> = Promise.resolve();
  private failure: StorageError | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  private constructor(options: FilePartitionLogOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.directory = options.directory;
    this.config = { ...options.config };
    this.clock = options.clock;
    this.logger = options.logger;
    this.rollFlushDelayMs = options.rollFlushDelayMs ?? DEFAULT_ROLL_FLUSH_DELAY_MS;
    this.inlineWrites = options.inlineWrites;
    this.hooks = {
      ...options.hooks,
      onDataSync: (durationSeconds) => {
        this.stats.dataSyncs++;
        options.hooks.onDataSync?.(durationSeconds);
      },
      onIndexesRebuilt: (segment) =>
        this.logger?.warn({ topic: this.topic, partition: this.partition, segment: segment.logPath }, 'rebuilt missing or inconsistent index files'),
    };
  }

  /**
   * Opens (creating if needed) the log in `options.directory`.
   *
   * When the directory holds `recovery-needed` (the broker did not shut down cleanly), every segment
   * from the one holding the recovery point to the end is scanned batch by batch: framing, CRC-32C and
   * offset sequence are checked, the log is truncated at the first bad batch (later segments are
   * deleted) and those segments' indexes are rebuilt. Otherwise only the active segment's indexes
   * are loaded and its tail after the last index entry walked (header reads), so a clean start reads
   * a few KiB per partition. Other segments' indexes are loaded on first use, and rebuilt then when
   * missing or inconsistent.
   */
  static async open(options: FilePartitionLogOptions): Promise<FilePartitionLog> {
    const log = new FilePartitionLog(options);
    try {
      await log.load();
    } catch (error) {
      // Out of file descriptors, say: release what the failed load opened, so nothing leaks.
      await Promise.allSettled(log.segmentsSeenByLoad.map((segment) => segment.closeHandle()));
      throw error;
    }
    log.segmentsSeenByLoad = [];
    return log;
  }

  /** Every segment `load` created or opened, closed again if it fails. */
  private segmentsSeenByLoad: LogSegment[] = [];

  private async createSegmentDuringLoad(baseOffset: bigint): Promise<LogSegment> {
    const segment = await LogSegment.create(this.directory, baseOffset, this.clock(), this.hooks);
    this.segmentsSeenByLoad.push(segment);
    return segment;
  }

  private async load(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    const swap = await completeInterruptedSwap(this.directory);
    if (swap !== 'none') {
      this.logger?.warn({ topic: this.topic, partition: this.partition, outcome: swap }, 'found an interrupted log cleaner swap');
    }
    const names = await readdir(this.directory);
    const logs = new Map<bigint, string>();
    const indexFiles: Array<{ base: bigint; name: string }> = [];
    let recover = false;
    for (const name of names) {
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith(TEMP_SUFFIX)) {
        await unlink(join(this.directory, name)).catch(ignoreNotFound);
        continue;
      }
      if (name === RECOVERY_FLAG_FILE) recover = true;
      const match = /^(\d{20})(\.log|\.index|\.timeindex)$/.exec(name);
      if (match === null) continue;
      const base = BigInt(match[1]!);
      if (match[2] === LOG_SUFFIX) logs.set(base, name);
      else indexFiles.push({ base, name });
    }
    // Index files without their log are leftovers of an interrupted deletion.
    for (const file of indexFiles) {
      if (!logs.has(file.base)) await unlink(join(this.directory, file.name)).catch(ignoreNotFound);
    }
    const checkpoint = await this.readCheckpoint();
    this.recoveryPoint = checkpoint.recoveryPoint;
    this.cleaner = { checkpoint: checkpoint.checkpoint, tombstonesDueMs: checkpoint.tombstonesDueMs, offsetGapsBelow: checkpoint.offsetGapsBelow };

    const bases = [...logs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const stats = await Promise.all(bases.map((base) => stat(join(this.directory, logs.get(base)!))));
    let segments = bases.map((base, i) => {
      const info = stats[i]!;
      return LogSegment.existing(this.directory, base, { size: info.size, mtimeMs: info.mtimeMs, birthtimeMs: info.birthtimeMs }, this.hooks);
    });
    this.segmentsSeenByLoad.push(...segments);
    for (let i = 0; i + 1 < segments.length; i++) segments[i]!.nextOffset = segments[i + 1]!.baseOffset;
    for (const segment of segments) segment.offsetGapsAllowed = segment.baseOffset < checkpoint.offsetGapsBelow;

    if (segments.length > 0) {
      segments = recover ? await this.recoverSegments(segments) : await this.loadCleanTail(segments);
    }
    if (segments.length === 0) {
      segments = [await this.createSegmentDuringLoad(checkpoint.logStartOffset)];
      await fsyncDirectory(this.directory);
    }
    let active = segments[segments.length - 1]!;
    let logStart = checkpoint.logStartOffset > segments[0]!.baseOffset ? checkpoint.logStartOffset : segments[0]!.baseOffset;
    if (logStart > active.nextOffset) {
      // Recovery lost data up to past the log start offset: start over, empty, at the log start
      // (what Kafka does), so no offset below it is ever handed out again.
      for (const segment of segments) await segment.retire();
      active = await this.createSegmentDuringLoad(logStart);
      await fsyncDirectory(this.directory);
      segments = [active];
    }
    // Segments entirely below the log start offset (a crash between DeleteRecords' checkpoint and
    // the deletion) are deleted now.
    while (segments.length > 1 && segments[1]!.baseOffset <= logStart) {
      await segments.shift()!.retire();
    }
    if (logStart < segments[0]!.baseOffset) logStart = segments[0]!.baseOffset;
    this.segments = segments;
    this.startOffset = logStart;
    this.endOffset = active.nextOffset;
    this.nextOffset = active.nextOffset;
    // A clean close fsynced everything; after a crash only what the recovery point vouches for is
    // known to be on disk (the rest may sit in the page cache).
    this.syncedOffset = recover && this.recoveryPoint < this.endOffset ? this.recoveryPoint : this.endOffset;
    if (this.recoveryPoint > this.endOffset) {
      // The recovery point must never claim data that recovery cut off: segments written later at
      // those offsets would otherwise be trusted without a scan after the next crash.
      this.recoveryPoint = this.endOffset;
      await this.writeCheckpoint();
    }
    if (recover) this.flushRecoveredSegments();
  }

  /**
   * Recovery found the segments above the recovery point whole, but not necessarily on disk: after
   * a crash of the process they may still sit in the page cache. They are flushed as if just
   * written (the rolled ones sealed, the active one by the next group commit or close), so the
   * recovery point passes them only once they are on disk, as Kafka's does.
   */
  private flushRecoveredSegments(): void {
    const segments = this.segments;
    for (let i = 0; i + 1 < segments.length; i++) {
      if (segments[i + 1]!.baseOffset > this.recoveryPoint) this.scheduleSeal(segments[i]!);
    }
    this.dirtySegments.add(segments[segments.length - 1]!);
  }

  /**
   * Scans segments from `from` on (skipping those the recovery point vouches for), truncating the
   * log at the first torn or corrupt batch and deleting every segment after it.
   */
  private async recoverSegments(segments: LogSegment[], from = 0): Promise<LogSegment[]> {
    const interval = this.config.indexIntervalBytes;
    for (let i = from; i < segments.length; i++) {
      const segment = segments[i]!;
      const next = segments[i + 1];
      // Segments that end at or below the recovery point were flushed and sealed: trust them.
      if (next !== undefined && next.baseOffset <= this.recoveryPoint) continue;
      const { outcome, nextOffset } = await segment.rebuildIndexes(interval, { verifyCrc: true });
      if (outcome.validSize !== segment.size) await segment.truncate(outcome.validSize); // a torn or corrupt tail
      // A cleaned segment may end before the next one starts: its last batches were removed.
      const fits = next === undefined || (segment.offsetGapsAllowed ? nextOffset <= next.baseOffset : nextOffset === next.baseOffset);
      const broken = outcome.outcome !== 'end' || !fits;
      segment.nextOffset = !broken && next !== undefined ? next.baseOffset : nextOffset;
      if (broken) {
        this.logger?.warn(
          {
            topic: this.topic,
            partition: this.partition,
            segment: segment.logPath,
            validBytes: outcome.validSize,
            reason: outcome.reason || `next segment starts at ${next?.baseOffset}, expected ${nextOffset}`,
            deletedSegments: segments.length - i - 1,
          },
          'recovery truncated the log at the first torn or corrupt batch',
        );
        for (const later of segments.slice(i + 1)) await later.retire();
        return segments.slice(0, i + 1);
      }
    }
    return segments;
  }

  private async loadCleanTail(segments: LogSegment[]): Promise<LogSegment[]> {
    const active = segments[segments.length - 1]!;
    const outcome = await active.loadTail(this.config.indexIntervalBytes);
    if (outcome.outcome === 'end') return segments;
    // A cleanly closed log ends on a batch boundary and its index matches it. Since this one does
    // not, distrust both: recover the active segment as after a crash.
    return this.recoverSegments(segments, segments.length - 1);
  }

  private async readCheckpoint(): Promise<Checkpoint> {
    let text: string;
    try {
      text = await readFile(join(this.directory, CHECKPOINT_FILE), 'utf8');
    } catch (error) {
      if (isNotFound(error)) return { logStartOffset: 0n, recoveryPoint: 0n, checkpoint: null, tombstonesDueMs: null, offsetGapsBelow: 0n };
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as {
        logStartOffset?: unknown;
        recoveryPoint?: unknown;
        cleanerCheckpoint?: unknown;
        tombstonesDueMs?: unknown;
        offsetGapsBelow?: unknown;
      };
      return {
        logStartOffset: BigInt(String(parsed.logStartOffset ?? '0')),
        recoveryPoint: BigInt(String(parsed.recoveryPoint ?? '0')),
        checkpoint: parsed.cleanerCheckpoint === undefined || parsed.cleanerCheckpoint === null ? null : BigInt(String(parsed.cleanerCheckpoint)),
        tombstonesDueMs: typeof parsed.tombstonesDueMs === 'number' ? parsed.tombstonesDueMs : null,
        offsetGapsBelow: BigInt(String(parsed.offsetGapsBelow ?? '0')),
      };
    } catch (error) {
      throw new StorageError('TRIB_ERR_STORAGE_METADATA', `cannot parse ${join(this.directory, CHECKPOINT_FILE)}: ${String(error)}`, { cause: error });
    }
  }

  /**
   * Writes checkpoint.json with the current values (or `logStartOffset` when given, to make a new
   * log start durable before it takes effect); calls are applied one after the other.
   */
  private writeCheckpoint(logStartOffset?: bigint): Promise<void> {
    const write = this.checkpointChain.then(() =>
      writeFileAtomic(
        join(this.directory, CHECKPOINT_FILE),
        JSON.stringify({
          version: 1,
          logStartOffset: (logStartOffset ?? this.startOffset).toString(),
          recoveryPoint: this.recoveryPoint.toString(),
          // The cleaner's fields appear once it has run (logs never compacted keep the short form).
          ...(this.cleaner.checkpoint === null && this.cleaner.offsetGapsBelow === 0n
            ? {}
            : {
                cleanerCheckpoint: this.cleaner.checkpoint?.toString() ?? null,
                tombstonesDueMs: this.cleaner.tombstonesDueMs,
                offsetGapsBelow: this.cleaner.offsetGapsBelow.toString(),
              }),
        }) + '\n',
      ),
    );
    this.checkpointChain = write.catch(() => undefined);
    return write;
  }

  // ---- state ----

  get logStartOffset(): bigint {
    return this.startOffset;
  }

  get logEndOffset(): bigint {
    return this.endOffset;
  }

  get durableOffset(): bigint {
    return this.syncedOffset;
  }

  get sizeInBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  /** True once close() (or abandon()) was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Base offsets of the segments, oldest first (for tests and DescribeLogDirs-style tools). */
  segmentBaseOffsets(): bigint[] {
    return this.segments.map((segment) => segment.baseOffset);
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  updateConfig(config: LogConfig): void {
    this.config = { ...config };
  }

  // ---- append ----

  append(batches: Buffer, options: AppendOptions): Promise<AppendResult> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.failure !== null) return Promise.reject(this.failure);
    const nowMs = this.clock();
    const logAppendTime = this.config.timestampType === 'LogAppendTime' ? BigInt(nowMs) : null;
    const baseOffset = this.nextOffset;
    let parsed: StampedBatch[];
    try {
      parsed = stampBatches(batches, baseOffset, options.leaderEpoch, logAppendTime);
    } catch (error) {
      return Promise.reject(error);
    }
    const offset = parsed[parsed.length - 1]!.lastOffset + 1n;
    this.nextOffset = offset;
    this.stats.appends++;
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({
        kind: 'append',
        buffer: batches,
        batches: parsed,
        size: batches.length,
        baseOffset,
        lastOffset: offset - 1n,
        durable: options.durable,
        nowMs,
        logAppendTime: logAppendTime ?? -1n,
        resolve,
        reject,
      });
      this.scheduleDrain();
    });
  }

  /** Runs `run` in the writer's queue: after every append queued before it, before any after it. */
  private enqueueControl<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: 'control', run, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Starts the writer once the code running now is done: every append made in this turn (all the
   * requests one socket read delivered) then goes out in one write. Under load that group is too
   * large to write inline, so it goes to the thread pool, and the appends arriving meanwhile
   * coalesce behind it; requests arriving one at a time are written inline, one by one.
   */
  private scheduleDrain(): void {
    if (this.draining || this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'control') {
          this.queue.shift();
          try {
            head.resolve(await head.run());
          } catch (error) {
            head.reject(error);
          }
          continue;
        }
        if (this.failure !== null) {
          this.queue.shift();
          head.reject(this.failure);
          continue;
        }
        // False when the head needs a new segment: roll, and the next round writes it there.
        if (!(await this.writeQueuedAppends(head))) await this.rollFor(head);
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Whether `task` must go into a new segment, when `pendingBytes` of the group it would join are
   * written before it (from `groupStartMs`, which then starts segment.ms for an empty segment).
   */
  private shouldRoll(segment: LogSegment, pendingBytes: number, task: AppendTask, groupStartMs: number): boolean {
    const size = segment.size + pendingBytes;
    if (size === 0) return false; // an empty segment takes even a batch larger than segment.bytes
    if (size + task.size > this.config.segmentBytes) return true;
    // Not empty, so either the segment has its first append's time or the group starts it.
    if (task.nowMs - (segment.rollingBaseMs ?? groupStartMs) > this.config.segmentMs) return true;
    return task.lastOffset - segment.baseOffset > MAX_RELATIVE_OFFSET;
  }

  /**
   * Rolls the active segment for `first`, the queue's head; on failure rejects it and takes it off
   * the queue. Kept out of `writeQueuedAppends`: V8 compiles that hot function before any roll,
   * and code in it that never ran would deoptimize it at the first roll, leaving every append in
   * slower code until it is compiled again (bench/README.md, "Where the half-load p99 comes from").
   */
  private async rollFor(first: AppendTask): Promise<void> {
    try {
      await this.roll(first.baseOffset, first.nowMs);
    } catch (error) {
      this.queue.shift();
      first.reject(this.fail(error));
    }
  }

  /**
   * Writes the head of the queue and the appends queued behind it that fit the active segment, as
   * one write. False, having done nothing, when the head does not fit: the segment must roll first.
   */
  private async writeQueuedAppends(first: AppendTask): Promise<boolean> {
    const segment = this.active;
    // The loop checks `first` too, so that its body runs on every call: under light load only
    // `first` is queued, and a loop body that never ran before V8 compiled this function would
    // deoptimize it at the first burst of appends.
    const group: AppendTask[] = [];
    let total = 0;
    while (group.length < MAX_WRITE_GROUP && group.length < this.queue.length) {
      const next = this.queue[group.length]!;
      if (next.kind !== 'append' || this.shouldRoll(segment, total, next, first.nowMs)) break;
      group.push(next);
      total += next.size;
    }
    if (group.length === 0) return false;
    this.queue.splice(0, group.length);
    const writeStart = segment.size;
    const buffers = group.map((task) => task.buffer);
    try {
      if (this.writtenInline(segment, buffers, total)) this.stats.inlineWrites++;
      else await segment.write(buffers, total);
    } catch (error) {
      const failure = this.fail(error);
      for (const task of group) task.reject(failure);
      return true;
    }
    let position = writeStart;
    for (const task of group) {
      segment.commitWrite(task.batches, position, task.size, task.nowMs, this.config.indexIntervalBytes);
      position += task.size;
    }
    this.endOffset = group[group.length - 1]!.lastOffset + 1n;
    this.dirtySegments.add(segment);
    this.stats.writes++;
    let durable = false;
    for (const task of group) {
      const result: AppendResult = {
        baseOffset: task.baseOffset,
        lastOffset: task.lastOffset,
        logAppendTime: task.logAppendTime,
        logStartOffset: this.startOffset,
      };
      if (task.durable) {
        durable = true;
        this.syncWaiters.push({ resolve: () => task.resolve(result), reject: task.reject });
      } else {
        task.resolve(result);
      }
    }
    if (durable) this.startSync();
    return true;
  }

  /** Writes on the event loop when the policy admits it and the file is open; false if not written. */
  private writtenInline(segment: LogSegment, buffers: Buffer[], totalBytes: number): boolean {
    if (!this.inlineWrites.admits(totalBytes)) return false;
    const started = this.inlineWrites.now();
    if (!segment.writeInline(buffers, totalBytes)) return false;
    this.inlineWrites.record(started, this.inlineWrites.now());
    return true;
  }

  /**
   * Starts a new active segment at `baseOffset`; the old one is sealed in the background.
   *
   * The new file's name is not fsynced here: that fsync of the directory commits the file system's
   * journal, which on ext4 waits for data under writeback, and every append would wait with it
   * (170 and 356 ms in two of four rolls measured at 230 MB/s on a busy host; about 1 ms otherwise).
   * Nothing needs the name durable yet: group commit and the seal fsync the directory before they
   * vouch for data in the file (see `syncRolledFileNames`).
   */
  private async roll(baseOffset: bigint, nowMs: number): Promise<LogSegment> {
    const previous = this.active;
    const segment = await LogSegment.create(this.directory, baseOffset, nowMs, this.hooks);
    this.rolledFiles++;
    previous.nextOffset = baseOffset;
    this.segments = [...this.segments, segment];
    this.stats.rolls++;
    this.scheduleSeal(previous);
    return segment;
  }

  /**
   * Seals a rolled segment `rollFlushDelayMs` after the roll (at once when that is 0, as Kafka does).
   *
   * Why wait: an fdatasync of a whole segment (1 GiB by default) that the kernel has not written
   * back yet stalls the writes to the new active segment on ext4 for as long as it takes (about
   * 1.2 s on the benchmark machine: p99 produce latency 25-35 ms around a roll instead of 2-6 ms).
   * After the delay the kernel's own writeback has written the segment and the fdatasync is cheap.
   * Nothing acknowledged waits for it: acks=all appends were made durable by group commit, and
   * acks=1 never promised a flush. Only the recovery point lags, so a crash within the delay makes
   * the next start scan that segment too. `flush()`, `close()` and the log cleaner seal at once.
   */
  private scheduleSeal(segment: LogSegment): void {
    if (this.rollFlushDelayMs <= 0) {
      this.chainSeal(segment);
      return;
    }
    const pending: PendingSeal = { segment, timer: setTimeout(() => void this.releaseSeals(pending), this.rollFlushDelayMs) };
    // A pending seal must not keep the process alive: close() seals, and a crash is what recovery is for.
    pending.timer.unref();
    this.pendingSeals.push(pending);
  }

  /**
   * Puts the pending seals up to and including `last` (every one when omitted) on the seal chain
   * now, in roll order; resolves when the chain has sealed them.
   */
  private releaseSeals(last?: PendingSeal): Promise<void> {
    const count = last === undefined ? this.pendingSeals.length : this.pendingSeals.indexOf(last) + 1;
    const due = this.pendingSeals.slice(0, count);
    this.pendingSeals = this.pendingSeals.slice(count);
    for (const { segment, timer } of due) {
      clearTimeout(timer);
      this.chainSeal(segment);
    }
    return this.sealChain;
  }

  /**
   * Seals a rolled segment: flush its data, then write its index files, then advance the recovery
   * point past it. The order makes index files on disk (below the recovery point) a proof that
   * the data they describe is on disk. Seals run one at a time in roll order, so when this one ends
   * every segment before it is sealed too.
   */
  private chainSeal(segment: LogSegment): void {
    this.sealChain = this.sealChain.then(async () => {
      if (this.failure !== null || !segment.acquire()) return;
      try {
        // This segment only: the active one may hold a lot that the kernel has not written yet.
        await segment.sync();
        await this.syncRolledFileNames();
        // Rolled, so nothing writes to it any more: group commit has nothing left to do there.
        this.dirtySegments.delete(segment);
        if (segment.nextOffset > this.syncedOffset) this.syncedOffset = segment.nextOffset;
        await segment.writeIndexFiles();
        if (segment.nextOffset > this.recoveryPoint) this.recoveryPoint = segment.nextOffset;
        await this.writeCheckpoint();
      } catch (error) {
        this.fail(error);
      } finally {
        segment.release();
      }
    });
  }

  // ---- group commit ----

  /** Resolves once everything written before the call is on stable storage. */
  private requestSync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.startSync();
    });
  }

  /**
   * One round of group commit: fdatasync every segment written since the last round, then release
   * the appends that were waiting when the round started. Waiters that arrive meanwhile are served
   * by the next round, which starts as soon as this one ends.
   */
  private startSync(): void {
    if (this.syncRunning || this.syncWaiters.length === 0) return;
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    if (this.failure !== null) {
      for (const waiter of waiters) waiter.reject(this.failure);
      return;
    }
    const segments = [...this.dirtySegments];
    this.dirtySegments.clear();
    // Every write completed so far went to one of these segments: this round makes them durable.
    const covered = this.endOffset;
    this.syncRunning = true;
    void (async () => {
      try {
        for (const segment of segments) {
          if (!segment.acquire()) continue; // deleted meanwhile: nothing left to make durable
          try {
            await segment.sync();
          } finally {
            segment.release();
          }
        }
        // The waiters' data may sit in a file rolled since the last directory fsync.
        await this.syncRolledFileNames();
        this.stats.groupCommits++;
        if (covered > this.syncedOffset) this.syncedOffset = covered;
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        // An fsync failure means data may be lost: fail every waiter and the partition (fsyncgate:
        // retrying fsync after a failure can falsely report success).
        const failure = this.fail(error);
        for (const waiter of waiters) waiter.reject(failure);
      } finally {
        this.syncRunning = false;
        this.startSync();
      }
    })();
  }

  /**
   * Makes the names of the segment files rolled so far durable (one fsync of the directory, none
   * when an earlier one covered them all): a file whose data is fsynced but whose name is not could
   * vanish in a power loss.
   */
  private async syncRolledFileNames(): Promise<void> {
    const rolled = this.rolledFiles;
    if (this.durableRolledFiles >= rolled) return;
    await fsyncDirectory(this.directory);
    this.stats.directorySyncs++;
    if (rolled > this.durableRolledFiles) this.durableRolledFiles = rolled;
  }

  /** Records the first I/O failure; from then on appends are refused until the log is reopened. */
  private fail(error: unknown): StorageError {
    if (this.failure === null) {
      const message = error instanceof Error ? error.message : String(error);
      this.failure = new StorageError(
        'TRIB_ERR_STORAGE_FAILED',
        `partition ${this.topic}-${this.partition} stopped accepting appends after an I/O error (${message}); ` +
          'restart the broker to recover the log',
        { cause: error },
      );
    }
    return this.failure;
  }

  // ---- read ----

  async read(offset: bigint, maxBytes: number): Promise<ReadResult> {
    if (this.closed) throw this.closedError();
    const highWatermark = this.endOffset;
    const logStartOffset = this.startOffset;
    // Where the high watermark lies: appends committed while this read waits go past it, and a
    // read answers nothing above the high watermark it reports, as Kafka's does.
    const lastSegment = this.active;
    const lastSegmentEnd = lastSegment.size;
    const empty = { records: Buffer.alloc(0), highWatermark, logStartOffset };
    if (offset >= highWatermark) return empty;
    // The batch holding `offset` may have been compacted away: the first batch after it answers.
    for (;;) {
      const segments = this.segments;
      let replaced = false;
      for (let i = floorByBaseOffset(segments, offset); i < segments.length; i++) {
        const segment = segments[i]!;
        if (segment.baseOffset > lastSegment.baseOffset) break; // rolled since: all above
        if (!segment.acquire()) {
          // Being deleted: the list changed (retention, or the cleaner's swap), so read the new one.
          if (this.segments !== segments) {
            replaced = true;
            break;
          }
          continue;
        }
        try {
          const end = segment === lastSegment ? lastSegmentEnd : segment.size;
          const records = await this.readSegment(segment, offset, end, maxBytes);
          if (records !== null) return { records, highWatermark, logStartOffset };
        } finally {
          segment.release();
        }
      }
      if (!replaced) return empty;
    }
  }

  /** Whole batches from the one holding `offset`, up to `maxBytes`, none at or past `end`. */
  private async readSegment(segment: LogSegment, offset: bigint, end: number, maxBytes: number): Promise<Buffer | null> {
    const interval = this.config.indexIntervalBytes;
    await segment.loadIndexes(interval);
    for (let attempt = 0; ; attempt++) {
      const entry = segment.lookup(offset);
      const found = await this.readFrom(segment, entry, offset, end, maxBytes);
      if (found !== 'stale-index') return found;
      if (attempt > 0 || segment === this.active) {
        throw new StorageError('TRIB_ERR_STORAGE_CORRUPT', `no batch at the indexed position ${entry.position} of ${segment.logPath}`);
      }
      await segment.repairIndexes(interval);
    }
  }

  /**
   * Finds the first batch whose last offset >= `offset`, starting at the index entry, and returns
   * whole batches from it up to `maxBytes` (at least the first one). One read usually covers both
   * the walk and the data: it spans the index interval plus `maxBytes`.
   */
  private async readFrom(
    segment: LogSegment,
    entry: { position: number; offset: bigint | null },
    offset: bigint,
    end: number,
    maxBytes: number,
  ): Promise<Buffer | null | 'stale-index'> {
    if (entry.position >= end) return entry.offset === null ? null : 'stale-index';
    const firstWindow = Math.max(maxBytes, 0) + Math.min(this.config.indexIntervalBytes, 1 << 20) + 2 * BATCH_HEADER_SIZE;
    let windowStart = entry.position;
    let window = await segment.readBytes(windowStart, Math.min(end - windowStart, firstWindow));
    const covers = (position: number, length: number): boolean =>
      position >= windowStart && position + length <= windowStart + window.length;

    let position = entry.position;
    let first = true;
    while (position < end) {
      if (!covers(position, BATCH_HEADER_SIZE)) {
        windowStart = position;
        window = await segment.readBytes(position, Math.min(end - position, HEADER_WINDOW));
      }
      const at = position - windowStart;
      const size = window.length - at >= BATCH_HEADER_SIZE ? window.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD : -1;
      const valid = size >= BATCH_HEADER_SIZE && position + size <= end && window.readInt8(at + Offsets.magic) === CURRENT_MAGIC;
      const baseOffset = valid ? window.readBigInt64BE(at + Offsets.baseOffset) : -1n;
      if (first && entry.offset !== null && (!valid || baseOffset !== entry.offset)) return 'stale-index';
      if (!valid) {
        throw new StorageError('TRIB_ERR_STORAGE_CORRUPT', `no valid batch at position ${position} of ${segment.logPath}`);
      }
      first = false;
      const lastOffset = baseOffset + BigInt(window.readInt32BE(at + Offsets.lastOffsetDelta));
      if (lastOffset >= offset) {
        if (size >= maxBytes) return covers(position, size) ? window.subarray(at, at + size) : this.readExactly(segment, position, size);
        const length = Math.min(maxBytes, end - position);
        const data = covers(position, length) ? window.subarray(at, at + length) : await this.readExactly(segment, position, length);
        return data.subarray(0, wholeBatchesLength(data, size));
      }
      position += size;
    }
    return null;
  }

  private async readExactly(segment: LogSegment, position: number, length: number): Promise<Buffer> {
    const data = await segment.readBytes(position, length);
    if (data.length !== length) {
      throw new StorageError('TRIB_ERR_STORAGE_CORRUPT', `${segment.logPath} is shorter than its committed size`);
    }
    return data;
  }

  // ---- timestamps ----

  async offsetForTimestamp(timestampMs: bigint): Promise<TimestampOffset | null> {
    if (this.closed) throw this.closedError();
    for (;;) {
      const segments = this.segments;
      const found = await this.offsetForTimestampIn(segments, timestampMs);
      // A segment replaced by the cleaner meanwhile: search the new list.
      if (found !== SEGMENTS_REPLACED) return found;
    }
  }

  private async offsetForTimestampIn(segments: readonly LogSegment[], timestampMs: bigint): Promise<TimestampOffset | null | typeof SEGMENTS_REPLACED> {
    const logStart = this.startOffset;
    const interval = this.config.indexIntervalBytes;
    for (const segment of segments) {
      if (segment.nextOffset <= logStart && segment !== segments[segments.length - 1]) continue;
      if (!segment.acquire()) {
        if (this.segments !== segments) return SEGMENTS_REPLACED;
        continue;
      }
      try {
        await segment.loadIndexes(interval);
        if (segment.maxTimestamp < timestampMs || segment.maxTimestamp < 0n) continue;
        let position = segment.timestampLookup(timestampMs);
        if (logStart > segment.baseOffset) position = Math.max(position, segment.lookup(logStart).position);
        const end = segment.size;
        while (position < end) {
          let match: ScannedBatch | null = null;
          await segment.scanFrom(position, end, (batch) => {
            if (batch.lastOffset < logStart || batch.maxTimestamp < timestampMs) return undefined;
            match = batch;
            return STOP_SCAN;
          });
          const candidate = match as ScannedBatch | null;
          if (candidate === null) break;
          const batch = await this.readExactly(segment, candidate.position, candidate.size);
          const found = await firstRecordAtOrAfter(batch, timestampMs, logStart);
          if (found !== null) return found;
          position = candidate.position + candidate.size;
        }
      } finally {
        segment.release();
      }
    }
    return null;
  }

  async maxTimestamp(): Promise<TimestampOffset | null> {
    if (this.closed) throw this.closedError();
    for (;;) {
      const found = await this.maxTimestampIn(this.segments);
      if (found !== SEGMENTS_REPLACED) return found;
    }
  }

  private async maxTimestampIn(segments: readonly LogSegment[]): Promise<TimestampOffset | null | typeof SEGMENTS_REPLACED> {
    const logStart = this.startOffset;
    const interval = this.config.indexIntervalBytes;
    // Candidates are whole batches (decoded at the end), except a batch straddling the log start,
    // whose records below it must not count: that one is answered exactly on the spot.
    let best: { timestamp: bigint; batchOffset: bigint; segment: LogSegment; exact: TimestampOffset | null } | null = null;
    for (const segment of segments) {
      if (segment.nextOffset <= logStart || segment.size === 0) continue;
      if (!segment.acquire()) {
        if (this.segments !== segments) return SEGMENTS_REPLACED;
        continue;
      }
      try {
        await segment.loadIndexes(interval);
        let candidate = { timestamp: segment.maxTimestamp, batchOffset: segment.offsetOfMaxTimestamp, segment, exact: null as TimestampOffset | null };
        if (candidate.timestamp >= 0n && candidate.batchOffset < logStart) {
          // The segment's maximum lies below the log start: find the maximum of what remains.
          candidate = { ...candidate, timestamp: -1n };
          let straddling: ScannedBatch | null = null;
          await segment.scanFrom(segment.lookup(logStart).position, segment.size, (batch) => {
            if (batch.lastOffset < logStart) return undefined;
            if (batch.baseOffset < logStart) straddling = batch;
            else if (batch.maxTimestamp > candidate.timestamp) candidate = { ...candidate, timestamp: batch.maxTimestamp, batchOffset: batch.baseOffset };
            return undefined;
          });
          const first = straddling as ScannedBatch | null;
          if (first !== null) {
            const exact = await maxTimestampRecord(await this.readExactly(segment, first.position, first.size), logStart);
            // The straddling batch comes first, so it wins ties.
            if (exact !== null && exact.timestamp >= candidate.timestamp) candidate = { ...candidate, timestamp: exact.timestamp, exact };
          }
        }
        if (candidate.timestamp >= 0n && (best === null || candidate.timestamp > best.timestamp)) best = candidate;
      } finally {
        segment.release();
      }
    }
    if (best === null) return null;
    if (best.exact !== null) return best.exact;
    if (!best.segment.acquire()) return this.segments !== segments ? SEGMENTS_REPLACED : null;
    try {
      const records = await this.readSegment(best.segment, best.batchOffset, best.segment.size, 1);
      if (records === null) return null;
      return (await maxTimestampRecord(records, logStart)) ?? { offset: best.batchOffset, timestamp: best.timestamp };
    } finally {
      best.segment.release();
    }
  }

  // ---- deletion and retention ----

  deleteRecordsBefore(offset: bigint): Promise<bigint> {
    if (this.closed) return Promise.reject(this.closedError());
    return this.enqueueControl(async () => {
      const target = offset > this.endOffset ? this.endOffset : offset;
      if (target <= this.startOffset) return this.startOffset;
      // Durable before it takes effect and before any segment goes, so a crash cannot resurrect
      // records below it.
      await this.writeCheckpoint(target);
      this.startOffset = target;
      let count = 0;
      while (count + 1 < this.segments.length && this.segments[count + 1]!.baseOffset <= target) count++;
      await this.deleteOldestSegments(count);
      return this.startOffset;
    });
  }

  enforceRetention(nowMs: number): Promise<number> {
    if (this.closed) return Promise.reject(this.closedError());
    if (!policyDeletes(this.config.cleanupPolicy)) return Promise.resolve(0);
    return this.enqueueControl(async () => {
      const segments = this.segments;
      const count = await segmentsPastRetention(segments, this.config, nowMs, (segment) =>
        segment.largestTimestampForRetention(this.config.indexIntervalBytes),
      );
      if (count === 0) return 0;
      if (count === segments.length) {
        // Never leave the partition without an active segment: roll first, as Kafka does.
        try {
          await this.roll(this.endOffset, this.clock());
        } catch (error) {
          throw this.fail(error);
        }
      }
      await this.deleteOldestSegments(count);
      return count;
    });
  }

  /** Deletes the `count` oldest segments (never the active one); log start follows. */
  private async deleteOldestSegments(count: number): Promise<void> {
    if (count <= 0) return;
    if (count >= this.segments.length) throw new Error('refusing to delete the active segment');
    const doomed = this.segments.slice(0, count);
    this.segments = this.segments.slice(count);
    const newStart = this.segments[0]!.baseOffset;
    if (newStart > this.startOffset) this.startOffset = newStart;
    for (const segment of doomed) {
      this.dirtySegments.delete(segment);
      await segment.retire();
    }
  }

  // ---- compaction ----

  compact(nowMs: number, options: CompactionOptions = {}): Promise<CompactionResult> {
    if (this.closed) return Promise.reject(this.closedError());
    // A failed log waits for the restart that recovers it (its failure was reported when it happened).
    if (this.failure !== null) return Promise.resolve(emptyResult('log-failed', this.cleaner.checkpoint ?? this.startOffset));
    if (this.cleaning !== null) return Promise.resolve(emptyResult('in-progress', this.cleaner.checkpoint ?? this.startOffset));
    const cleaning = runFileCleaner(this.cleanerHost(), nowMs, options).finally(() => {
      if (this.cleaning === cleaning) this.cleaning = null;
    });
    this.cleaning = cleaning;
    return cleaning;
  }

  /** The cleaner's view of this log (see CleanerHost in log-cleaner.ts). */
  private cleanerHost(): CleanerHost {
    return {
      directory: this.directory,
      hooks: this.hooks,
      config: () => this.config,
      segments: () => this.segments,
      logStartOffset: () => this.startOffset,
      logEndOffset: () => this.endOffset,
      recoveryPoint: () => this.recoveryPoint,
      // Compacting a segment waits for its seal: the cleaner does not wait out the roll flush delay.
      sealed: () => this.releaseSeals(),
      cleanerState: () => this.cleaner,
      saveCleanerState: async (state) => {
        this.cleaner = state;
        for (const segment of this.segments) segment.offsetGapsAllowed ||= segment.baseOffset < state.offsetGapsBelow;
        await this.writeCheckpoint();
      },
      stopped: () => this.closed || this.failure !== null,
      exclusive: (run) => this.enqueueControl(run),
      replaceSegments: (old, replacement) => {
        for (const segment of old) this.dirtySegments.delete(segment);
        this.segments = [...replacement, ...this.segments.slice(old.length)];
      },
      fail: (error) => this.fail(error),
    };
  }

  // ---- flush and close ----

  /** Syncs everything written so far, and waits for rolled segments to be sealed (recovery point). */
  async flush(): Promise<void> {
    if (this.closed) throw this.closedError();
    await this.enqueueControl(async () => undefined);
    // Seals first, as close() does: each fdatasyncs its own segment, which then leaves the group
    // commit's set, so the commit below syncs only what the seals did not (not every segment twice).
    await this.releaseSeals();
    await this.requestSync();
    if (this.failure !== null) throw this.failure;
  }

  async readProducerSnapshot(): Promise<Buffer | null> {
    if (this.closed) throw this.closedError();
    try {
      return await readFile(join(this.directory, PRODUCER_SNAPSHOT_FILE));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async writeProducerSnapshot(data: Buffer): Promise<void> {
    if (this.closed) throw this.closedError();
    await writeFileAtomic(join(this.directory, PRODUCER_SNAPSHOT_FILE), data);
  }

  close(): Promise<void> {
    if (this.closing === null) this.closing = this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    // Appends queued before close() are still written.
    await this.enqueueControl(async () => undefined);
    // A cleaning in progress sees `closed` and stops, deleting what it had written.
    await this.cleaning?.catch(() => undefined);
    await this.releaseSeals();
    let error: unknown = this.failure;
    if (error === null) {
      try {
        await this.requestSync();
        for (const segment of this.segments) await segment.writeIndexFiles();
        this.recoveryPoint = this.endOffset;
        await this.writeCheckpoint();
        await unlink(join(this.directory, RECOVERY_FLAG_FILE)).then(
          () => fsyncDirectory(this.directory),
          ignoreNotFound,
        );
      } catch (caught) {
        error = caught;
      }
    }
    for (const segment of this.segments) await segment.closeHandle().catch(() => undefined);
    if (error !== null) {
      // Whatever the engine's shutdown marker will say, this partition must recover when next opened.
      await writeFile(join(this.directory, RECOVERY_FLAG_FILE), '')
        .then(() => fsyncDirectory(this.directory))
        .catch(() => undefined);
      throw error;
    }
  }

  /**
   * Releases file handles without flushing or checkpointing: what a crash leaves (tests), and all
   * that a partition about to be deleted needs (its data is not worth an fdatasync).
   */
  async abandon(): Promise<void> {
    this.closed = true;
    this.failure ??= this.closedError();
    await this.enqueueControl(async () => undefined).catch(() => undefined);
    // A cleaning in progress sees `closed` and stops, deleting what it had written.
    await this.cleaning?.catch(() => undefined);
    // A crash loses the seals that had not started.
    for (const { timer } of this.pendingSeals) clearTimeout(timer);
    this.pendingSeals = [];
    await this.sealChain;
    for (const segment of this.segments) await segment.closeHandle().catch(() => undefined);
  }

  private closedError(): StorageError {
    return new StorageError('TRIB_ERR_STORAGE_CLOSED', `partition ${this.topic}-${this.partition} is closed`);
  }
}

function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}

