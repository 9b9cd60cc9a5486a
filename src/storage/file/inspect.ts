/**
 * Read-only inspection of a file engine's data directory, for `tributary storage inspect`: topics,
 * partitions, segments (sizes, batches, records, offsets, timestamps, codecs), index files, tails
 * that do not end on a whole batch, and what retention would delete.
 *
 * Safety: nothing here writes, renames or deletes; every file is opened read-only and read up to the
 * size it had when it was listed. That makes it safe next to a running broker: the active segment
 * may grow meanwhile (its last batch can then look incomplete: reported as a possibly in-flight
 * write, not as damage), and index files of the active segment lag the log until the broker rolls or
 * closes it, which is how the engine works (see segment.ts). The engine itself is never opened:
 * opening it recovers and truncates, which is the broker's job.
 *
 * Batches are walked header by header (61 bytes each, read in 1 MiB windows), so a large log costs
 * one sequential read and no decoding; `verifyCrc` also checks every batch's CRC-32C, which reads
 * every byte.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, CURRENT_MAGIC, Offsets, batchCrcMatches, compressionOf } from '../../protocol/records/record-batch.js';
import { codecName } from '../../protocol/records/compression.js';
import { logConfigOf } from '../../cluster/topic-configs.js';
import { segmentsPastRetention } from '../retention.js';
import type { TopicRecord } from '../engine.js';
import { isNotFound, pathExists, readAt } from './fs-util.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX } from './segment.js';
import { CHECKPOINT_FILE, PRODUCER_SNAPSHOT_FILE, RECOVERY_FLAG_FILE } from './partition-log.js';
import { CLEAN_SHUTDOWN_FILE, CLUSTER_FILE, PARTITION_METADATA_FILE, TOPICS_FILE } from './file-engine.js';
import { byTopicPartition } from '../../util/topic-partition-order.js';

export interface IndexFileReport {
  bytes: number;
  entries: number;
  /** False when the file is not a consistent index of its log (the broker rebuilds it). */
  consistent: boolean;
}

export interface TailReport {
  /** 'end': the log ends on a whole batch; 'torn': a partial batch at the end; 'corrupt': bytes that are no batch. */
  outcome: 'end' | 'torn' | 'corrupt';
  /** Bytes from the start of the log up to the end of the last whole, valid batch. */
  validBytes: number;
  reason: string;
}

export interface SegmentReport {
  baseOffset: bigint;
  file: string;
  sizeBytes: number;
  batches: number;
  records: number;
  /** Offsets of the first and last record (null for an empty segment). */
  firstOffset: bigint | null;
  lastOffset: bigint | null;
  /** Smallest batch base timestamp and largest batch max timestamp (null when none has one). */
  firstTimestamp: bigint | null;
  lastTimestamp: bigint | null;
  /** Batches per compression codec name. */
  codecs: Record<string, number>;
  /** null when the file is missing. */
  index: IndexFileReport | null;
  timeIndex: IndexFileReport | null;
  tail: TailReport;
  /** Batches whose CRC-32C does not match (only counted with verifyCrc). */
  crcErrors: number;
  modifiedMs: number;
  /**
   * Flushed with its index files written: it ends at or below the recovery point. False for the
   * active segment and for rolled ones waiting for their flush (log.roll.flush.delay.ms, or a crash).
   */
  sealed: boolean;
}

export interface RetentionReport {
  /** Whether time/size retention applies (cleanup.policy includes delete). */
  applies: boolean;
  retentionMs: number;
  retentionBytes: number;
  /** Oldest segments the next retention check would delete, and their bytes. */
  eligibleSegments: number;
  eligibleBytes: number;
}

export interface PartitionReport {
  topic: string;
  partition: number;
  directory: string;
  /** From partition.json; null when missing. */
  topicId: string | null;
  /** False when topics.json does not list the topic (a leftover directory). */
  known: boolean;
  segments: SegmentReport[];
  sizeBytes: number;
  records: number;
  logStartOffset: bigint;
  logEndOffset: bigint;
  /** Below it every segment is flushed and sealed (checkpoint.json; 0 when missing). */
  recoveryPoint: bigint;
  /** The partition must recover on its next open (the broker crashed, or is running since a crash). */
  recoveryNeeded: boolean;
  retention: RetentionReport;
  /** Files the engine does not know about (left alone). */
  otherFiles: string[];
}

