/**
 * The record batch v2 header (magic 2): parse, validate and patch, without touching the records.
 *
 * ```
 * offset  size  field
 *      0     8  baseOffset
 *      8     4  batchLength            bytes after this field: total size = batchLength + 12
 *     12     4  partitionLeaderEpoch
 *     16     1  magic                  must be 2
 *     17     4  crc                    CRC-32C over bytes 21..end
 *     21     2  attributes             bits 0-2 codec, 3 timestamp type, 4 transactional, 5 control
 *     23     4  lastOffsetDelta
 *     27     8  baseTimestamp
 *     35     8  maxTimestamp
 *     43     8  producerId
 *     51     2  producerEpoch
 *     53     4  baseSequence
 *     57     4  recordCount
 *     61        records (compressed as one block when the codec is not 0)
 * ```
 * Because the CRC starts at `attributes`, baseOffset and partitionLeaderEpoch can be rewritten in
 * place by the broker; changing the timestamp type or maxTimestamp needs the CRC recomputed.
 */
import { crc32c } from './crc32c.js';
import { ErrorCode } from '../generated/error-codes.js';

export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the part of the header not counted by batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
export const CURRENT_MAGIC = 2;

export const Offsets = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodecId = (typeof CompressionCodec)[keyof typeof CompressionCodec];

const ATTR_COMPRESSION_MASK = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

