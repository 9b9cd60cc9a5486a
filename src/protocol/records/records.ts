/**
 * Records inside a v2 batch: building batches (for tests, the CLI and internal topics) and decoding
 * them where the broker genuinely needs record-level data (ListOffsets by timestamp, tools).
 * The produce and fetch paths never call this: they move whole batches as Buffers.
 *
 * Sync, uncompressed only: `buildRecordBatch`, `decodeRecordsBody`, `decodeUncompressedBatch`.
 * Async, every codec (compression.ts): `encodeRecordBatch` (alias `buildCompressedRecordBatch`),
 * `decodeRecordBatch`, `decodeRecordBatches`, `firstRecordAtOrAfter`.
 *
 * Record layout: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 * keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value | headerCount varint |
 * headers (keyLength varint, key, valueLength varint (-1 = null), value).
 */
import { crc32c } from './crc32c.js';
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  CompressionCodec,
  CURRENT_MAGIC,
  Offsets,
  batchCrcMatches,
  compressionOf,
  isLogAppendTime,
  readBatchHeader,
  type RecordBatchHeader,
} from './record-batch.js';
import { CompressionError, compress, decompress, type DecompressOptions } from './compression.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface Record {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** Absolute timestamp in ms. */
  timestamp: bigint;
  /** Absolute offset (the batch's base offset plus the record's offset delta). */
  offset: bigint;
}

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Array<{ key: string; value: Buffer | string | null }>;
  timestamp?: bigint;
}

export interface BuildBatchOptions {
  baseOffset?: bigint;
  /** Defaults to the first record's timestamp, or now. */
  baseTimestamp?: bigint;
  compression?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  partitionLeaderEpoch?: number;
}

function toBytes(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function writeVarBytes(w: Writer, bytes: Buffer | null): void {
  if (bytes === null) {
    w.varint(-1);
  } else {
    w.varint(bytes.length);
    w.raw(bytes);
  }
}

/** Encodes records (uncompressed) as they appear after a batch header. */
export function encodeRecords(records: RecordInput[], baseTimestamp: bigint): Buffer {
  const out = new Writer(records.length * 32 + 64);
  records.forEach((record, index) => {
    const body = new Writer(64);
    body.int8(0);
    body.varlong((record.timestamp ?? baseTimestamp) - baseTimestamp);
    body.varint(index);
    writeVarBytes(body, toBytes(record.key));
    writeVarBytes(body, toBytes(record.value));
    const headers = record.headers ?? [];
    body.varint(headers.length);
    for (const header of headers) {
      writeVarBytes(body, Buffer.from(header.key, 'utf8'));
      writeVarBytes(body, toBytes(header.value));
    }
    out.varint(body.length);
    for (const chunk of body.chunks()) out.raw(chunk);
  });
  return out.toBuffer();
}

/**
 * Builds one complete, uncompressed v2 record batch (synchronously). For any codec use the async
 * `encodeRecordBatch` (alias `buildCompressedRecordBatch`).
 */
export function buildRecordBatch(records: RecordInput[], options: BuildBatchOptions = {}): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const codec = options.compression ?? CompressionCodec.none;
  if (codec !== CompressionCodec.none) {
    throw new RangeError('buildRecordBatch builds uncompressed batches; use buildCompressedRecordBatch');
  }
  return assembleBatch(records, encodeRecords(records, baseTimestampOf(records, options)), codec, options);
}

export function baseTimestampOf(records: RecordInput[], options: BuildBatchOptions): bigint {
  return options.baseTimestamp ?? records[0]?.timestamp ?? BigInt(Date.now());
}

/** Puts a batch header in front of (possibly compressed) record bytes and computes the CRC. */
export function assembleBatch(records: RecordInput[], body: Buffer, codec: number, options: BuildBatchOptions): Buffer {
  const baseTimestamp = baseTimestampOf(records, options);
  let maxTimestamp = baseTimestamp;
  for (const record of records) {
    if (record.timestamp !== undefined && record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  }
  const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  batch.writeBigInt64BE(options.baseOffset ?? 0n, Offsets.baseOffset);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD, Offsets.batchLength);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? -1, Offsets.partitionLeaderEpoch);
  batch.writeInt8(CURRENT_MAGIC, Offsets.magic);
  batch.writeInt16BE(codec | (options.transactional ? 0x10 : 0), Offsets.attributes);
  batch.writeInt32BE(records.length - 1, Offsets.lastOffsetDelta);
  batch.writeBigInt64BE(baseTimestamp, Offsets.baseTimestamp);
  batch.writeBigInt64BE(maxTimestamp, Offsets.maxTimestamp);
  batch.writeBigInt64BE(options.producerId ?? -1n, Offsets.producerId);
  batch.writeInt16BE(options.producerEpoch ?? -1, Offsets.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? -1, Offsets.baseSequence);
  batch.writeInt32BE(records.length, Offsets.recordCount);
  body.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch.subarray(Offsets.attributes)), Offsets.crc);
  return batch;
}