export interface DataDirReport {
  dataDir: string;
  clusterId: string | null;
  nodeId: number | null;
  /** The clean-shutdown marker is there: the broker is stopped and closed cleanly. */
  cleanShutdown: boolean;
  topics: Array<{ name: string; topicId: string; partitions: number; configs: Record<string, string>; sizeBytes: number; records: number }>;
  partitions: PartitionReport[];
  totals: { partitions: number; segments: number; sizeBytes: number; records: number; batches: number };
  codecs: Record<string, number>;
  /** Entries of the data directory that are neither metadata nor partition directories. */
  otherEntries: string[];
}

export interface InspectOptions {
  /** Only this topic, or `<topic>-<partition>`. */
  filter?: string;
  verifyCrc?: boolean;
  /** "Now" for retention (default Date.now()). */
  nowMs?: number;
}

/** Thrown when the directory is not a Tributary data directory or the filter matches nothing. */
export class InspectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InspectError';
  }
}

const WINDOW = 1 << 20;

/** What the `.log` file alone tells about a segment. */
export type SegmentLogReport = Omit<SegmentReport, 'baseOffset' | 'file' | 'index' | 'timeIndex' | 'modifiedMs' | 'sealed'>;

/** Walks the batch headers of one `.log` (read-only), up to `size` bytes. */
export async function inspectSegmentLog(path: string, size: number, options: { verifyCrc?: boolean } = {}): Promise<SegmentLogReport> {
  const report: SegmentLogReport = {
    sizeBytes: size,
    batches: 0,
    records: 0,
    firstOffset: null,
    lastOffset: null,
    firstTimestamp: null,
    lastTimestamp: null,
    codecs: {},
    tail: { outcome: 'end', validBytes: 0, reason: '' },
    crcErrors: 0,
  };
  const handle = await open(path, 'r');
  try {
    let window: Buffer = Buffer.alloc(0);
    let windowStart = 0;
    let position = 0;
    const tail = (outcome: TailReport['outcome'], reason: string) => {
      report.tail = { outcome, validBytes: position, reason };
    };
    while (position < size) {
      if (size - position < BATCH_HEADER_SIZE) {
        tail('torn', `${size - position} bytes after the last whole batch`);
        return report;
      }
      let at = position - windowStart;
      if (at < 0 || at + BATCH_HEADER_SIZE > window.length) {
        window = await readAt(handle, position, Math.min(WINDOW, size - position));
        windowStart = position;
        at = 0;
        if (window.length < BATCH_HEADER_SIZE) {
          tail('torn', 'the file is shorter than it was when listed');
          return report;
        }
      }
      const batchSize = window.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD;
      const magic = window.readInt8(at + Offsets.magic);
      const lastOffsetDelta = window.readInt32BE(at + Offsets.lastOffsetDelta);
      if (magic !== CURRENT_MAGIC || batchSize < BATCH_HEADER_SIZE || lastOffsetDelta < 0) {
        tail('corrupt', `no valid batch header at byte ${position}`);
        return report;
      }
      if (batchSize > size - position) {
        tail('torn', `the batch at byte ${position} needs ${batchSize} bytes, ${size - position} are there`);
        return report;
      }
      const baseOffset = window.readBigInt64BE(at + Offsets.baseOffset);
      const attributes = window.readInt16BE(at + Offsets.attributes);
      const baseTimestamp = window.readBigInt64BE(at + Offsets.baseTimestamp);
      const maxTimestamp = window.readBigInt64BE(at + Offsets.maxTimestamp);
      const recordCount = window.readInt32BE(at + Offsets.recordCount);
      if (options.verifyCrc === true) {
        let batch: Buffer;
        let batchAt: number;
        if (at + batchSize <= window.length) {
          batch = window;
          batchAt = at;
        } else {
          batch = await readAt(handle, position, batchSize);
          batchAt = 0;
        }
        if (batch.length - batchAt < batchSize || !batchCrcMatches(batch, batchAt, batchSize)) report.crcErrors++;
      }
      report.batches++;
      report.records += Math.max(recordCount, 0);
      report.firstOffset ??= baseOffset;
      report.lastOffset = baseOffset + BigInt(lastOffsetDelta);
      if (baseTimestamp >= 0n && (report.firstTimestamp === null || baseTimestamp < report.firstTimestamp)) report.firstTimestamp = baseTimestamp;
      if (maxTimestamp >= 0n && (report.lastTimestamp === null || maxTimestamp > report.lastTimestamp)) report.lastTimestamp = maxTimestamp;
      const codec = codecName(compressionOf(attributes));
      report.codecs[codec] = (report.codecs[codec] ?? 0) + 1;
      position += batchSize;
    }
    tail('end', '');
    return report;
  } finally {
    await handle.close();
  }
}

