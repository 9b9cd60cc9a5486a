/**
 * One partition as the broker sees it: its log in the storage engine, the idempotent producers
 * writing to it, and the fetches waiting for it to grow.
 *
 * Ordering invariant: `append` does everything up to handing the batch to the log synchronously, so
 * produce requests pipelined on one connection reach the log in the order they were sent, and the
 * producer-state check of a batch always sees every earlier batch of the same producer. A batch that
 * needs an asynchronous check first (`appendAfterCheck`: the keys of a compressed batch on a
 * compacted topic) holds back every later append to the partition until it has been handed over,
 * so the order is kept then too.
 *
 * Producer state survives restarts: `open` restores the last snapshot and replays the batches
 * written after it. A snapshot only describes batches already on stable storage (below the log's
 * durable offset), so a power loss can never leave it ahead of the log; it is taken on clean close
 * and, at most every SNAPSHOT_INTERVAL_BYTES of appends, whenever the durable offset has moved
 * (acks=all appends move it continuously, acks=1 traffic at each segment roll — where Kafka takes
 * its snapshots). Taking one never forces an fsync.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { completeBatchSize, isLogAppendTime, readBatchHeader, type RecordBatchHeader } from '../protocol/records/record-batch.js';
import type { AppendResult, LogConfig, PartitionLog } from '../storage/engine.js';
import type { Logger } from '../logger.js';
import { ProducerStateTable } from './producer-state.js';

export type AppendOutcome =
  | { errorCode: typeof ErrorCode.NONE; result: AppendResult }
  | { errorCode: number; message: string };

/** Appended bytes between two producer-state snapshots. */
export const SNAPSHOT_INTERVAL_BYTES = 64 * 1024 * 1024;
/** Log bytes read at a time while replaying producer state. */
const REPLAY_READ_BYTES = 1024 * 1024;

export class Partition {
  readonly topicName: string;
  readonly index: number;
  readonly log: PartitionLog;
  /** A single node never changes leader, so the epoch stays 0 for the partition's life. */
  readonly leaderEpoch = 0;
  private readonly producers = new ProducerStateTable();
  private readonly appendListeners = new Set<() => void>();
  private readonly logger: Logger;
  private bytesSinceSnapshot = 0;
  /** The end offset of the last snapshot written or restored. */
  private snapshotOffset = -1n;
  private snapshotting: Promise<void> | null = null;
  /** Settles when the last append waiting for an asynchronous check has been handed to the log. */
  private orderedTail: Promise<void> | null = null;

  private constructor(topicName: string, index: number, log: PartitionLog, logger: Logger) {
    this.topicName = topicName;
    this.index = index;
    this.log = log;
    this.logger = logger;
  }

  /** Wraps an opened log and restores its producer state. */
  static async open(topicName: string, index: number, log: PartitionLog, logger: Logger): Promise<Partition> {
    const partition = new Partition(topicName, index, log, logger);
    await partition.restoreProducerState();
    return partition;
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
    if (this.orderedTail !== null) return this.appendAfterCheck<AppendOutcome>(Promise.resolve(null), batch, header, durable);
    return this.appendNow(batch, header, durable);
  }

  /**
   * Appends once `check` resolves to null, or answers with what it resolved to instead; appends
   * made after this call wait until this one has been handed to the log (or refused), so call order
   * is kept. A rejected check refuses the batch as CORRUPT_MESSAGE.
   */
  appendAfterCheck<Refusal extends { errorCode: number }>(
    check: Promise<Refusal | null>,
    batch: Buffer,
    header: RecordBatchHeader,
    durable: boolean,
  ): Promise<AppendOutcome | Refusal> {
    const previous = this.orderedTail ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.orderedTail = tail;
    // The outcome is wrapped so that the chain moves on once the append is handed over, not written.
    const handed = previous
      .then(() => check)
      .then(
        (refusal): { outcome: Promise<AppendOutcome | Refusal> } => ({
          outcome: refusal !== null ? Promise.resolve(refusal) : this.appendNow(batch, header, durable),
        }),
        (error: unknown): { outcome: Promise<AppendOutcome> } => ({
          outcome: Promise.resolve({ errorCode: ErrorCode.CORRUPT_MESSAGE, message: `the batch cannot be read: ${String(error)}` }),
        }),
      );
    void handed.then(() => {
      if (this.orderedTail === tail) this.orderedTail = null;
      release();
    });
    return handed.then((step) => step.outcome);
  }

