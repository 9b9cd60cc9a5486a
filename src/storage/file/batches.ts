/**
 * Batch-level helpers shared by both engines: the header walk and offset stamping done on append,
 * and trimming a read to whole batches. Only headers are touched; records are never decoded.
 */
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  CURRENT_MAGIC,
  Offsets,
  stampBatchForAppend,
} from '../../protocol/records/record-batch.js';
import { StorageError } from './storage-error.js';

/** What an engine remembers about each appended batch. */
export interface StampedBatch {
  /** Byte position of the batch inside the appended buffer. */
  relativePosition: number;
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
}

/**
 * Walks the batches of `buffer` (already validated by the produce path; only framing is rechecked
 * here), assigns them consecutive offsets from `firstOffset` and stamps them in place (see
 * stampBatchForAppend). Throws a StorageError (nothing stamped) when the bytes are not whole batches.
 */
export function stampBatches(buffer: Buffer, firstOffset: bigint, leaderEpoch: number, logAppendTimeMs: bigint | null): StampedBatch[] {
  const batches: StampedBatch[] = [];
  let at = 0;
  while (at < buffer.length) {
    if (buffer.length - at < BATCH_HEADER_SIZE) throw badBatch(`${buffer.length - at} trailing bytes are not a batch`);
    const size = buffer.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || size > buffer.length - at) throw badBatch(`the batch at byte ${at} claims ${size} bytes`);
    if (buffer.readInt8(at + Offsets.magic) !== CURRENT_MAGIC) throw badBatch(`the batch at byte ${at} is not magic 2`);
    const lastOffsetDelta = buffer.readInt32BE(at + Offsets.lastOffsetDelta);
    if (lastOffsetDelta < 0) throw badBatch(`the batch at byte ${at} has a negative last offset delta`);
    batches.push({ relativePosition: at, size, baseOffset: 0n, lastOffset: BigInt(lastOffsetDelta), maxTimestamp: 0n });
    at += size;
  }
  if (batches.length === 0) throw badBatch('there is no batch to append');
  let offset = firstOffset;
  for (const batch of batches) {
    stampBatchForAppend(buffer, batch.relativePosition, batch.size, offset, leaderEpoch, logAppendTimeMs);
    batch.baseOffset = offset;
    batch.lastOffset += offset;
    batch.maxTimestamp = buffer.readBigInt64BE(batch.relativePosition + Offsets.maxTimestamp);
    offset = batch.lastOffset + 1n;
  }
  return batches;
}

function badBatch(detail: string): StorageError {
  return new StorageError('TRIB_ERR_STORAGE_BAD_BATCH', `append needs whole record batches: ${detail}`);
}

/** Length of the whole batches at the start of `data`, given the first batch's size (always kept). */
export function wholeBatchesLength(data: Buffer, firstSize: number): number {
  let total = firstSize;
  while (data.length - total >= BATCH_HEADER_SIZE) {
    const size = data.readInt32BE(total + Offsets.batchLength) + BATCH_LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE || total + size > data.length) break;
    total += size;
  }
  return total;
}
