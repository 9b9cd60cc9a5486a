/**
 * Record-level work on one stored v2 batch that only compacted topics need: walking its records'
 * keys without decoding values or headers, rebuilding the batch with a subset of its records (the
 * log cleaner, as Kafka's MemoryRecords.filterTo), and the produce-time check that every record has
 * a key. No I/O; compressed batches are decompressed and recompressed with the same codec.
 *
 * A rebuilt batch keeps what Kafka keeps (DefaultRecordBatch / MemoryRecordsBuilder):
 * - baseOffset and lastOffsetDelta of the original, whatever records remain, so the producer's
 *   sequence range stays readable from the header; each kept record keeps its offset delta;
 * - partitionLeaderEpoch, attributes (codec, timestamp type, transactional, control), producer id,
 *   epoch and base sequence;
 * - every record's timestamp, key, value and headers byte for byte. A record's bytes are copied as
 *   they are unless the base timestamp changes, which happens once in a batch's life: when the
 *   cleaner first keeps a tombstone in it, the batch gets the delete horizon (attributes bit 6, the
 *   horizon in baseTimestamp, KIP-534), and each record's timestamp delta is rewritten against it
 *   so that baseTimestamp + delta is still the record's timestamp for every client.
 * - maxTimestamp is the largest timestamp of the records kept (CreateTime) or the original
 *   (LogAppendTime, where it is every record's timestamp); recordCount and the CRC are new.
 */
import { crc32c } from './crc32c.js';
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  CURRENT_MAGIC,
  CompressionCodec,
  Offsets,
  compressionOf,
  isLogAppendTime,
  readBatchHeader,
  type RecordBatchHeader,
} from './record-batch.js';
import { compress, decompress, type DecompressOptions } from './compression.js';

/** Attributes bit 6: baseTimestamp holds the delete horizon (KIP-534). */
export const ATTR_DELETE_HORIZON = 0x40;

export function hasDeleteHorizon(attributes: number): boolean {
  return (attributes & ATTR_DELETE_HORIZON) !== 0;
}

/** One record of a batch, with its bytes kept for copying. */
export interface RecordView {
  offsetDelta: number;
  timestampDelta: bigint;
  /** A view into the (decompressed) records block, or null. */
  key: Buffer | null;
  /** False for a tombstone (null value). */
  hasValue: boolean;
  /** The record's bytes after its length varint: attributes, deltas, key, value, headers. */
  body: Buffer;
  /** Where in `body` the key length starts (after attributes and both deltas). */
  keyStart: number;
}

/**
 * Walks the records of an uncompressed records block. Throws a RangeError when the framing does not
 * hold `header.recordCount` records exactly.
 */
export function walkRecords(header: RecordBatchHeader, block: Buffer): RecordView[] {
  const reader = new Reader(block);
  const records: RecordView[] = [];
  for (let i = 0; i < header.recordCount; i++) {
    const length = reader.varint();
    const start = reader.offset;
    const end = start + length;
    if (!reader.ok || length <= 0 || end > block.length) {
      throw new RangeError(`record ${i} of the batch at offset ${header.baseOffset}: bad length ${length}`);
    }
    const recordReader = new Reader(block, start, end);
    recordReader.int8();
    const timestampDelta = recordReader.varlong();
    const offsetDelta = recordReader.varint();
    const keyStart = recordReader.offset - start;
    const keyLength = recordReader.varint();
    const key = keyLength < 0 ? null : recordReader.raw(keyLength);
    const valueLength = recordReader.varint();
    if (!recordReader.ok) {
      throw new RangeError(`record ${i} of the batch at offset ${header.baseOffset}: ${recordReader.error ?? 'malformed'}`);
    }
    records.push({ offsetDelta, timestampDelta, key, hasValue: valueLength >= 0, body: block.subarray(start, end), keyStart });
    reader.offset = end;
  }
  if (reader.offset !== block.length) {
    throw new RangeError(`the batch at offset ${header.baseOffset} has ${block.length - reader.offset} bytes after its last record`);
  }
  return records;
}

/** The header and records of the batch at the start of `batch` (decompressed when needed). */
export async function recordsOfBatch(batch: Buffer, options: DecompressOptions = {}): Promise<{ header: RecordBatchHeader; records: RecordView[] }> {
  const header = readBatchHeader(batch, 0);
  if (header.magic !== CURRENT_MAGIC) throw new RangeError(`record batch magic ${header.magic} is not supported (only 2)`);
  if (header.sizeInBytes < BATCH_HEADER_SIZE || header.sizeInBytes > batch.length) {
    throw new RangeError(`batch length ${header.sizeInBytes} does not fit the ${batch.length} bytes given`);
  }
  let block = batch.subarray(BATCH_HEADER_SIZE, header.sizeInBytes);
  const codec = compressionOf(header.attributes);
  if (codec !== CompressionCodec.none) block = await decompress(codec, block, options);
  return { header, records: walkRecords(header, block) };
}

