/**
 * validateProducedBatch: what a Produce request's batch must satisfy before anything is written,
 * each failure with the error code Kafka answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { BATCH_HEADER_SIZE, Offsets, rewriteCrc, validateProducedBatch } from '../../../src/protocol/records/record-batch.js';
import { buildRecordBatch, encodeRecordBatch } from '../../../src/protocol/records/records.js';

const records = [{ key: 'a', value: 'one' }, { key: 'b', value: 'two', headers: [{ key: 'h', value: 'v' }] }, { value: null }];

/** Applies `change` to a copy of a valid batch and recomputes its CRC, so only the change is wrong. */
function tampered(change: (batch: Buffer) => Buffer): Buffer {
  const changed = change(Buffer.from(buildRecordBatch(records)));
  changed.writeInt32BE(changed.length - 12, Offsets.batchLength);
  rewriteCrc(changed, 0, changed.length);
  return changed;
}

function codeOf(batch: Buffer, maxMessageBytes = 1 << 20): number {
  const validation = validateProducedBatch(batch, maxMessageBytes);
  return validation.ok ? ErrorCode.NONE : validation.errorCode;
}

test('valid batches pass, compressed or not', async () => {
  assert.equal(codeOf(buildRecordBatch(records)), ErrorCode.NONE);
  assert.equal(codeOf(await encodeRecordBatch(records, { compression: 1 })), ErrorCode.NONE);
});

test('framing and checksum problems are CORRUPT_MESSAGE', () => {
  const batch = buildRecordBatch(records);
  assert.equal(codeOf(batch.subarray(0, 40)), ErrorCode.CORRUPT_MESSAGE);
  assert.equal(codeOf(batch.subarray(0, batch.length - 1)), ErrorCode.CORRUPT_MESSAGE);
  const flipped = Buffer.from(batch);
  flipped[BATCH_HEADER_SIZE + 3]! ^= 0x01;
  assert.equal(codeOf(flipped), ErrorCode.CORRUPT_MESSAGE);
});

test('record framing that does not add up is INVALID_RECORD, even with a valid CRC', () => {
  // The first record's offset delta (byte 4 of the record: length, attributes, timestamp delta 0) becomes 1.
  assert.equal(codeOf(tampered((b) => { b[BATCH_HEADER_SIZE + 3] = 2; return b; })), ErrorCode.INVALID_RECORD);
  // A record length pointing past the batch.
  assert.equal(codeOf(tampered((b) => { b[BATCH_HEADER_SIZE] = 0x7e; return b; })), ErrorCode.INVALID_RECORD);
  // Bytes after the last record.
  assert.equal(codeOf(tampered((b) => Buffer.concat([b, Buffer.from([0, 0, 0])]))), ErrorCode.INVALID_RECORD);
  // A record count that disagrees with the offset range.
  assert.equal(codeOf(tampered((b) => { b.writeInt32BE(2, Offsets.recordCount); return b; })), ErrorCode.INVALID_RECORD);
  // Control batches may only be written by the broker.
  assert.equal(codeOf(tampered((b) => { b.writeInt16BE(0x20, Offsets.attributes); return b; })), ErrorCode.INVALID_RECORD);
  // An idempotent producer id with a negative sequence.
  assert.equal(codeOf(tampered((b) => { b.writeBigInt64BE(5n, Offsets.producerId); return b; })), ErrorCode.INVALID_RECORD);
});

test('other magic values, several batches and oversized batches are refused', () => {
  assert.equal(codeOf(tampered((b) => { b.writeInt8(1, Offsets.magic); return b; })), ErrorCode.INVALID_RECORD);
  const batch = buildRecordBatch(records);
  assert.equal(codeOf(Buffer.concat([batch, batch])), ErrorCode.INVALID_RECORD);
  assert.equal(codeOf(batch, batch.length - 1), ErrorCode.MESSAGE_TOO_LARGE);
});
