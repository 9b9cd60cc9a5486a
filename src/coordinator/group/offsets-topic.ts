/**
 * `__consumer_offsets`, the internal log where the group coordinator keeps committed offsets and
 * group metadata (record formats in offsets-records.ts).
 *
 * - Created on first need (the first FindCoordinator or write), as Kafka does, with
 *   cleanup.policy=compact. Its partition count comes from the broker setting
 *   `offsetsTopicPartitions` (Kafka's offsets.topic.num.partitions, default 50; Tributary's default
 *   is 1, which suits a single node); once the topic exists, its actual partition count rules.
 * - A group lives in partition `abs(javaHashCode(groupId)) % partitions`, like Kafka, so all records
 *   of one group are in one partition, in order.
 * - The log cleaner (Cluster.compactLogs) keeps the latest record of each key — one per (group,
 *   topic, partition) committed offset and one per group's metadata — and drops tombstones
 *   delete.retention.ms after it first saw them, so start-up replays little more than the live
 *   state. retention.ms and retention.bytes are -1 as well: a committed offset never disappears
 *   because of time, only a tombstone removes it. Replay steps over the offset gaps compaction leaves.
 * - Writes are durable (acks=all: fsynced before they resolve). Appends are handed to the partition
 *   log synchronously, in call order, so the log order is the order the coordinator decided things;
 *   only the very first writes, which wait for the topic to be created, are queued (still in order).
 */
import type { Cluster, Topic } from '../../cluster/cluster.js';
import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { readBatchHeader } from '../../protocol/records/record-batch.js';
import { buildRecordBatch, decodeRecordBatches } from '../../protocol/records/records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Topic configs Kafka gives __consumer_offsets (offsets.topic.segment.bytes = 100 MiB), plus no time/size retention. */
export const OFFSETS_TOPIC_CONFIGS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'segment.bytes': String(100 * 1024 * 1024),
  'retention.ms': '-1',
  'retention.bytes': '-1',
};

/** Bytes read per step when replaying the log at start-up (Kafka's offsets.load.buffer.size). */
const LOAD_BUFFER_BYTES = 5 * 1024 * 1024;

export interface OffsetsRecord {
  key: Buffer;
  /** null writes a tombstone. */
  value: Buffer | null;
}

export type OffsetsAppendOutcome = { errorCode: typeof ErrorCode.NONE; baseOffset: bigint } | { errorCode: number; message: string };

export interface ReplayedRecord {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
}

/** Java's String.hashCode over UTF-16 code units, which Kafka uses to place a group. */
export function javaStringHashCode(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(31, hash) + value.charCodeAt(i)) | 0;
  return hash;
}

/** Kafka's Utils.abs: Math.abs, except that Integer.MIN_VALUE maps to 0. */
function kafkaAbs(value: number): number {
  return value === -2147483648 ? 0 : Math.abs(value);
}

export class OffsetsTopic {
  private readonly cluster: Cluster;
  private readonly configuredPartitions: number;
  private readonly logger: Logger;
  private creation: Promise<Topic> | null = null;
  /** Appends waiting for the topic's creation, chained so they reach the log in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;

  constructor(cluster: Cluster, configuredPartitions: number, logger: Logger) {
    this.cluster = cluster;
    this.configuredPartitions = configuredPartitions;
    this.logger = logger;
  }

  get topic(): Topic | undefined {
    return this.cluster.topic(OFFSETS_TOPIC);
  }

  get partitionCount(): number {
    return this.topic?.partitions.length ?? this.configuredPartitions;
  }

  partitionFor(groupId: string): number {
    return kafkaAbs(javaStringHashCode(groupId)) % this.partitionCount;
  }

  /** The topic, created (once) if it does not exist yet. */
  ensure(): Promise<Topic> {
    const existing = this.topic;
    if (existing !== undefined) return Promise.resolve(existing);
    this.creation ??= this.cluster
      .createTopic(OFFSETS_TOPIC, this.configuredPartitions, { ...OFFSETS_TOPIC_CONFIGS }, true)
      .then(
        (topic) => {
          this.logger.info({ topic: OFFSETS_TOPIC, partitions: topic.partitions.length }, 'created the group offsets topic');
          return topic;
        },
        (error: unknown) => {
          // Lost a race with another creation? Then it exists now; otherwise let a later call retry.
          const raced = this.topic;
          this.creation = null;
          if (raced !== undefined) return raced;
          throw error;
        },
      );
    return this.creation;
  }