/**
 * Indexes (within the batch) of the records without a key: what a compacted topic refuses on
 * produce. Uncompressed batches are walked in place; compressed ones are decompressed first.
 */
export async function keylessRecordIndexes(batch: Buffer, options: DecompressOptions = {}): Promise<number[]> {
  const { records } = await recordsOfBatch(batch, options);
  const indexes: number[] = [];
  records.forEach((record, index) => {
    if (record.key === null) indexes.push(index);
  });
  return indexes;
}

/**
 * Rebuilds the batch described by `header` with only `kept` (a non-empty subset of its records, in
 * order), compressed with the original codec. `deleteHorizonMs`, when given, is stamped as the
 * batch's delete horizon (see the file comment); otherwise the original base timestamp stays.
 */
export async function rebuildBatch(header: RecordBatchHeader, kept: readonly RecordView[], deleteHorizonMs: bigint | null): Promise<Buffer> {
  if (kept.length === 0) throw new RangeError('a rebuilt batch needs at least one record; use emptyBatchOf');
  const logAppendTime = isLogAppendTime(header.attributes);
  const baseTimestamp = deleteHorizonMs ?? header.baseTimestamp;
  const shift = baseTimestamp - header.baseTimestamp;
  let maxTimestamp = -1n;
  const body = new Writer(kept.reduce((total, record) => total + record.body.length + 5, 0));
  for (const record of kept) {
    const timestamp = header.baseTimestamp + record.timestampDelta;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    if (shift === 0n) {
      body.varint(record.body.length);
      body.raw(record.body);
      continue;
    }
    const rest = record.body.subarray(record.keyStart);
    const prefix = new Writer(24);
    prefix.int8(record.body.readInt8(0));
    prefix.varlong(record.timestampDelta - shift);
    prefix.varint(record.offsetDelta);
    const head = prefix.toBuffer();
    body.varint(head.length + rest.length);
    body.raw(head);
    body.raw(rest);
  }
  const codec = compressionOf(header.attributes);
  const block = await compress(codec, body.toBuffer());
  let attributes = header.attributes;
  if (deleteHorizonMs !== null) attributes |= ATTR_DELETE_HORIZON;
  return assemble(header, {
    attributes,
    baseTimestamp,
    maxTimestamp: logAppendTime ? header.maxTimestamp : maxTimestamp,
    recordCount: kept.length,
    block,
  });
}

/**
 * The batch described by `header` with no records left, uncompressed: what Kafka keeps of a
 * producer's last batch once every record in it is gone, so the producer's epoch and last sequence
 * can still be read from the log (DefaultRecordBatch.writeEmptyHeader).
 */
export function emptyBatchOf(header: RecordBatchHeader): Buffer {
  const attributes = header.attributes & ~0x07 & ~ATTR_DELETE_HORIZON;
  return assemble(header, {
    attributes,
    baseTimestamp: header.maxTimestamp,
    maxTimestamp: header.maxTimestamp,
    recordCount: 0,
    block: Buffer.alloc(0),
  });
}

function assemble(
  header: RecordBatchHeader,
  fields: { attributes: number; baseTimestamp: bigint; maxTimestamp: bigint; recordCount: number; block: Buffer },
): Buffer {
  const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + fields.block.length);
  batch.writeBigInt64BE(header.baseOffset, Offsets.baseOffset);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD, Offsets.batchLength);
  batch.writeInt32BE(header.partitionLeaderEpoch, Offsets.partitionLeaderEpoch);
  batch.writeInt8(CURRENT_MAGIC, Offsets.magic);
  batch.writeInt16BE(fields.attributes, Offsets.attributes);
  batch.writeInt32BE(header.lastOffsetDelta, Offsets.lastOffsetDelta);
  batch.writeBigInt64BE(fields.baseTimestamp, Offsets.baseTimestamp);
  batch.writeBigInt64BE(fields.maxTimestamp, Offsets.maxTimestamp);
  batch.writeBigInt64BE(header.producerId, Offsets.producerId);
  batch.writeInt16BE(header.producerEpoch, Offsets.producerEpoch);
  batch.writeInt32BE(header.baseSequence, Offsets.baseSequence);
  batch.writeInt32BE(fields.recordCount, Offsets.recordCount);
  fields.block.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch.subarray(Offsets.attributes)), Offsets.crc);
  return batch;
}
