/**
 * A consumer of explicitly assigned partitions: start positions from ListOffsets (earliest, latest,
 * an offset, a timestamp), then Fetch rounds to every partition leader at once. Group membership
 * (who gets which partitions, committed offsets) is the GroupMember's job; the consumer only reads.
 *
 * A fetch answers whole batches from the batch containing the fetch offset, so the first records of
 * a batch may lie before the position (a compressed batch cannot be cut); they are skipped. Control
 * batches (transaction markers) carry no user records and are skipped too. Records are read
 * uncommitted: Tributary has no transactions; against Apache Kafka records of aborted transactions
 * would be shown, as kafka-console-consumer does by default.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { isControl } from '../protocol/records/record-batch.js';
import { decodeRecordBatches, type RecordHeader } from '../protocol/records/records.js';
import { Api } from './apis.js';
import type { KafkaClient } from './client.js';
import { KafkaError, isRetriableError } from './errors.js';
import { listOffsets, OffsetSpec } from './admin.js';

export type StartPosition =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: bigint }
  /** `count` records before the end (kcat's -o -N). */
  | { kind: 'fromEnd'; count: bigint }
  | { kind: 'timestamp'; timestamp: bigint };

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface PartitionAssignment {
  topic: string;
  partition: number;
  start: StartPosition;
}

export interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the next record to return. */
  position: bigint;
  /** From the last fetch (or ListOffsets at assignment); null until known. */
  highWatermark: bigint | null;
  logStartOffset: bigint;
  /** Bytes asked for this partition per fetch; doubled when one batch does not fit. */
  maxBytes: number;
}

export interface ConsumerOptions {
  /** Longest a fetch waits for data at the broker (default 500 ms). */
  maxWaitMs?: number;
  /** Bytes per fetch response (default 50 MiB) and per partition (default 1 MiB). */
  maxBytes?: number;
  partitionMaxBytes?: number;
}

const key = (topic: string, partition: number) => `${partition}:${topic}`;

export class Consumer {
  private readonly client: KafkaClient;
  private readonly maxWaitMs: number;
  private readonly maxBytes: number;
  private readonly partitionMaxBytes: number;
  private readonly partitions = new Map<string, PartitionPosition>();

  constructor(client: KafkaClient, options: ConsumerOptions = {}) {
    this.client = client;
    this.maxWaitMs = options.maxWaitMs ?? 500;
    this.maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
    this.partitionMaxBytes = options.partitionMaxBytes ?? 1024 * 1024;
  }

  /** The assigned partitions and their positions. */
  get assignment(): PartitionPosition[] {
    return [...this.partitions.values()];
  }

  /**
   * Replaces the assignment and resolves every start position: earliest/latest/by timestamp with
   * ListOffsets; an explicit offset is kept as given (clamped into the log when it is outside).
   * A timestamp after the last record starts at the end.
   */
  async assign(assignments: PartitionAssignment[]): Promise<void> {
    this.partitions.clear();
    if (assignments.length === 0) return;
    const ends = await listOffsets(
      this.client,
      assignments.flatMap((a) => [
        { topic: a.topic, partition: a.partition, timestamp: OffsetSpec.earliest },
        { topic: a.topic, partition: a.partition, timestamp: OffsetSpec.latest },
      ]),
    );
    const byTime = await listOffsets(
      this.client,
      assignments.flatMap((a) => (a.start.kind === 'timestamp' ? [{ topic: a.topic, partition: a.partition, timestamp: a.start.timestamp }] : [])),
    );
    for (const assignment of assignments) {
      const { topic, partition, start } = assignment;
      const earliest = ends.get(topic, partition, OffsetSpec.earliest)!.offset;
      const latest = ends.get(topic, partition, OffsetSpec.latest)!.offset;
      let position: bigint;
      switch (start.kind) {
        case 'earliest':
          position = earliest;
          break;
        case 'latest':
          position = latest;
          break;
        case 'offset':
          position = start.offset < earliest ? earliest : start.offset > latest ? latest : start.offset;
          break;
        case 'fromEnd':
          position = latest - start.count < earliest ? earliest : latest - start.count;
          break;
        case 'timestamp': {
          const found = byTime.get(topic, partition, start.timestamp)!.offset;
          position = found < 0n ? latest : found;
          break;
        }
      }
      this.partitions.set(key(topic, partition), {
        topic,
        partition,
        position,
        highWatermark: latest,
        logStartOffset: earliest,
        maxBytes: this.partitionMaxBytes,
      });
    }
  }

  position(topic: string, partition: number): bigint | undefined {
    return this.partitions.get(key(topic, partition))?.position;
  }

  /** True when every assigned partition's position has reached its high watermark. */
  get atEnd(): boolean {
    for (const state of this.partitions.values()) {
      if (state.highWatermark === null || state.position < state.highWatermark) return false;
    }
    return true;
  }

