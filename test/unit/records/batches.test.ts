import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  CompressionError,
  DecompressionLimitError,
  codecName,
  compress,
} from '../../../src/protocol/records/compression.js';
import {
  BATCH_HEADER_SIZE,
  CompressionCodec,
  Offsets,
  batchCrcMatches,
  compressionOf,
  isLogAppendTime,
  isTransactional,
  readBatchHeader,
  rewriteCrc,
  stampBatchForAppend,
  validateProducedBatch,
} from '../../../src/protocol/records/record-batch.js';
import { crc32c } from '../../../src/protocol/records/crc32c.js';
import {
  buildCompressedRecordBatch,
  buildRecordBatch,
  decodeRecordBatch,
  decodeRecordBatches,
  decodeUncompressedBatch,
  encodeRecordBatch,
  encodeRecords,
  firstRecordAtOrAfter,
  type Record as KafkaRecord,
  type RecordInput,
} from '../../../src/protocol/records/records.js';

const ALL_CODECS = [
  CompressionCodec.none,
  CompressionCodec.gzip,
  CompressionCodec.snappy,
  CompressionCodec.lz4,
  CompressionCodec.zstd,
] as const;
const COMPRESSED = ALL_CODECS.filter((c) => c !== CompressionCodec.none);

function sampleRecords(count: number, base = 1_700_000_000_000n): RecordInput[] {
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      key: i % 5 === 2 ? null : `key-${i}`,
      value: i % 7 === 3 ? null : Buffer.from(`value ${i} `.repeat(1 + (i % 40))),
      headers:
        i % 3 === 0
          ? []
          : [
              { key: 'trace', value: `t${i}` },
              { key: 'null-value', value: null },
              { key: 'h\u00e9\u2713', value: Buffer.from([0, 255, i & 0xff]) },
            ],
      // Not monotonic: some records go back in time.
      timestamp: base + BigInt((i * 37) % 50) - 10n,
    });
  }
  return records;
}

function toBytes(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}

function assertRecordsMatch(actual: KafkaRecord[], inputs: RecordInput[], baseOffset: bigint): void {
  assert.equal(actual.length, inputs.length);
  inputs.forEach((input, i) => {
    const record = actual[i]!;
    assert.equal(record.offset, baseOffset + BigInt(i), `record ${i} offset`);
    assert.equal(record.timestamp, input.timestamp, `record ${i} timestamp`);
    assert.deepEqual(record.key, toBytes(input.key), `record ${i} key`);
    assert.deepEqual(record.value, toBytes(input.value), `record ${i} value`);
    assert.deepEqual(
      record.headers,
      (input.headers ?? []).map((h) => ({ key: h.key, value: toBytes(h.value) })),
      `record ${i} headers`,
    );
  });
}

function maxOf(values: bigint[]): bigint {
  return values.reduce((a, b) => (b > a ? b : a));
}

describe('crc32c', () => {
  it('is CRC-32C (Castagnoli), not the zlib CRC-32: the standard check value', () => {
    // RFC 3720's check value for "123456789"; CRC-32 (IEEE) would give 0xcbf43926.
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  });

  it('continues from a previous state', () => {
    const whole = Buffer.from('record batch v2 checksums attributes through the last record');
    assert.equal(crc32c(whole.subarray(20), crc32c(whole.subarray(0, 20))), crc32c(whole));
  });
});