/**
 * Decodes the records of one uncompressed batch body. `body` is the bytes after the batch header
 * (already decompressed for compressed batches). Throws a RangeError on malformed records.
 * Bytes after the last of `header.recordCount` records are ignored (decodeRecordBatch rejects them).
 */
export function decodeRecordsBody(header: RecordBatchHeader, body: Buffer): Record[] {
  return parseRecordsBody(header, body).records;
}

function parseRecordsBody(header: RecordBatchHeader, body: Buffer): { records: Record[]; consumed: number } {
  const reader = new Reader(body);
  const records: Record[] = [];
  const logAppendTime = isLogAppendTime(header.attributes);
  for (let i = 0; i < header.recordCount; i++) {
    const length = reader.varint();
    const end = reader.offset + length;
    reader.int8();
    const timestampDelta = reader.varlong();
    const offsetDelta = reader.varint();
    const key = readVarBytes(reader);
    const value = readVarBytes(reader);
    const headerCount = reader.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount && reader.ok; h++) {
      const headerKey = readVarBytes(reader);
      headers.push({ key: headerKey === null ? '' : headerKey.toString('utf8'), value: readVarBytes(reader) });
    }
    if (!reader.ok || reader.offset !== end) {
      throw new RangeError(`malformed record ${i} in batch at offset ${header.baseOffset}: ${reader.error ?? 'length mismatch'}`);
    }
    records.push({
      key,
      value,
      headers,
      timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      offset: header.baseOffset + BigInt(offsetDelta),
    });
  }
  return { records, consumed: reader.offset };
}

function readVarBytes(reader: Reader): Buffer | null {
  const length = reader.varint();
  if (length < 0) return null;
  return reader.raw(length);
}

/** Decodes every record of an uncompressed batch. */
export function decodeUncompressedBatch(batch: Buffer): { header: RecordBatchHeader; records: Record[] } {
  const header = readBatchHeader(batch, 0);
  if (compressionOf(header.attributes) !== CompressionCodec.none) {
    throw new RangeError('batch is compressed; use decodeRecordBatch from compression-aware code');
  }
  return { header, records: decodeRecordsBody(header, batch.subarray(BATCH_HEADER_SIZE, header.sizeInBytes)) };
}

// ---------------------------------------------------------------------------------------------
// Every codec (async): encoding, decoding, timestamp search.

export interface EncodeBatchOptions extends BuildBatchOptions {
  /** Compression level for gzip (0-9) and zstd; see compression.ts. */
  compressionLevel?: number;
}

/**
 * Builds one complete v2 record batch with any codec (`options.compression`, default none): the
 * records after the header are compressed as one block, as Kafka clients do. The CRC covers the
 * compressed bytes.
 */
export async function encodeRecordBatch(records: RecordInput[], options: EncodeBatchOptions = {}): Promise<Buffer> {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const codec = options.compression ?? CompressionCodec.none;
  if (codec === CompressionCodec.none) return buildRecordBatch(records, options);
  if (codec < CompressionCodec.none || codec > CompressionCodec.zstd) {
    throw new CompressionError(codec, 'unknown compression codec');
  }
  const body = encodeRecords(records, baseTimestampOf(records, options));
  const compressed = await compress(codec, body, options.compressionLevel === undefined ? {} : { level: options.compressionLevel });
  return assembleBatch(records, compressed, codec, options);
}

/** The same as `encodeRecordBatch`, under the name the sync `buildRecordBatch` points to. */
export const buildCompressedRecordBatch = encodeRecordBatch;

export interface DecodeBatchOptions extends DecompressOptions {
  /** Check the batch's CRC-32C first and throw a RangeError when it does not match (default false). */
  verifyCrc?: boolean;
}

export interface DecodedBatch {
  header: RecordBatchHeader;
  records: Record[];
}

/**
 * Checks the framing of the batch at the start of `batch` and returns its header and its (still
 * compressed) records block. Throws a RangeError when it is not a whole magic-2 batch.
 */