async function readIfPresent(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  const bytes = await readIfPresent(path);
  if (bytes === null) return null;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function bigintOf(value: unknown, fallback: bigint): bigint {
  try {
    return value === undefined || value === null ? fallback : BigInt(String(value));
  } catch {
    return fallback;
  }
}

async function inspectPartition(
  directory: string,
  topic: string,
  partition: number,
  record: TopicRecord | undefined,
  options: InspectOptions,
): Promise<PartitionReport> {
  const names = (await readdir(directory)).sort();
  const logs: Array<{ base: bigint; name: string }> = [];
  const otherFiles: string[] = [];
  const known = new Set([CHECKPOINT_FILE, RECOVERY_FLAG_FILE, PRODUCER_SNAPSHOT_FILE, PARTITION_METADATA_FILE]);
  for (const name of names) {
    const match = /^(\d{20})(\.log|\.index|\.timeindex)$/.exec(name);
    if (match !== null) {
      if (match[2] === LOG_SUFFIX) logs.push({ base: BigInt(match[1]!), name });
    } else if (!known.has(name)) {
      otherFiles.push(name);
    }
  }
  logs.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));

  const segments: SegmentReport[] = [];
  for (const { base, name } of logs) {
    const path = join(directory, name);
    const info = await stat(path);
    const walked = await inspectSegmentLog(path, info.size, options);
    const stem = name.slice(0, -LOG_SUFFIX.length);
    const indexBytes = await readIfPresent(join(directory, stem + INDEX_SUFFIX));
    const timeIndexBytes = await readIfPresent(join(directory, stem + TIME_INDEX_SUFFIX));
    const offsetIndex = indexBytes === null ? null : OffsetIndex.fromFile(indexBytes, info.size);
    const timeIndex = timeIndexBytes === null ? null : TimeIndex.fromFile(timeIndexBytes);
    segments.push({
      baseOffset: base,
      file: name,
      ...walked,
      index: indexBytes === null ? null : { bytes: indexBytes.length, entries: offsetIndex?.entryCount ?? 0, consistent: offsetIndex !== null },
      timeIndex: timeIndexBytes === null ? null : { bytes: timeIndexBytes.length, entries: timeIndex?.entryCount ?? 0, consistent: timeIndex !== null },
      modifiedMs: info.mtimeMs,
      sealed: false, // known once every segment is listed
    });
  }

  const checkpoint = await readJson(join(directory, CHECKPOINT_FILE));
  const metadata = await readJson(join(directory, PARTITION_METADATA_FILE));
  const firstBase = segments[0]?.baseOffset ?? 0n;
  const storedStart = bigintOf(checkpoint?.logStartOffset, 0n);
  const recoveryPoint = bigintOf(checkpoint?.recoveryPoint, 0n);
  for (let i = 0; i + 1 < segments.length; i++) segments[i]!.sealed = segments[i + 1]!.baseOffset <= recoveryPoint;
  const last = segments[segments.length - 1];
  const logEndOffset = last === undefined ? storedStart : last.lastOffset !== null ? last.lastOffset + 1n : last.baseOffset;
  const logStartOffset = storedStart > firstBase ? storedStart : firstBase;

  const overrides = record?.configs ?? {};
  const config = logConfigOf(overrides);
  const applies = (overrides['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim()).includes('delete');
  let eligibleSegments = 0;
  let eligibleBytes = 0;
  if (applies) {
    // The same rule the engines apply (storage/retention.ts); a segment without timestamps counts
    // by its file's modification time, as the engine does.
    eligibleSegments = await segmentsPastRetention(
      segments.map((segment) => ({ size: segment.sizeBytes, segment })),
      config,
      options.nowMs ?? Date.now(),
      ({ segment }) => (segment.lastTimestamp !== null ? Number(segment.lastTimestamp) : segment.modifiedMs),
    );
    for (const segment of segments.slice(0, eligibleSegments)) eligibleBytes += segment.sizeBytes;
  }

  return {
    topic,
    partition,
    directory,
    topicId: typeof metadata?.topicId === 'string' ? metadata.topicId : null,
    known: record !== undefined,
    segments,
    sizeBytes: segments.reduce((sum, s) => sum + s.sizeBytes, 0),
    records: segments.reduce((sum, s) => sum + s.records, 0),
    logStartOffset,
    logEndOffset,
    recoveryPoint,
    recoveryNeeded: names.includes(RECOVERY_FLAG_FILE),
    retention: { applies, retentionMs: config.retentionMs, retentionBytes: config.retentionBytes, eligibleSegments, eligibleBytes },
    otherFiles,
  };
}

/** Inspects a data directory without changing anything in it. */
export async function inspectDataDir(dataDir: string, options: InspectOptions = {}): Promise<DataDirReport> {
  const root = resolve(dataDir);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if (isNotFound(error)) throw new InspectError(`${root} does not exist; give the broker's data directory with --data-dir`);
    throw error;
  }
  const cluster = await readJson(join(root, CLUSTER_FILE));
  const topicsFile = await readJson(join(root, TOPICS_FILE));
  if (cluster === null && topicsFile === null) {
    throw new InspectError(`${root} is not a Tributary data directory (no ${CLUSTER_FILE} or ${TOPICS_FILE}); give the broker's --data-dir`);
  }
  const topicRecords = Array.isArray(topicsFile?.topics) ? (topicsFile.topics as TopicRecord[]) : [];
  const byName = new Map(topicRecords.map((topic) => [topic.name, topic]));

  // `<topic>-<partition>`: the partition is after the last '-', as topic names may contain '-'.
  const directories: Array<{ name: string; topic: string; partition: number }> = [];
  const otherEntries: string[] = [];
  for (const entry of entries) {
    const match = entry.isDirectory() ? /^(.+)-(\d+)$/.exec(entry.name) : null;
    if (match !== null) directories.push({ name: entry.name, topic: match[1]!, partition: Number(match[2]) });
    else if (![CLUSTER_FILE, TOPICS_FILE, CLEAN_SHUTDOWN_FILE].includes(entry.name)) otherEntries.push(entry.name);
  }

  let selected = directories;
  if (options.filter !== undefined) {
    const filter = options.filter;
    selected = directories.filter((d) => d.topic === filter);
    if (selected.length === 0) selected = directories.filter((d) => d.name === filter);
    if (selected.length === 0) {
      throw new InspectError(`no topic or partition '${filter}' in ${root}; run without a filter to list them`);
    }
  }
  selected.sort(byTopicPartition);

  const partitions: PartitionReport[] = [];
  for (const directory of selected) {
    partitions.push(await inspectPartition(join(root, directory.name), directory.topic, directory.partition, byName.get(directory.topic), options));
  }

  const codecs: Record<string, number> = {};
  let batches = 0;
  for (const partition of partitions) {
    for (const segment of partition.segments) {
      batches += segment.batches;
      for (const [codec, count] of Object.entries(segment.codecs)) codecs[codec] = (codecs[codec] ?? 0) + count;
    }
  }
  const topicNames = [...new Set(partitions.map((p) => p.topic))].sort();
  return {
    dataDir: root,
    clusterId: typeof cluster?.clusterId === 'string' ? cluster.clusterId : null,
    nodeId: typeof cluster?.nodeId === 'number' ? cluster.nodeId : null,
    cleanShutdown: await pathExists(join(root, CLEAN_SHUTDOWN_FILE)),
    topics: topicNames.map((name) => {
      const own = partitions.filter((p) => p.topic === name);
      const record = byName.get(name);
      return {
        name,
        topicId: record?.topicId ?? own[0]?.topicId ?? '',
        partitions: record?.partitionCount ?? own.length,
        configs: record?.configs ?? {},
        sizeBytes: own.reduce((sum, p) => sum + p.sizeBytes, 0),
        records: own.reduce((sum, p) => sum + p.records, 0),
      };
    }),
    partitions,
    totals: {
      partitions: partitions.length,
      segments: partitions.reduce((sum, p) => sum + p.segments.length, 0),
      sizeBytes: partitions.reduce((sum, p) => sum + p.sizeBytes, 0),
      records: partitions.reduce((sum, p) => sum + p.records, 0),
      batches,
    },
    codecs,
    otherEntries: otherEntries.sort(),
  };
}