export interface RecordBatchHeader {
  baseOffset: bigint;
  /** Bytes of the whole batch, header included. */
  sizeInBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function compressionOf(attributes: number): number {
  return attributes & ATTR_COMPRESSION_MASK;
}
export function isLogAppendTime(attributes: number): boolean {
  return (attributes & ATTR_LOG_APPEND_TIME) !== 0;
}
export function isTransactional(attributes: number): boolean {
  return (attributes & ATTR_TRANSACTIONAL) !== 0;
}
export function isControl(attributes: number): boolean {
  return (attributes & ATTR_CONTROL) !== 0;
}

/** Reads the header of the batch at `at`. The caller has checked that 61 bytes are there. */
export function readBatchHeader(buffer: Buffer, at = 0): RecordBatchHeader {
  return {
    baseOffset: buffer.readBigInt64BE(at + Offsets.baseOffset),
    sizeInBytes: buffer.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD,
    partitionLeaderEpoch: buffer.readInt32BE(at + Offsets.partitionLeaderEpoch),
    magic: buffer.readInt8(at + Offsets.magic),
    crc: buffer.readUInt32BE(at + Offsets.crc),
    attributes: buffer.readInt16BE(at + Offsets.attributes),
    lastOffsetDelta: buffer.readInt32BE(at + Offsets.lastOffsetDelta),
    baseTimestamp: buffer.readBigInt64BE(at + Offsets.baseTimestamp),
    maxTimestamp: buffer.readBigInt64BE(at + Offsets.maxTimestamp),
    producerId: buffer.readBigInt64BE(at + Offsets.producerId),
    producerEpoch: buffer.readInt16BE(at + Offsets.producerEpoch),
    baseSequence: buffer.readInt32BE(at + Offsets.baseSequence),
    recordCount: buffer.readInt32BE(at + Offsets.recordCount),
  };
}

/**
 * The size of the complete batch starting at `at`, or -1 when the bytes from `at` to `end` do not
 * hold a whole, plausibly framed batch (a torn write, or the end of a fetch's byte budget).
 */
export function completeBatchSize(buffer: Buffer, at: number, end = buffer.length): number {
  if (end - at < BATCH_HEADER_SIZE) return -1;
  const size = buffer.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD;
  if (size < BATCH_HEADER_SIZE || size > end - at) return -1;
  return size;
}

/** True when the stored CRC-32C matches the batch's bytes from `attributes` to its end. */
export function batchCrcMatches(buffer: Buffer, at: number, size: number): boolean {
  const computed = crc32c(buffer.subarray(at + Offsets.attributes, at + size));
  return computed === buffer.readUInt32BE(at + Offsets.crc);
}

export function rewriteCrc(buffer: Buffer, at: number, size: number): void {
  buffer.writeUInt32BE(crc32c(buffer.subarray(at + Offsets.attributes, at + size)), at + Offsets.crc);
}

export type BatchValidation =
  | { ok: true; header: RecordBatchHeader }
  | { ok: false; errorCode: number; message: string };

function invalid(errorCode: number, message: string): BatchValidation {
  return { ok: false, errorCode, message };
}

/**
 * Validates the `records` of one partition of a Produce request (v3+): exactly one magic-2 batch,
 * framing consistent with the buffer, a matching CRC-32C, a record count consistent with the offset
 * range, no control batches from clients, and a size within the topic's `max.message.bytes`.
 * Uncompressed batches also have their record framing walked (no allocation), so a batch whose
 * records do not add up is refused before anything is written.
 */
export function validateProducedBatch(records: Buffer, maxMessageBytes: number): BatchValidation {
  if (records.length < BATCH_HEADER_SIZE) {
    return invalid(ErrorCode.CORRUPT_MESSAGE, `records of ${records.length} bytes cannot hold a record batch header`);
  }
  const magic = records.readInt8(Offsets.magic);
  if (magic !== CURRENT_MAGIC) {
    return invalid(ErrorCode.INVALID_RECORD, `only record batch magic 2 is accepted, got magic ${magic}`);
  }
  const size = records.readInt32BE(Offsets.batchLength) + BATCH_LOG_OVERHEAD;
  if (size < BATCH_HEADER_SIZE || size > records.length) {
    return invalid(ErrorCode.CORRUPT_MESSAGE, `batch length ${size} does not match the ${records.length} bytes sent`);
  }
  if (size < records.length) {
    return invalid(ErrorCode.INVALID_RECORD, 'produce requests must contain exactly one record batch per partition');
  }
  if (size > maxMessageBytes) {
    return invalid(ErrorCode.MESSAGE_TOO_LARGE, `batch of ${size} bytes exceeds max.message.bytes ${maxMessageBytes}`);
  }
  if (!batchCrcMatches(records, 0, size)) {
    return invalid(ErrorCode.CORRUPT_MESSAGE, 'record batch CRC-32C does not match its contents');
  }
  const header = readBatchHeader(records, 0);
  if (header.recordCount <= 0) {
    return invalid(ErrorCode.INVALID_RECORD, `invalid record count ${header.recordCount}`);
  }
  if (header.lastOffsetDelta + 1 !== header.recordCount) {
    return invalid(ErrorCode.INVALID_RECORD, `record count ${header.recordCount} does not match last offset delta ${header.lastOffsetDelta}`);
  }
  if (isControl(header.attributes)) {
    return invalid(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
  }
  if (header.producerId >= 0n && header.baseSequence < 0) {
    return invalid(ErrorCode.INVALID_RECORD, `producer ${header.producerId} sent a negative base sequence`);
  }
  const codec = compressionOf(header.attributes);
  if (codec > CompressionCodec.zstd) {
    return invalid(ErrorCode.INVALID_RECORD, `unknown compression codec ${codec}`);
  }
  if (codec === CompressionCodec.none) {
    const problem = checkUncompressedRecords(records, BATCH_HEADER_SIZE, size, header.recordCount);
    if (problem !== null) return invalid(ErrorCode.INVALID_RECORD, problem);
  }
  return { ok: true, header };
}

/**
 * Walks uncompressed records: each is `length varint` then that many bytes, and its offsetDelta
 * (the third field) must equal its index. Returns a description of the first problem, or null.
 * This runs for every produced batch, so it allocates nothing per record: varints are decoded
 * inline, with the position kept in a local.
 */
function checkUncompressedRecords(buffer: Buffer, start: number, end: number, count: number): string | null {
  let at = start;
  for (let index = 0; index < count; index++) {
    // length (zig-zag varint)
    let raw = 0;
    let shift = 0;
    let byte = 0x80;
    while ((byte & 0x80) !== 0) {
      if (at >= end || shift > 28) return `record ${index}: truncated length`;
      byte = buffer[at++]!;
      raw |= (byte & 0x7f) << shift;
      shift += 7;
    }
    const length = (raw >>> 1) ^ -(raw & 1);
    if (length <= 0 || length > end - at) return `record ${index}: length ${length} overruns the batch`;
    const recordEnd = at + length;
    // attributes int8, then timestampDelta (varlong, skipped), then offsetDelta (zig-zag varint).
    let cursor = at + 1;
    let skipped = 0;
    do {
      if (cursor >= recordEnd || skipped++ === 10) return `record ${index}: truncated timestamp delta`;
    } while ((buffer[cursor++]! & 0x80) !== 0);
    raw = 0;
    shift = 0;
    byte = 0x80;
    while ((byte & 0x80) !== 0) {
      if (cursor >= recordEnd || shift > 28) return `record ${index}: truncated offset delta`;
      byte = buffer[cursor++]!;
      raw |= (byte & 0x7f) << shift;
      shift += 7;
    }
    const offsetDelta = (raw >>> 1) ^ -(raw & 1);
    if (offsetDelta !== index) return `record ${index} has offset delta ${offsetDelta}`;
    at = recordEnd;
  }
  if (at !== end) return `${end - at} bytes follow the last of ${count} records`;
  return null;
}

/**
 * Assigns the broker's view to a batch about to be appended: its base offset and the leader epoch
 * (both outside the CRC), and, for topics with `message.timestamp.type=LogAppendTime`, the append
 * time as the batch's max timestamp with the timestamp-type bit set (which needs a new CRC).
 */
export function stampBatchForAppend(
  buffer: Buffer,
  at: number,
  size: number,
  baseOffset: bigint,
  leaderEpoch: number,
  logAppendTimeMs: bigint | null,
): void {
  buffer.writeBigInt64BE(baseOffset, at + Offsets.baseOffset);
  buffer.writeInt32BE(leaderEpoch, at + Offsets.partitionLeaderEpoch);
  if (logAppendTimeMs !== null) {
    const attributes = buffer.readInt16BE(at + Offsets.attributes);
    buffer.writeInt16BE(attributes | ATTR_LOG_APPEND_TIME, at + Offsets.attributes);
    buffer.writeBigInt64BE(logAppendTimeMs, at + Offsets.maxTimestamp);
    rewriteCrc(buffer, at, size);
  }
}

/** Offset of the last record of the batch at `at`. */
export function lastOffsetOf(buffer: Buffer, at: number): bigint {
  return buffer.readBigInt64BE(at + Offsets.baseOffset) + BigInt(buffer.readInt32BE(at + Offsets.lastOffsetDelta));
}