function openBatch(batch: Buffer, options: DecodeBatchOptions): { header: RecordBatchHeader; block: Buffer } {
  if (batch.length < BATCH_HEADER_SIZE) {
    throw new RangeError(`${batch.length} bytes cannot hold a record batch header`);
  }
  const magic = batch.readInt8(Offsets.magic);
  if (magic !== CURRENT_MAGIC) throw new RangeError(`record batch magic ${magic} is not supported (only 2)`);
  const header = readBatchHeader(batch, 0);
  if (header.sizeInBytes < BATCH_HEADER_SIZE || header.sizeInBytes > batch.length) {
    throw new RangeError(`batch length ${header.sizeInBytes} does not fit the ${batch.length} bytes given`);
  }
  if (options.verifyCrc === true && !batchCrcMatches(batch, 0, header.sizeInBytes)) {
    throw new RangeError(`record batch at offset ${header.baseOffset}: CRC-32C does not match its contents`);
  }
  const codec = compressionOf(header.attributes);
  if (codec > CompressionCodec.zstd) throw new CompressionError(codec, 'unknown compression codec');
  return { header, block: batch.subarray(BATCH_HEADER_SIZE, header.sizeInBytes) };
}

async function recordsBlock(header: RecordBatchHeader, block: Buffer, options: DecompressOptions): Promise<Buffer> {
  const codec = compressionOf(header.attributes);
  if (codec === CompressionCodec.none) return block;
  return decompress(codec, block, options.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.maxOutputBytes });
}

/**
 * Decodes every record of the batch at the start of `batch`, whatever its codec (bytes after the
 * batch are ignored). Throws a RangeError for bad framing or malformed records (including bytes left
 * over after the last record), a CompressionError for a corrupt compressed block, and a
 * DecompressionLimitError when the block would expand beyond `maxOutputBytes`.
 */
export async function decodeRecordBatch(batch: Buffer, options: DecodeBatchOptions = {}): Promise<DecodedBatch> {
  const { header, block } = openBatch(batch, options);
  const body = await recordsBlock(header, block, options);
  const { records, consumed } = parseRecordsBody(header, body);
  if (consumed !== body.length) {
    throw new RangeError(`record batch at offset ${header.baseOffset}: ${body.length - consumed} bytes follow the last of ${header.recordCount} records`);
  }
  return { header, records };
}

/**
 * Decodes consecutive batches (a fetch response's records, a segment's bytes). A trailing partial
 * batch is ignored, as consumers ignore the cut-off end of a fetch; a batch whose length field is
 * impossibly small is corrupt and throws.
 */
export async function decodeRecordBatches(buffer: Buffer, options: DecodeBatchOptions = {}): Promise<DecodedBatch[]> {
  const batches: DecodedBatch[] = [];
  let at = 0;
  while (buffer.length - at >= BATCH_LOG_OVERHEAD) {
    const size = buffer.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD;
    if (size < BATCH_HEADER_SIZE) throw new RangeError(`corrupt batch length ${size} at byte ${at}`);
    if (size > buffer.length - at) break; // partial batch
    batches.push(await decodeRecordBatch(buffer.subarray(at, at + size), options));
    at += size;
  }
  return batches;
}

export interface TimestampSearchOptions extends DecodeBatchOptions {
  /** Ignore records below this offset (a search starting inside the batch). */
  minOffset?: bigint;
}

/**
 * The first record (in offset order) of the batch at the start of `batch` whose timestamp is
 * >= `timestampMs`, or null: what ListOffsets by timestamp answers, with Kafka's semantics (record
 * timestamps need not be monotonic, the first one at or after the target wins). A batch whose
 * maxTimestamp is below the target is answered without decompressing it. In a LogAppendTime batch
 * every record's timestamp is the batch's maxTimestamp. Errors as for `decodeRecordBatch`.
 */
export async function firstRecordAtOrAfter(
  batch: Buffer,
  timestampMs: bigint,
  options: TimestampSearchOptions = {},
): Promise<{ offset: bigint; timestamp: bigint } | null> {
  const { header, block } = openBatch(batch, options);
  if (header.maxTimestamp < timestampMs || header.recordCount <= 0) return null;
  const minOffset = options.minOffset;
  if (minOffset !== undefined && header.baseOffset + BigInt(header.lastOffsetDelta) < minOffset) return null;
  const body = await recordsBlock(header, block, options);
  const logAppendTime = isLogAppendTime(header.attributes);
  // Walk the records reading only their timestamp and offset deltas.
  const reader = new Reader(body);
  for (let i = 0; i < header.recordCount; i++) {
    const length = reader.varint();
    const end = reader.offset + length;
    reader.int8();
    const timestampDelta = reader.varlong();
    const offsetDelta = reader.varint();
    if (!reader.ok || length <= 0 || end > body.length || reader.offset > end) {
      throw new RangeError(`malformed record ${i} in batch at offset ${header.baseOffset}: ${reader.error ?? 'length mismatch'}`);
    }
    const timestamp = logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
    const offset = header.baseOffset + BigInt(offsetDelta);
    if (timestamp >= timestampMs && (minOffset === undefined || offset >= minOffset)) return { offset, timestamp };
    reader.offset = end;
  }
  return null;
}