  /**
   * One fetch round: a Fetch to each leader of the assigned partitions, in parallel. Returns the
   * records at or after each position, in offset order per partition, and advances the positions.
   * Retriable partition errors refresh metadata and are retried by the next round.
   */
  async poll(): Promise<ConsumedRecord[]> {
    if (this.partitions.size === 0) {
      await new Promise((resolve) => setTimeout(resolve, this.maxWaitMs));
      return [];
    }
    const byLeader = new Map<number, PartitionPosition[]>();
    for (const state of this.partitions.values()) {
      const leader = await this.client.leaderOf(state.topic, state.partition);
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), state]);
    }
    const results = await Promise.all(
      [...byLeader].map(([leader, states]) =>
        this.fetchFrom(leader, states).catch((error: unknown) => {
          if (!isRetriableError(error)) throw error;
          for (const state of states) this.client.invalidateTopic(state.topic);
          return [] as ConsumedRecord[];
        }),
      ),
    );
    return results.flat();
  }

  private async fetchFrom(leader: number, states: PartitionPosition[]): Promise<ConsumedRecord[]> {
    const connection = await this.client.brokerConnection(leader, 'fetch');
    const topics = new Map<string, PartitionPosition[]>();
    for (const state of states) topics.set(state.topic, [...(topics.get(state.topic) ?? []), state]);
    const topicIds = new Map<string, string>();
    for (const topic of topics.keys()) topicIds.set(topic, this.client.metadata?.topics.get(topic)?.topicId ?? ZERO_UUID);
    // Fetch v13+ names topics by id; without ids (an old broker's metadata) stay below it.
    const haveIds = [...topicIds.values()].every((id) => id !== ZERO_UUID);
    const { response, version } = await connection.request(
      Api.Fetch,
      (version) => ({
        maxWaitMs: this.maxWaitMs,
        minBytes: 1,
        maxBytes: this.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...topics].map(([topic, list]) => ({
          ...(version >= 13 ? { topicId: topicIds.get(topic)! } : { topic }),
          partitions: list.map((state) => ({ partition: state.partition, fetchOffset: state.position, partitionMaxBytes: state.maxBytes })),
        })),
      }),
      { maxVersion: haveIds ? undefined : 12, timeoutMs: this.client.requestTimeoutMs + this.maxWaitMs },
    );
    if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `fetching from broker ${leader}`);
    const namesById = new Map([...topicIds].map(([name, id]) => [id, name]));
    const records: ConsumedRecord[] = [];
    for (const topicResponse of response.responses) {
      const topic = version >= 13 ? namesById.get(topicResponse.topicId) : topicResponse.topic;
      if (topic === undefined) continue;
      for (const partitionResponse of topicResponse.partitions) {
        const state = this.partitions.get(key(topic, partitionResponse.partitionIndex));
        if (state === undefined) continue;
        await this.handlePartition(state, partitionResponse, records);
      }
    }
    return records;
  }

  private async handlePartition(
    state: PartitionPosition,
    answer: { errorCode: number; highWatermark: bigint; logStartOffset: bigint; records: Buffer | null },
    out: ConsumedRecord[],
  ): Promise<void> {
    const context = `fetching '${state.topic}' partition ${state.partition} at offset ${state.position}`;
    if (answer.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      // Retention removed the position (or it was never there): go to the nearest end, as
      // auto.offset.reset would, earliest when behind the log, latest when ahead.
      const ends = await listOffsets(this.client, [
        { topic: state.topic, partition: state.partition, timestamp: OffsetSpec.earliest },
        { topic: state.topic, partition: state.partition, timestamp: OffsetSpec.latest },
      ]);
      const earliest = ends.get(state.topic, state.partition, OffsetSpec.earliest)!.offset;
      const latest = ends.get(state.topic, state.partition, OffsetSpec.latest)!.offset;
      state.position = state.position < earliest ? earliest : latest;
      state.highWatermark = latest;
      return;
    }
    if (answer.errorCode !== ErrorCode.NONE) {
      const error = new KafkaError(answer.errorCode, context);
      if (!error.retriable) throw error;
      this.client.invalidateTopic(state.topic);
      return;
    }
    state.highWatermark = answer.highWatermark;
    if (answer.logStartOffset >= 0n) state.logStartOffset = answer.logStartOffset;
    const bytes = answer.records;
    if (bytes === null || bytes.length === 0) return;
    const batches = await decodeRecordBatches(bytes);
    if (batches.length === 0) {
      // Only a partial batch came back: the next batch is larger than what was asked for.
      state.maxBytes = Math.min(state.maxBytes * 2, this.maxBytes);
      return;
    }
    for (const { header, records } of batches) {
      const next = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      if (!isControl(header.attributes)) {
        for (const record of records) {
          if (record.offset < state.position) continue;
          out.push({
            topic: state.topic,
            partition: state.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers,
          });
        }
      }
      if (next > state.position) state.position = next;
    }
  }
}