describe('encodeRecordBatch / decodeRecordBatch', () => {
  for (const codec of ALL_CODECS) {
    it(`${codecName(codec)}: builds a valid batch whose records decode back`, async () => {
      const inputs = sampleRecords(120);
      const batch = await encodeRecordBatch(inputs, {
        compression: codec,
        baseOffset: 5000n,
        producerId: 77n,
        producerEpoch: 2,
        baseSequence: 40,
        partitionLeaderEpoch: 9,
      });
      assert.ok(batchCrcMatches(batch, 0, batch.length), 'CRC-32C');
      const header = readBatchHeader(batch, 0);
      assert.equal(header.sizeInBytes, batch.length);
      assert.equal(header.magic, 2);
      assert.equal(compressionOf(header.attributes), codec);
      assert.equal(header.recordCount, 120);
      assert.equal(header.lastOffsetDelta, 119);
      assert.equal(header.baseOffset, 5000n);
      assert.equal(header.partitionLeaderEpoch, 9);
      assert.equal(header.producerId, 77n);
      assert.equal(header.producerEpoch, 2);
      assert.equal(header.baseSequence, 40);
      assert.equal(header.baseTimestamp, inputs[0]!.timestamp);
      assert.equal(header.maxTimestamp, maxOf(inputs.map((r) => r.timestamp!)));
      if (codec !== CompressionCodec.none) {
        assert.ok(batch.length < BATCH_HEADER_SIZE + encodeRecords(inputs, header.baseTimestamp).length, 'compressed');
      }
      // The produce path's validation accepts it.
      const validation = validateProducedBatch(batch, 1 << 20);
      assert.ok(validation.ok, validation.ok ? '' : validation.message);

      const decoded = await decodeRecordBatch(batch, { verifyCrc: true });
      assert.deepEqual(decoded.header, header);
      assertRecordsMatch(decoded.records, inputs, 5000n);
    });

    it(`${codecName(codec)}: a single record with no key, value or headers`, async () => {
      const batch = await encodeRecordBatch([{ value: null, timestamp: 42n }], { compression: codec });
      const { records } = await decodeRecordBatch(batch, { verifyCrc: true });
      assert.deepEqual(records, [{ key: null, value: null, headers: [], timestamp: 42n, offset: 0n }]);
    });

    it(`${codecName(codec)}: a 2 MiB record survives`, async () => {
      const big = Buffer.alloc(2 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
      const batch = await encodeRecordBatch([{ key: 'big', value: big, timestamp: 1n }], { compression: codec });
      const { records } = await decodeRecordBatch(batch);
      assert.ok(records[0]!.value!.equals(big));
    });
  }

  it('buildCompressedRecordBatch is encodeRecordBatch', () => {
    assert.equal(buildCompressedRecordBatch, encodeRecordBatch);
  });

  it('codec none gives exactly the bytes of the sync buildRecordBatch', async () => {
    const inputs = sampleRecords(10);
    const options = { baseOffset: 3n, producerId: 1n };
    assert.deepEqual(await encodeRecordBatch(inputs, options), buildRecordBatch(inputs, options));
  });

  it('keeps the sync uncompressed API working', () => {
    const inputs = sampleRecords(8);
    const batch = buildRecordBatch(inputs, { baseOffset: 10n });
    assertRecordsMatch(decodeUncompressedBatch(batch).records, inputs, 10n);
    assert.throws(() => buildRecordBatch(inputs, { compression: CompressionCodec.gzip }), /buildCompressedRecordBatch/);
  });

  it('sets the transactional bit and honours a compression level', async () => {
    const inputs = sampleRecords(30);
    const batch = await encodeRecordBatch(inputs, { compression: CompressionCodec.gzip, transactional: true, compressionLevel: 1 });
    assert.ok(isTransactional(readBatchHeader(batch).attributes));
    assertRecordsMatch((await decodeRecordBatch(batch)).records, inputs, 0n);
  });

  it('refuses empty batches and unknown codecs', async () => {
    await assert.rejects(encodeRecordBatch([], { compression: CompressionCodec.zstd }), RangeError);
    await assert.rejects(encodeRecordBatch(sampleRecords(1), { compression: 6 }), CompressionError);
  });

  it('decodes LogAppendTime batches with every record at the batch maxTimestamp', async () => {
    for (const codec of ALL_CODECS) {
      const inputs = sampleRecords(20);
      const batch = await encodeRecordBatch(inputs, { compression: codec });
      stampBatchForAppend(batch, 0, batch.length, 900n, 4, 1_800_000_000_000n);
      assert.ok(batchCrcMatches(batch, 0, batch.length));
      const { header, records } = await decodeRecordBatch(batch, { verifyCrc: true });
      assert.ok(isLogAppendTime(header.attributes));
      assert.equal(records.length, 20);
      records.forEach((r, i) => {
        assert.equal(r.timestamp, 1_800_000_000_000n);
        assert.equal(r.offset, 900n + BigInt(i));
      });
    }
  });
});

describe('decodeRecordBatch errors', () => {
  it('rejects a buffer too short for a header, a batch longer than the buffer, and other magics', async () => {
    const batch = await encodeRecordBatch(sampleRecords(5), { compression: CompressionCodec.lz4 });
    await assert.rejects(decodeRecordBatch(batch.subarray(0, 60)), RangeError);
    await assert.rejects(decodeRecordBatch(batch.subarray(0, batch.length - 1)), /does not fit/);
    const magic1 = Buffer.from(batch);
    magic1[Offsets.magic] = 1;
    await assert.rejects(decodeRecordBatch(magic1), /magic 1/);
  });

  it('checks the CRC only when asked', async () => {
    const batch = await encodeRecordBatch(sampleRecords(5), { compression: CompressionCodec.none });
    const damaged = Buffer.from(batch);
    damaged[batch.length - 1] = damaged[batch.length - 1]! ^ 1; // inside the last header value
    await assert.rejects(decodeRecordBatch(damaged, { verifyCrc: true }), /CRC-32C/);
    assert.equal((await decodeRecordBatch(damaged)).records.length, 5);
  });

  for (const codec of COMPRESSED) {
    it(`${codecName(codec)}: a corrupt compressed block fails with CompressionError, not a crash`, async () => {
      const batch = await encodeRecordBatch(sampleRecords(50), { compression: codec });
      // Truncate the compressed block (and fix the framing and CRC so only the block is wrong).
      const cut = Buffer.from(batch.subarray(0, BATCH_HEADER_SIZE + Math.floor((batch.length - BATCH_HEADER_SIZE) / 2)));
      cut.writeInt32BE(cut.length - 12, Offsets.batchLength);
      rewriteCrc(cut, 0, cut.length);
      await assert.rejects(decodeRecordBatch(cut, { verifyCrc: true }), CompressionError);
      // Garbage instead of the block.
      const garbage = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), Buffer.from('this is not a compressed block at all')]);
      garbage.writeInt32BE(garbage.length - 12, Offsets.batchLength);
      rewriteCrc(garbage, 0, garbage.length);
      await assert.rejects(decodeRecordBatch(garbage), CompressionError);
    });
  }

  it('a batch whose codec bits do not match its block fails with CompressionError', async () => {
    const batch = await encodeRecordBatch(sampleRecords(20), { compression: CompressionCodec.gzip });
    batch.writeInt16BE(CompressionCodec.lz4, Offsets.attributes);
    rewriteCrc(batch, 0, batch.length);
    await assert.rejects(decodeRecordBatch(batch), CompressionError);
  });

  it('an unknown codec in the attributes fails with CompressionError', async () => {
    const batch = await encodeRecordBatch(sampleRecords(2));
    batch.writeInt16BE(5, Offsets.attributes);
    await assert.rejects(decodeRecordBatch(batch), CompressionError);
  });

  for (const codec of [CompressionCodec.gzip, CompressionCodec.zstd] as const) {
    it(`${codecName(codec)}: a decompression bomb inside a batch fails with DecompressionLimitError`, async () => {
      const batch = await encodeRecordBatch([{ value: Buffer.alloc(4 * 1024 * 1024), timestamp: 1n }], { compression: codec });
      assert.ok(batch.length < 64 * 1024, `batch is ${batch.length} bytes`);
      await assert.rejects(decodeRecordBatch(batch, { maxOutputBytes: 1024 * 1024 }), DecompressionLimitError);
      await assert.rejects(firstRecordAtOrAfter(batch, 0n, { maxOutputBytes: 1024 * 1024 }), DecompressionLimitError);
      assert.equal((await decodeRecordBatch(batch)).records[0]!.value!.length, 4 * 1024 * 1024);
    });
  }

  it('rejects bytes left over after the last record of a compressed block', async () => {
    const inputs = sampleRecords(3);
    const good = await encodeRecordBatch(inputs, { compression: CompressionCodec.gzip });
    const body = Buffer.concat([encodeRecords(inputs, inputs[0]!.timestamp!), Buffer.from([1, 2, 3])]);
    const batch = Buffer.concat([good.subarray(0, BATCH_HEADER_SIZE), gzipSync(body)]);
    batch.writeInt32BE(batch.length - 12, Offsets.batchLength);
    rewriteCrc(batch, 0, batch.length);
    await assert.rejects(decodeRecordBatch(batch), /3 bytes follow the last of 3 records/);
  });

  it('rejects a record count larger than the records present', async () => {
    const batch = await encodeRecordBatch(sampleRecords(3), { compression: CompressionCodec.snappy });
    batch.writeInt32BE(4, Offsets.recordCount);
    await assert.rejects(decodeRecordBatch(batch), /malformed record 3/);
  });

  it('rejects a record whose length does not match its fields', async () => {
    const inputs = sampleRecords(2);
    const body = encodeRecords(inputs, inputs[0]!.timestamp!);
    body[0] = body[0]! + 2; // first record claims one more byte (zig-zag: +2 = +1)
    const good = await encodeRecordBatch(inputs, { compression: CompressionCodec.zstd });
    const batch = Buffer.concat([good.subarray(0, BATCH_HEADER_SIZE), await compress(CompressionCodec.zstd, body)]);
    batch.writeInt32BE(batch.length - 12, Offsets.batchLength);
    await assert.rejects(decodeRecordBatch(batch), /malformed record 0/);
  });
});

