/**
 * Record-level timestamp answers inside one stored batch, for ListOffsets by timestamp and
 * MAX_TIMESTAMP. Shared by both engines. This is the only place the storage engines look inside a
 * batch's records (decompressing it when needed), and it runs only for those two queries, never on
 * append or fetch.
 */
import { isLogAppendTime, lastOffsetOf, readBatchHeader } from '../../protocol/records/record-batch.js';
import { decodeRecordBatch, firstRecordAtOrAfter as searchBatch } from '../../protocol/records/records.js';
import type { TimestampOffset } from '../engine.js';

/** Kafka's "no timestamp" (-1); such records never match a search. */
const NO_TIMESTAMP = -1n;

/**
 * The first record of the batch at the start of `batch` whose timestamp is >= `target` and whose
 * offset is >= `minOffset`, or null. A batch whose records cannot be decoded (corrupt, or beyond the
 * decompression bound) is answered at batch level: its first allowed offset with its maxTimestamp,
 * which is safe for a consumer (it starts a little early) rather than a failed request.
 */
export async function firstRecordAtOrAfter(batch: Buffer, target: bigint, minOffset: bigint): Promise<TimestampOffset | null> {
  const header = readBatchHeader(batch, 0);
  if (lastOffsetOf(batch, 0) < minOffset || header.maxTimestamp < target || header.maxTimestamp === NO_TIMESTAMP) return null;
  try {
    return await searchBatch(batch, target, { minOffset });
  } catch {
    return { offset: header.baseOffset > minOffset ? header.baseOffset : minOffset, timestamp: header.maxTimestamp };
  }
}

/**
 * The record with the largest timestamp in the batch at the start of `batch` (earliest offset among
 * equals), ignoring records below `minOffset`, or null when none has a timestamp. Undecodable
 * batches are answered at batch level, as above.
 */
export async function maxTimestampRecord(batch: Buffer, minOffset: bigint): Promise<TimestampOffset | null> {
  const header = readBatchHeader(batch, 0);
  if (lastOffsetOf(batch, 0) < minOffset || header.maxTimestamp === NO_TIMESTAMP) return null;
  const firstAllowed = header.baseOffset > minOffset ? header.baseOffset : minOffset;
  // LogAppendTime: every record carries the batch's maxTimestamp.
  if (isLogAppendTime(header.attributes)) return { offset: firstAllowed, timestamp: header.maxTimestamp };
  let records;
  try {
    records = (await decodeRecordBatch(batch)).records;
  } catch {
    return { offset: firstAllowed, timestamp: header.maxTimestamp };
  }
  let best: TimestampOffset | null = null;
  for (const record of records) {
    if (record.offset < minOffset || record.timestamp === NO_TIMESTAMP) continue;
    if (best === null || record.timestamp > best.timestamp) best = { offset: record.offset, timestamp: record.timestamp };
  }
  return best;
}
