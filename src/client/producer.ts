/**
 * A producer: records are gathered into one batch per partition, batches are compressed with the
 * chosen codec and sent to the partition leaders, one Produce request per leader carrying a batch for
 * each of its partitions.
 *
 * Ordering: each partition has at most one batch in flight, so a retried batch can never overtake
 * the next one (what Java guarantees with max.in.flight.requests.per.connection=1, or with
 * idempotence). Partitions proceed independently, and requests to different leaders in parallel.
 * While a batch is in flight the next one fills, so a steady stream keeps every partition busy.
 *
 * Retries: a batch that fails with a retriable error (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
 * a lost connection, ...) is sent again, with the same bytes, after the leader is looked up again,
 * a bounded number of times. Without idempotence a retry after a lost response can duplicate the
 * batch (at-least-once, as in every Kafka client); with `idempotent: true` the broker recognises the
 * producer id and sequence numbers and keeps exactly one copy.
 *
 * Backpressure: `send` never blocks, but `bufferedBytes` grows; callers that read a large input
 * wait for `whenReady()` so memory stays bounded.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { CompressionCodec } from '../protocol/records/record-batch.js';
import { encodeRecordBatch, type RecordInput } from '../protocol/records/records.js';
import { Api } from './apis.js';
import { NonRetriable, type KafkaClient } from './client.js';
import { KafkaError, isRetriableError } from './errors.js';
import { StickyPartitions, partitionForKey } from './partitioner.js';

export type Acks = 0 | 1 | -1;

export interface ProducerOptions {
  /** 0: no response; 1: the leader wrote it; -1 (all): every in-sync replica has it (Tributary: fsynced). */
  acks?: Acks;
  /** CompressionCodec id (none, gzip, snappy, lz4, zstd). */
  compression?: number;
  /** Use a producer id and sequence numbers so retries cannot duplicate (needs acks=all). */
  idempotent?: boolean;
  /** How long a batch that is not full waits for more records (default 5 ms). */
  lingerMs?: number;
  /** A batch is closed when its records reach this many bytes (default 256 KiB). */
  batchBytes?: number;
  /** `whenReady` waits while more than this is buffered or in flight (default 32 MiB). */
  maxBufferedBytes?: number;
  /** Let Metadata auto-create unknown topics (when the broker allows it). Default true, as Java's producer. */
  allowAutoTopicCreation?: boolean;
  /** How long the broker may take to replicate/fsync before answering (default 30 s). */
  ackTimeoutMs?: number;
}

export interface ProducerRecord {
  topic: string;
  key?: Buffer | null;
  value: Buffer | null;
  headers?: Array<{ key: string; value: Buffer | null }>;
  /** Fixed partition; otherwise chosen by key (murmur2) or sticky for keyless records. */
  partition?: number;
  /** CreateTime in ms; default now. */
  timestamp?: bigint;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0 (the broker does not say). */
  offset: bigint;
}

interface Delivery {
  resolve: (metadata: RecordMetadata) => void;
  reject: (error: unknown) => void;
}

interface Batch {
  records: RecordInput[];
  deliveries: Delivery[];
  bytes: number;
  createdAt: number;
  /** Encoded once, on first send, and reused by retries (same sequence numbers). */
  encoded: Buffer | null;
  attempts: number;
}

interface PartitionQueue {
  topic: string;
  partition: number;
  batches: Batch[];
  inFlight: boolean;
  /** Next sequence number (idempotent producers). */
  sequence: number;
}

const RECORD_OVERHEAD = 24;

export class Producer {
  private readonly client: KafkaClient;
  private readonly acks: Acks;
  private readonly compression: number;
  private readonly idempotent: boolean;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly allowAutoTopicCreation: boolean;
  private readonly ackTimeoutMs: number;
  private readonly sticky = new StickyPartitions();
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly partitionCounts = new Map<string, Promise<number>>();
  private producerId: Promise<{ id: bigint; epoch: number }> | null = null;
  private buffered = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private flushing = 0;
  private readonly readyWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private failure: unknown = null;

  constructor(client: KafkaClient, options: ProducerOptions = {}) {
    this.client = client;
    this.acks = options.acks ?? -1;
    this.compression = options.compression ?? CompressionCodec.none;
    this.idempotent = options.idempotent ?? false;
    if (this.idempotent && this.acks !== -1) throw new RangeError('an idempotent producer needs acks=all');
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 32 * 1024 * 1024;
    this.allowAutoTopicCreation = options.allowAutoTopicCreation ?? true;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
  }