describe('decodeRecordBatches', () => {
  it('walks batches of every codec back to back and ignores a trailing partial batch', async () => {
    const inputs: RecordInput[][] = [];
    const parts: Buffer[] = [];
    let offset = 100n;
    for (const codec of ALL_CODECS) {
      const records = sampleRecords(3 + codec * 4, 1_000_000n * BigInt(codec + 1));
      inputs.push(records);
      parts.push(await encodeRecordBatch(records, { compression: codec, baseOffset: offset }));
      offset += BigInt(records.length);
    }
    const whole = Buffer.concat(parts);
    const extra = await encodeRecordBatch(sampleRecords(5), { compression: CompressionCodec.gzip, baseOffset: offset });
    for (const trailing of [0, 5, 12, 61, 70, extra.length - 1]) {
      const decoded = await decodeRecordBatches(Buffer.concat([whole, extra.subarray(0, trailing)]), { verifyCrc: true });
      assert.equal(decoded.length, ALL_CODECS.length, `trailing ${trailing}`);
      let base = 100n;
      decoded.forEach((batch, i) => {
        assert.equal(compressionOf(batch.header.attributes), ALL_CODECS[i]);
        assertRecordsMatch(batch.records, inputs[i]!, base);
        base += BigInt(inputs[i]!.length);
      });
    }
    assert.equal((await decodeRecordBatches(Buffer.concat([whole, extra]))).length, ALL_CODECS.length + 1);
  });

  it('returns nothing for an empty buffer or a lone partial batch', async () => {
    assert.deepEqual(await decodeRecordBatches(Buffer.alloc(0)), []);
    const batch = await encodeRecordBatch(sampleRecords(4), { compression: CompressionCodec.zstd });
    assert.deepEqual(await decodeRecordBatches(batch.subarray(0, batch.length - 1)), []);
  });

  it('throws on an impossible batch length rather than skipping silently', async () => {
    const batch = await encodeRecordBatch(sampleRecords(4));
    const bad = Buffer.concat([batch, batch]);
    bad.writeInt32BE(10, batch.length + Offsets.batchLength);
    await assert.rejects(decodeRecordBatches(bad), /corrupt batch length/);
  });
});

