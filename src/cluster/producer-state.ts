/**
 * Idempotent-producer bookkeeping for one partition, following Kafka's ProducerStateManager:
 * for each producer id the current epoch and the sequence ranges of its last five batches, so a
 * retried batch is acknowledged again with its original offsets instead of being written twice,
 * a gap in sequences is refused (OUT_OF_ORDER_SEQUENCE_NUMBER) and a fenced epoch is refused
 * (INVALID_PRODUCER_EPOCH).
 *
 * The state lives in memory. A producer the table does not know (new, or forgotten across a broker
 * restart) is accepted at any sequence, which is what Kafka does when a producer's state is gone.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { RecordBatchHeader } from '../protocol/records/record-batch.js';
import type { AppendResult } from '../storage/engine.js';

/** Kafka keeps this many recent batches per producer for duplicate detection. */
export const PRODUCER_BATCH_CACHE = 5;

const INT32_MAX = 2 ** 31 - 1;

export interface CachedBatch {
  firstSequence: number;
  lastSequence: number;
  /** Resolves with the batch's offsets once it is written. */
  result: Promise<AppendResult>;
}

interface ProducerEntry {
  epoch: number;
  batches: CachedBatch[];
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: CachedBatch }
  | { kind: 'error'; errorCode: number; message: string };

/** The sequence of the last record of a batch, wrapping past Int32.MAX as Kafka's producers do. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > INT32_MAX - lastOffsetDelta
    ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1
    : baseSequence + lastOffsetDelta;
}

function follows(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === (lastSequence === INT32_MAX ? 0 : lastSequence + 1);
}

export class ProducerStateTable {
  private readonly producers = new Map<bigint, ProducerEntry>();

  /** Decides what to do with a batch from an idempotent producer (producerId >= 0). */
  check(header: RecordBatchHeader): SequenceCheck {
    const entry = this.producers.get(header.producerId);
    if (entry === undefined) return { kind: 'append' };
    const firstSequence = header.baseSequence;
    const lastSequence = lastSequenceOf(firstSequence, header.lastOffsetDelta);
    if (header.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${header.producerId} epoch ${header.producerEpoch} is older than the current epoch ${entry.epoch}`,
      };
    }
    if (header.producerEpoch > entry.epoch) {
      if (firstSequence !== 0) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `producer ${header.producerId} started epoch ${header.producerEpoch} at sequence ${firstSequence}, expected 0`,
        };
      }
      return { kind: 'append' };
    }
    const duplicate = entry.batches.find((batch) => batch.firstSequence === firstSequence && batch.lastSequence === lastSequence);
    if (duplicate !== undefined) return { kind: 'duplicate', batch: duplicate };
    const last = entry.batches[entry.batches.length - 1];
    if (last !== undefined && !follows(last.lastSequence, firstSequence)) {
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${header.producerId} sent sequence ${firstSequence} after ${last.lastSequence}`,
      };
    }
    return { kind: 'append' };
  }

  /** Records a batch that `check` accepted and that is now being appended. */
  record(header: RecordBatchHeader, result: Promise<AppendResult>): void {
    let entry = this.producers.get(header.producerId);
    if (entry === undefined || header.producerEpoch !== entry.epoch) {
      entry = { epoch: header.producerEpoch, batches: [] };
      this.producers.set(header.producerId, entry);
    }
    const batch: CachedBatch = {
      firstSequence: header.baseSequence,
      lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
      result,
    };
    entry.batches.push(batch);
    if (entry.batches.length > PRODUCER_BATCH_CACHE) entry.batches.shift();
    // A batch that failed to be written must not be acknowledged as a duplicate later.
    const owner = entry;
    result.catch(() => {
      const index = owner.batches.indexOf(batch);
      if (index >= 0) owner.batches.splice(index, 1);
    });
  }

  /** Producers currently tracked (for tests and DescribeProducers later). */
  get size(): number {
    return this.producers.size;
  }
}