  /** Bytes of records accepted by `send` and not yet acknowledged. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Resolves once fewer than `maxBufferedBytes` are buffered. */
  whenReady(): Promise<void> {
    if (this.buffered < this.maxBufferedBytes) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** The number of partitions of `topic` (looked up once, auto-creating it when allowed). */
  partitionCount(topic: string): Promise<number> {
    let count = this.partitionCounts.get(topic);
    if (count === undefined) {
      count = this.client.topicMetadata(topic, { allowAutoTopicCreation: this.allowAutoTopicCreation }).then((metadata) => metadata.partitions.length);
      this.partitionCounts.set(topic, count);
      count.catch(() => this.partitionCounts.delete(topic));
    }
    return count;
  }

  /**
   * Queues a record. Resolves with its partition and offset once the broker acknowledged its batch;
   * rejects with the error that made the batch fail.
   */
  async send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.failure !== null) throw this.failure;
    const count = await this.partitionCount(record.topic);
    let partition: number;
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `producing to partition ${record.partition} of '${record.topic}'`,
          `topic '${record.topic}' has ${count} partition${count === 1 ? '' : 's'} (0-${count - 1})`,
        );
      }
      partition = record.partition;
    } else if (record.key !== undefined && record.key !== null) {
      partition = partitionForKey(record.key, count);
    } else {
      partition = this.sticky.partition(record.topic, count);
    }
    const size = recordSize(record);
    const queue = this.queueOf(record.topic, partition);
    let batch = queue.batches[queue.batches.length - 1];
    if (batch === undefined || batch.encoded !== null || (batch.bytes > 0 && batch.bytes + size > this.batchBytes)) {
      if (batch !== undefined && batch.encoded === null && record.key == null && record.partition === undefined) {
        this.sticky.next(record.topic, partition, count);
      }
      batch = { records: [], deliveries: [], bytes: 0, createdAt: Date.now(), encoded: null, attempts: 0 };
      queue.batches.push(batch);
    }
    this.buffered += size;
    const delivered = new Promise<RecordMetadata>((resolve, reject) => batch.deliveries.push({ resolve, reject }));
    batch.records.push({
      key: record.key ?? null,
      value: record.value,
      headers: record.headers ?? [],
      timestamp: record.timestamp ?? BigInt(Date.now()),
    });
    batch.bytes += size;
    if (batch.bytes >= this.batchBytes || queue.batches.length > 1) this.schedule(0);
    else this.schedule(this.lingerMs);
    return delivered;
  }

  /** Sends everything queued and resolves once every batch was answered (or failed). */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      this.drain();
      if (this.buffered === 0) return;
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    } finally {
      this.flushing--;
    }
  }

  /** Flushes; the client stays open (its owner closes it). */
  async close(): Promise<void> {
    await this.flush();
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
  }

  private queueOf(topic: string, partition: number): PartitionQueue {
    const key = `${partition}:${topic}`;
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { topic, partition, batches: [], inFlight: false, sequence: 0 };
      this.queues.set(key, queue);
    }
    return queue;
  }

  private schedule(delayMs: number): void {
    if (delayMs === 0) {
      if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
      setImmediate(() => this.drain());
      return;
    }
    if (this.lingerTimer !== null) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.drain();
    }, delayMs);
  }

  /** Sends the first batch of every partition that has nothing in flight and a batch ready. */
  private drain(): void {
    const now = Date.now();
    const ready: PartitionQueue[] = [];
    let waitingFor = Number.POSITIVE_INFINITY;
    for (const queue of this.queues.values()) {
      const batch = queue.batches[0];
      if (queue.inFlight || batch === undefined) continue;
      const full = batch.bytes >= this.batchBytes || queue.batches.length > 1;
      const lingered = now - batch.createdAt >= this.lingerMs;
      if (full || lingered || this.flushing > 0) ready.push(queue);
      else waitingFor = Math.min(waitingFor, batch.createdAt + this.lingerMs - now);
    }
    if (waitingFor !== Number.POSITIVE_INFINITY) this.schedule(Math.max(1, waitingFor));
    if (ready.length === 0) return;
    for (const queue of ready) queue.inFlight = true;
    void this.sendBatches(ready);
  }

  private async sendBatches(queues: PartitionQueue[]): Promise<void> {
    // Group by leader; a partition whose leader cannot be found fails its batch.
    const byLeader = new Map<number, PartitionQueue[]>();
    await Promise.all(
      queues.map(async (queue) => {
        try {
          const leader = await this.client.leaderOf(queue.topic, queue.partition);
          const list = byLeader.get(leader) ?? [];
          list.push(queue);
          byLeader.set(leader, list);
        } catch (error) {
          this.batchFailed(queue, error);
        }
      }),
    );
    await Promise.all([...byLeader].map(([leader, list]) => this.produceTo(leader, list)));
  }

  private async produceTo(leader: number, queues: PartitionQueue[]): Promise<void> {
    let response;
    try {
      for (const queue of queues) await this.encode(queue);
      const connection = await this.client.brokerConnection(leader);
      const byTopic = new Map<string, PartitionQueue[]>();
      for (const queue of queues) byTopic.set(queue.topic, [...(byTopic.get(queue.topic) ?? []), queue]);
      ({ response } = await connection.request(
        Api.Produce,
        () => ({
          transactionalId: null,
          acks: this.acks,
          timeoutMs: this.ackTimeoutMs,
          topicData: [...byTopic].map(([name, list]) => ({
            name,
            partitionData: list.map((queue) => ({ index: queue.partition, records: queue.batches[0]!.encoded })),
          })),
        }),
        { expectResponse: this.acks !== 0, timeoutMs: this.client.requestTimeoutMs + this.ackTimeoutMs },
      ));
    } catch (error) {
      for (const queue of queues) this.batchFailed(queue, error);
      return;
    }
    if (this.acks === 0) {
      for (const queue of queues) this.batchDone(queue, -1n);
      return;
    }
    for (const queue of queues) {
      const answer = response.responses.find((topic) => topic.name === queue.topic)?.partitionResponses.find((p) => p.index === queue.partition);
      if (answer === undefined) {
        this.batchFailed(queue, new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `producing to '${queue.topic}' partition ${queue.partition}`, 'no answer for this partition'));
      } else if (answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        this.batchDone(queue, answer.errorCode === ErrorCode.NONE ? answer.baseOffset : -1n);
      } else {
        const detail = answer.errorMessage ?? answer.recordErrors[0]?.batchIndexErrorMessage ?? null;
        this.batchFailed(queue, new KafkaError(answer.errorCode, `producing to '${queue.topic}' partition ${queue.partition}`, detail));
      }
    }
  }

  private async encode(queue: PartitionQueue): Promise<void> {
    const batch = queue.batches[0]!;
    if (batch.encoded !== null) return;
    let identity: { producerId?: bigint; producerEpoch?: number; baseSequence?: number } = {};
    if (this.idempotent) {
      const { id, epoch } = await this.initProducerId();
      identity = { producerId: id, producerEpoch: epoch, baseSequence: queue.sequence };
      queue.sequence = (queue.sequence + batch.records.length) % 0x80000000;
    }
    batch.encoded = await encodeRecordBatch(batch.records, { compression: this.compression, ...identity });
  }

  private initProducerId(): Promise<{ id: bigint; epoch: number }> {
    this.producerId ??= this.client.retry('getting a producer id', async () => {
      const connection = await this.client.anyConnection();
      const { response } = await connection.request(Api.InitProducerId, () => ({ transactionalId: null, transactionTimeoutMs: 60_000 }));
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, 'getting a producer id for idempotence');
      return { id: response.producerId, epoch: response.producerEpoch };
    });
    return this.producerId;
  }

  private batchDone(queue: PartitionQueue, baseOffset: bigint): void {
    const batch = queue.batches.shift()!;
    batch.deliveries.forEach((delivery, index) =>
      delivery.resolve({ topic: queue.topic, partition: queue.partition, offset: baseOffset < 0n ? -1n : baseOffset + BigInt(index) }),
    );
    this.release(queue, batch);
  }

  private batchFailed(queue: PartitionQueue, error: unknown): void {
    const batch = queue.batches[0]!;
    batch.attempts++;
    const retriable = isRetriable(error) && batch.attempts <= 8 && Date.now() - batch.createdAt < this.client.requestTimeoutMs * 2;
    if (retriable) {
      this.client.invalidateTopic(queue.topic);
      const backoff = Math.min(100 * 2 ** (batch.attempts - 1), 1000);
      setTimeout(() => {
        queue.inFlight = false;
        this.drain();
      }, backoff);
      return;
    }
    queue.batches.shift();
    for (const delivery of batch.deliveries) delivery.reject(error instanceof NonRetriable ? error.error : error);
    this.release(queue, batch);
  }

  private release(queue: PartitionQueue, batch: Batch): void {
    queue.inFlight = false;
    this.buffered -= batch.bytes;
    while (this.buffered < this.maxBufferedBytes && this.readyWaiters.length > 0) this.readyWaiters.shift()!();
    if (this.buffered === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    if (queue.batches.length > 0) this.drain();
  }
}

function isRetriable(error: unknown): boolean {
  if (error instanceof NonRetriable) return false;
  if (error instanceof KafkaError) {
    // A topic that is not there will not appear by retrying a produce to it.
    return error.retriable && error.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && error.errorCode !== ErrorCode.CORRUPT_MESSAGE;
  }
  return isRetriableError(error);
}

function recordSize(record: ProducerRecord): number {
  let size = RECORD_OVERHEAD + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers ?? []) size += header.key.length + (header.value?.length ?? 0) + 4;
  return size;
}