describe('firstRecordAtOrAfter', () => {
  const timestamps = [100n, 300n, 200n, 400n, 250n];
  const inputs: RecordInput[] = timestamps.map((timestamp, i) => ({ key: `k${i}`, value: `v${i}`, timestamp }));

  for (const codec of ALL_CODECS) {
    it(`${codecName(codec)}: finds the first record in offset order at or after the target`, async () => {
      const batch = await encodeRecordBatch(inputs, { compression: codec, baseOffset: 1000n });
      const cases: Array<[bigint, { offset: bigint; timestamp: bigint } | null]> = [
        [0n, { offset: 1000n, timestamp: 100n }],
        [100n, { offset: 1000n, timestamp: 100n }],
        [101n, { offset: 1001n, timestamp: 300n }],
        [250n, { offset: 1001n, timestamp: 300n }], // 300 at offset 1001 comes before 250 at 1004
        [300n, { offset: 1001n, timestamp: 300n }],
        [301n, { offset: 1003n, timestamp: 400n }],
        [400n, { offset: 1003n, timestamp: 400n }],
        [401n, null],
      ];
      for (const [target, expected] of cases) {
        assert.deepEqual(await firstRecordAtOrAfter(batch, target), expected, `target ${target}`);
      }
      // Starting inside the batch.
      assert.deepEqual(await firstRecordAtOrAfter(batch, 250n, { minOffset: 1002n }), { offset: 1003n, timestamp: 400n });
      assert.deepEqual(await firstRecordAtOrAfter(batch, 0n, { minOffset: 1004n }), { offset: 1004n, timestamp: 250n });
      assert.equal(await firstRecordAtOrAfter(batch, 0n, { minOffset: 1005n }), null);
    });

    it(`${codecName(codec)}: LogAppendTime batches answer with the batch maxTimestamp`, async () => {
      const batch = await encodeRecordBatch(inputs, { compression: codec });
      stampBatchForAppend(batch, 0, batch.length, 2000n, 1, 5000n);
      assert.deepEqual(await firstRecordAtOrAfter(batch, 0n), { offset: 2000n, timestamp: 5000n });
      assert.deepEqual(await firstRecordAtOrAfter(batch, 5000n), { offset: 2000n, timestamp: 5000n });
      assert.deepEqual(await firstRecordAtOrAfter(batch, 5000n, { minOffset: 2003n }), { offset: 2003n, timestamp: 5000n });
      assert.equal(await firstRecordAtOrAfter(batch, 5001n), null);
    });
  }

  it('answers a batch whose maxTimestamp is below the target without decompressing it', async () => {
    const batch = await encodeRecordBatch(inputs, { compression: CompressionCodec.zstd });
    const garbage = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), Buffer.from('not zstd')]);
    garbage.writeInt32BE(garbage.length - 12, Offsets.batchLength);
    assert.equal(await firstRecordAtOrAfter(garbage, 401n), null);
    await assert.rejects(firstRecordAtOrAfter(garbage, 400n), CompressionError);
  });

  it('rejects malformed records', async () => {
    const batch = await encodeRecordBatch(inputs);
    batch.writeInt32BE(6, Offsets.recordCount);
    assert.deepEqual(await firstRecordAtOrAfter(batch, 400n), { offset: 3n, timestamp: 400n });
    await assert.rejects(firstRecordAtOrAfter(batch, 399n, { minOffset: 4n }), RangeError);
  });
});
