/**
 * Idempotent-producer bookkeeping for one partition, following Kafka's ProducerStateManager:
 * for each producer id the current epoch and the sequence ranges of its last five batches, so a
 * retried batch is acknowledged again with its original offsets instead of being written twice,
 * a gap in sequences is refused (OUT_OF_ORDER_SEQUENCE_NUMBER) and a fenced epoch is refused
 * (INVALID_PRODUCER_EPOCH).
 *
 * The state survives restarts the way Kafka's does: a snapshot (`snapshot`/`restore`) records the
 * state up to an offset, and the batches after it are replayed from the log (`replay`). A producer
 * the table does not know at all is accepted at any sequence, which is what Kafka does when a
 * producer's state has expired.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { RecordBatchHeader } from '../protocol/records/record-batch.js';
import type { AppendResult } from '../storage/engine.js';

/** Kafka keeps this many recent batches per producer for duplicate detection. */
export const PRODUCER_BATCH_CACHE = 5;

/** producer.id.expiration.ms: producers silent for this long are forgotten (Kafka's default, 1 day). */
export const PRODUCER_ID_EXPIRATION_MS = 86_400_000;

const INT32_MAX = 2 ** 31 - 1;

export interface CachedBatch {
  firstSequence: number;
  lastSequence: number;
  /** Resolves with the batch's offsets once it is written. */
  result: Promise<AppendResult>;
  /** The settled result, once the batch is written. */
  written: AppendResult | null;
}

interface ProducerEntry {
  epoch: number;
  batches: CachedBatch[];
  lastAppendMs: number;
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

/** The JSON form of a snapshot, versioned so that a later format can still read this one. */
interface SnapshotJson {
  version: 1;
  /** Every batch below this offset is reflected in the snapshot; replay starts here. */
  endOffset: string;
  producers: Array<{
    producerId: string;
    epoch: number;
    lastAppendMs: number;
    batches: Array<{ firstSequence: number; lastSequence: number; baseOffset: string; lastOffset: string; logAppendTime: string }>;
  }>;
}

export class ProducerStateTable {
  private readonly producers = new Map<bigint, ProducerEntry>();
  /** Changed since the last snapshot. */
  dirty = false;

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
  record(header: RecordBatchHeader, result: Promise<AppendResult>, nowMs: number): void {
    const batch: CachedBatch = {
      firstSequence: header.baseSequence,
      lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
      result,
      written: null,
    };
    const entry = this.add(header.producerId, header.producerEpoch, batch, nowMs);
    result.then(
      (written) => {
        batch.written = written;
      },
      () => {
        // A batch that failed to be written must not be acknowledged as a duplicate later.
        const index = entry.batches.indexOf(batch);
        if (index >= 0) entry.batches.splice(index, 1);
      },
    );
  }

  /** Re-applies a batch found in the log after the snapshot (at start-up). */
  replay(header: RecordBatchHeader, written: AppendResult, nowMs: number): void {
    const batch: CachedBatch = {
      firstSequence: header.baseSequence,
      lastSequence: lastSequenceOf(header.baseSequence, header.lastOffsetDelta),
      result: Promise.resolve(written),
      written,
    };
    this.add(header.producerId, header.producerEpoch, batch, nowMs);
  }

  private add(producerId: bigint, epoch: number, batch: CachedBatch, nowMs: number): ProducerEntry {
    let entry = this.producers.get(producerId);
    if (entry === undefined || epoch !== entry.epoch) {
      entry = { epoch, batches: [], lastAppendMs: nowMs };
      this.producers.set(producerId, entry);
    }
    entry.batches.push(batch);
    entry.lastAppendMs = nowMs;
    if (entry.batches.length > PRODUCER_BATCH_CACHE) entry.batches.shift();
    this.dirty = true;
    return entry;
  }

  /** Forgets producers silent for longer than producer.id.expiration.ms. */
  expire(nowMs: number): void {
    for (const [producerId, entry] of this.producers) {
      if (nowMs - entry.lastAppendMs > PRODUCER_ID_EXPIRATION_MS) {
        this.producers.delete(producerId);
        this.dirty = true;
      }
    }
  }

  /**
   * The state as of `endOffset`: every written batch below it. Batches at or above it (written or
   * not) are left out; they are replayed from the log after a restart.
   */
  snapshot(endOffset: bigint): Buffer {
    const json: SnapshotJson = { version: 1, endOffset: endOffset.toString(), producers: [] };
    for (const [producerId, entry] of this.producers) {
      const batches = entry.batches
        .filter((batch) => batch.written !== null && batch.written.lastOffset < endOffset)
        .map((batch) => ({
          firstSequence: batch.firstSequence,
          lastSequence: batch.lastSequence,
          baseOffset: batch.written!.baseOffset.toString(),
          lastOffset: batch.written!.lastOffset.toString(),
          logAppendTime: batch.written!.logAppendTime.toString(),
        }));
      json.producers.push({ producerId: producerId.toString(), epoch: entry.epoch, lastAppendMs: entry.lastAppendMs, batches });
    }
    return Buffer.from(JSON.stringify(json));
  }

  /**
   * Loads a snapshot; returns the offset replay must start from, or null when the snapshot is
   * unreadable or does not fit the log (then nothing is loaded and replay starts at the log start).
   */
  restore(data: Buffer, logStartOffset: bigint, logEndOffset: bigint): bigint | null {
    let json: SnapshotJson;
    try {
      json = JSON.parse(data.toString('utf8')) as SnapshotJson;
      if (json.version !== 1) return null;
    } catch {
      return null;
    }
    const endOffset = BigInt(json.endOffset);
    // A snapshot beyond the log's end describes batches the log no longer has (lost in a crash).
    if (endOffset > logEndOffset) return null;
    this.producers.clear();
    for (const producer of json.producers) {
      const batches = producer.batches.map((batch): CachedBatch => {
        const written: AppendResult = {
          baseOffset: BigInt(batch.baseOffset),
          lastOffset: BigInt(batch.lastOffset),
          logAppendTime: BigInt(batch.logAppendTime),
          logStartOffset,
        };
        return { firstSequence: batch.firstSequence, lastSequence: batch.lastSequence, result: Promise.resolve(written), written };
      });
      this.producers.set(BigInt(producer.producerId), { epoch: producer.epoch, batches, lastAppendMs: producer.lastAppendMs });
    }
    this.dirty = false;
    return endOffset < logStartOffset ? logStartOffset : endOffset;
  }

  /** Producers currently tracked (for tests and DescribeProducers later). */
  get size(): number {
    return this.producers.size;
  }
}
