/**
 * One partition as the broker sees it: its log in the storage engine, the idempotent producers
 * writing to it, and the fetches waiting for it to grow.
 *
 * Ordering invariant: `append` does everything up to handing the batch to the log synchronously, so
 * produce requests pipelined on one connection reach the log in the order they arrived, and the
 * producer-state check of a batch always sees every earlier batch of the same producer.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { RecordBatchHeader } from '../protocol/records/record-batch.js';
import type { AppendResult, LogConfig, PartitionLog } from '../storage/engine.js';
import { ProducerStateTable } from './producer-state.js';

export type AppendOutcome =
  | { errorCode: typeof ErrorCode.NONE; result: AppendResult }
  | { errorCode: number; message: string };

export class Partition {
  readonly topicName: string;
  readonly index: number;
  readonly log: PartitionLog;
  /** A single node never changes leader, so the epoch stays 0 for the partition's life. */
  readonly leaderEpoch = 0;
  private readonly producers = new ProducerStateTable();
  private readonly appendListeners = new Set<() => void>();

  constructor(topicName: string, index: number, log: PartitionLog) {
    this.topicName = topicName;
    this.index = index;
    this.log = log;
  }

  get highWatermark(): bigint {
    return this.log.logEndOffset;
  }

  get logStartOffset(): bigint {
    return this.log.logStartOffset;
  }

  /**
   * Appends one validated batch. Synchronous up to the log's own queue (see the class comment); the
   * returned promise settles when the batch is written (or fsynced when `durable`).
   */
  append(batch: Buffer, header: RecordBatchHeader, durable: boolean): Promise<AppendOutcome> {
    const idempotent = header.producerId >= 0n;
    if (idempotent) {
      const check = this.producers.check(header);
      if (check.kind === 'error') return Promise.resolve({ errorCode: check.errorCode, message: check.message });
      if (check.kind === 'duplicate') {
        return check.batch.result.then((result) => ({ errorCode: ErrorCode.NONE, result }));
      }
    }
    const written = this.log.append(batch, { durable, leaderEpoch: this.leaderEpoch });
    if (idempotent) this.producers.record(header, written);
    return written.then(
      (result) => {
        this.notifyAppend();
        return { errorCode: ErrorCode.NONE, result };
      },
      (error: unknown) => ({ errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: `append failed: ${String(error)}` }),
    );
  }

  /** Calls `listener` after each append that moved the high watermark; returns an unsubscribe. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  private notifyAppend(): void {
    for (const listener of [...this.appendListeners]) listener();
  }

  updateConfig(config: LogConfig): void {
    this.log.updateConfig(config);
  }

  /** Wakes waiting fetches so they answer now, for example when the topic is deleted. */
  wakeWaiters(): void {
    this.notifyAppend();
  }
}