  /**
   * Writes `records` (one group's) as one batch to the group's partition, durably. Resolves with the
   * batch's base offset (record i has baseOffset + i) or the error to report: NOT_COORDINATOR when
   * the log failed (Kafka's mapping of KAFKA_STORAGE_ERROR for coordinator writes), else
   * COORDINATOR_NOT_AVAILABLE. Never rejects.
   */
  append(groupId: string, records: readonly OffsetsRecord[]): Promise<OffsetsAppendOutcome> {
    const topic = this.topic;
    if (topic !== undefined && this.queued === 0) return this.appendTo(topic, groupId, records);
    this.queued++;
    const outcome = this.queue
      .then(() => this.ensure())
      .then(
        (created) => this.appendTo(created, groupId, records),
        (error: unknown): OffsetsAppendOutcome => ({
          errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
          message: `cannot create ${OFFSETS_TOPIC}: ${String(error)}`,
        }),
      )
      .finally(() => this.queued--);
    this.queue = outcome;
    return outcome;
  }

  private appendTo(topic: Topic, groupId: string, records: readonly OffsetsRecord[]): Promise<OffsetsAppendOutcome> {
    const partition = topic.partitions[kafkaAbs(javaStringHashCode(groupId)) % topic.partitions.length]!;
    let batch: Buffer;
    try {
      batch = buildRecordBatch(records.map((record) => ({ key: record.key, value: record.value })));
    } catch (error) {
      return Promise.resolve({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, message: String(error) });
    }
    let written: ReturnType<typeof partition.append>;
    try {
      written = partition.append(batch, readBatchHeader(batch, 0), true);
    } catch (error) {
      return Promise.resolve({ errorCode: ErrorCode.NOT_COORDINATOR, message: String(error) });
    }
    return written.then(
      (outcome): OffsetsAppendOutcome => {
        if (outcome.errorCode === ErrorCode.NONE && 'result' in outcome) return { errorCode: ErrorCode.NONE, baseOffset: outcome.result.baseOffset };
        const message = 'message' in outcome ? outcome.message : `error ${outcome.errorCode}`;
        this.logger.error({ topic: OFFSETS_TOPIC, partition: partition.index, errorCode: outcome.errorCode, message }, 'group metadata write failed');
        return {
          errorCode: outcome.errorCode === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE,
          message,
        };
      },
      (error: unknown): OffsetsAppendOutcome => ({ errorCode: ErrorCode.NOT_COORDINATOR, message: String(error) }),
    );
  }

  /** Calls `visit` for every record of every partition, each partition from its start, in offset order. */
  async replay(visit: (record: ReplayedRecord) => void): Promise<void> {
    const topic = this.topic;
    if (topic === undefined) return;
    for (const partition of topic.partitions) {
      let offset = partition.logStartOffset;
      const end = partition.highWatermark;
      while (offset < end) {
        const read = await partition.log.read(offset, LOAD_BUFFER_BYTES);
        if (read.records.length === 0) break;
        const batches = await decodeRecordBatches(read.records);
        if (batches.length === 0) break;
        for (const { header, records } of batches) {
          for (const record of records) {
            if (record.offset >= offset) visit({ partition: partition.index, offset: record.offset, key: record.key, value: record.value });
          }
          offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
        }
      }
    }
  }
}