  private appendNow(batch: Buffer, header: RecordBatchHeader, durable: boolean): Promise<AppendOutcome> {
    const idempotent = header.producerId >= 0n;
    if (idempotent) {
      const check = this.producers.check(header);
      if (check.kind === 'error') return Promise.resolve({ errorCode: check.errorCode, message: check.message });
      if (check.kind === 'duplicate') {
        return check.batch.result.then((result) => ({ errorCode: ErrorCode.NONE, result }));
      }
    }
    const size = batch.length;
    const written = this.log.append(batch, { durable, leaderEpoch: this.leaderEpoch });
    if (idempotent) this.producers.record(header, written, Date.now());
    return written.then(
      (result) => {
        this.notifyAppend();
        this.bytesSinceSnapshot += size;
        if (this.bytesSinceSnapshot >= SNAPSHOT_INTERVAL_BYTES && this.log.durableOffset > this.snapshotOffset) {
          void this.snapshotProducerState();
        }
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

  /** Writes a final producer-state snapshot when anything changed, then closes the log. */
  async close(): Promise<void> {
    await this.snapshotting;
    if (this.producers.dirty || this.bytesSinceSnapshot > 0) {
      await this.log.flush();
      await this.snapshotProducerState();
    }
    await this.log.close();
  }

  /** Snapshots the producer state up to the log's durable offset (see the class comment). */
  private snapshotProducerState(): Promise<void> {
    this.snapshotting ??= (async () => {
      try {
        this.bytesSinceSnapshot = 0;
        const endOffset = this.log.durableOffset;
        this.snapshotOffset = endOffset;
        this.producers.expire(Date.now());
        const dirtyBefore = this.producers.dirty;
        this.producers.dirty = false;
        try {
          await this.log.writeProducerSnapshot(this.producers.snapshot(endOffset));
        } catch (error) {
          this.producers.dirty ||= dirtyBefore;
          throw error;
        }
      } catch (error) {
        this.logger.warn({ err: error, topic: this.topicName, partition: this.index }, 'producer state snapshot failed');
      } finally {
        this.snapshotting = null;
      }
    })();
    return this.snapshotting;
  }

  private async restoreProducerState(): Promise<void> {
    const logStart = this.log.logStartOffset;
    const logEnd = this.log.logEndOffset;
    const snapshot = await this.log.readProducerSnapshot();
    let offset = (snapshot === null ? null : this.producers.restore(snapshot, logStart, logEnd)) ?? logStart;
    this.snapshotOffset = offset;
    const nowMs = Date.now();
    let replayed = 0;
    while (offset < logEnd) {
      const { records } = await this.log.read(offset, REPLAY_READ_BYTES);
      if (records.length === 0) break;
      let at = 0;
      for (let size = completeBatchSize(records, at); size > 0; at += size, size = completeBatchSize(records, at)) {
        const header = readBatchHeader(records, at);
        const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
        if (lastOffset < offset) continue;
        offset = lastOffset + 1n;
        if (header.producerId < 0n) continue;
        const logAppendTime = isLogAppendTime(header.attributes) ? header.maxTimestamp : -1n;
        this.producers.replay(header, { baseOffset: header.baseOffset, lastOffset, logAppendTime, logStartOffset: logStart }, nowMs);
        replayed++;
      }
      if (at === 0) break;
    }
    if (replayed > 0) {
      this.logger.info({ topic: this.topicName, partition: this.index, batches: replayed }, 'producer state replayed from the log');
    }
  }
}
