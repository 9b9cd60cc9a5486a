import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BATCH_HEADER_SIZE, CompressionCodec, batchCrcMatches, compressionOf, readBatchHeader } from '../../../src/protocol/records/record-batch.js';
import {
  ATTR_DELETE_HORIZON,
  emptyBatchOf,
  keylessRecordIndexes,
  rebuildBatch,
  recordsOfBatch,
  walkRecords,
} from '../../../src/protocol/records/record-filter.js';
import { buildRecordBatch, decodeRecordBatch, encodeRecordBatch } from '../../../src/protocol/records/records.js';

const inputs = [
  { key: 'a', value: 'one', timestamp: 1_000n, headers: [{ key: 'h', value: '1' }] },
  { key: 'b', value: null, timestamp: 1_050n },
  { key: null, value: 'keyless', timestamp: 990n },
  { key: 'c', value: 'three', timestamp: 1_200n, headers: [{ key: 'x', value: null }] },
];

describe('record filter', () => {
  it('walks keys and tombstones without decoding values', async () => {
    const batch = buildRecordBatch(inputs);
    const { records } = await recordsOfBatch(batch);
    assert.deepEqual(records.map((record) => [record.offsetDelta, record.key?.toString() ?? null, record.hasValue, record.timestampDelta]), [
      [0, 'a', true, 0n],
      [1, 'b', false, 50n],
      [2, null, true, -10n],
      [3, 'c', true, 200n],
    ]);
    assert.deepEqual(await keylessRecordIndexes(batch), [2]);
    assert.deepEqual(await keylessRecordIndexes(await encodeRecordBatch(inputs, { compression: CompressionCodec.lz4 })), [2]);
    const header = readBatchHeader(batch, 0);
    const block = batch.subarray(BATCH_HEADER_SIZE);
    assert.throws(() => walkRecords(header, block.subarray(0, block.length - 1)), RangeError);
    assert.throws(() => walkRecords(header, Buffer.concat([block, Buffer.from([0])])), RangeError);
  });

  for (const [name, codec] of Object.entries(CompressionCodec)) {
    it(`rebuilds a ${name} batch with a subset of its records, keeping offsets, timestamps, headers and producer fields`, async () => {
      const original = await encodeRecordBatch(inputs, { compression: codec, baseOffset: 500n, producerId: 42n, producerEpoch: 3, baseSequence: 17, partitionLeaderEpoch: 9 });
      const { header, records } = await recordsOfBatch(original);
      const rebuilt = await rebuildBatch(header, [records[0]!, records[2]!], null);
      assert.ok(batchCrcMatches(rebuilt, 0, rebuilt.length));
      const after = readBatchHeader(rebuilt, 0);
      assert.equal(compressionOf(after.attributes), codec);
      assert.deepEqual(
        [after.baseOffset, after.lastOffsetDelta, after.recordCount, after.producerId, after.producerEpoch, after.baseSequence, after.partitionLeaderEpoch, after.baseTimestamp, after.maxTimestamp],
        [500n, 3, 2, 42n, 3, 17, 9, header.baseTimestamp, 1_000n],
      );
      const decoded = await decodeRecordBatch(rebuilt, { verifyCrc: true });
      assert.deepEqual(
        decoded.records.map((record) => [record.offset, record.key?.toString() ?? null, record.value?.toString() ?? null, record.timestamp, record.headers.length]),
        [
          [500n, 'a', 'one', 1_000n, 1],
          [502n, null, 'keyless', 990n, 0],
        ],
      );
    });
  }

  it('stamps a delete horizon into the base timestamp, with every record timestamp unchanged', async () => {
    const original = await encodeRecordBatch(inputs, { compression: CompressionCodec.gzip });
    const { header, records } = await recordsOfBatch(original);
    const rebuilt = await rebuildBatch(header, records, 987_654n);
    const after = readBatchHeader(rebuilt, 0);
    assert.ok((after.attributes & ATTR_DELETE_HORIZON) !== 0);
    assert.equal(after.baseTimestamp, 987_654n);
    assert.equal(after.maxTimestamp, 1_200n);
    const decoded = await decodeRecordBatch(rebuilt, { verifyCrc: true });
    assert.deepEqual(decoded.records.map((record) => record.timestamp), inputs.map((input) => input.timestamp));
    // A batch that already has its horizon keeps it when rebuilt again.
    const again = await recordsOfBatch(rebuilt);
    const twice = await rebuildBatch(again.header, again.records.slice(1), null);
    assert.equal(readBatchHeader(twice, 0).baseTimestamp, 987_654n);
    assert.deepEqual((await decodeRecordBatch(twice)).records.map((record) => record.timestamp), [1_050n, 990n, 1_200n]);
  });

  it('empties a batch to its header: offsets, producer fields and max timestamp kept, uncompressed', async () => {
    const original = await encodeRecordBatch(inputs, { compression: CompressionCodec.zstd, baseOffset: 70n, producerId: 5n, producerEpoch: 1, baseSequence: 100 });
    const empty = emptyBatchOf(readBatchHeader(original, 0));
    assert.equal(empty.length, BATCH_HEADER_SIZE);
    assert.ok(batchCrcMatches(empty, 0, empty.length));
    const header = readBatchHeader(empty, 0);
    assert.deepEqual(
      [header.baseOffset, header.lastOffsetDelta, header.recordCount, header.producerId, header.producerEpoch, header.baseSequence, header.maxTimestamp, compressionOf(header.attributes)],
      [70n, 3, 0, 5n, 1, 100, 1_200n, CompressionCodec.none],
    );
    assert.deepEqual((await decodeRecordBatch(empty)).records, []);
  });
});
