/**
 * Batches made by independent implementations (kafka-python's DefaultRecordBatchBuilder with
 * python-snappy, python-lz4, python-zstandard and gzip; see test/fixtures/records/make-fixtures.py)
 * decode here record for record.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decompress, decompressedSizeBound, XERIAL_MAGIC } from '../../../src/protocol/records/compression.js';
import {
  BATCH_HEADER_SIZE,
  CompressionCodec,
  batchCrcMatches,
  compressionOf,
  isLogAppendTime,
} from '../../../src/protocol/records/record-batch.js';
import {
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  firstRecordAtOrAfter,
  type RecordInput,
} from '../../../src/protocol/records/records.js';

// Compiled to dist/test/unit/records/; the fixtures stay in the source tree.
const FIXTURES = new URL('../../../../test/fixtures/records/', import.meta.url);

type BytesJson = null | { hex: string } | { length: number; sha256: string };

interface ExpectedRecord {
  offset: string;
  timestamp: string;
  key: BytesJson;
  value: BytesJson;
  headers: Array<{ key: string; value: BytesJson }>;
}

interface ExpectedBatch {
  header: {
    baseOffset: string;
    partitionLeaderEpoch: number;
    magic: number;
    attributes: number;
    lastOffsetDelta: number;
    baseTimestamp: string;
    maxTimestamp: string;
    producerId: string;
    producerEpoch: number;
    baseSequence: number;
    recordCount: number;
    sizeInBytes: number;
  };
  records: ExpectedRecord[];
}

interface Fixture {
  file: string;
  description: string;
  codecs: number[];
  trailingPartialBytes: number;
  batches: ExpectedBatch[];
}

const manifest = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as { fixtures: Fixture[] };

function read(file: string): Buffer {
  return readFileSync(new URL(file, FIXTURES));
}

function bytesJson(bytes: Buffer | null): BytesJson {
  if (bytes === null) return null;
  if (bytes.length <= 64) return { hex: bytes.toString('hex') };
  return { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The batches of a fixture file, by position. */
function batchesOf(data: Buffer, fixture: Fixture): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const batch of fixture.batches) {
    out.push(data.subarray(at, at + batch.header.sizeInBytes));
    at += batch.header.sizeInBytes;
  }
  assert.equal(data.length - at, fixture.trailingPartialBytes);
  return out;
}

function fixture(file: string): Fixture {
  const found = manifest.fixtures.find((f) => f.file === file);
  assert.ok(found, `${file} is in expected.json`);
  return found;
}

describe('fixtures from kafka-python and the Python codec libraries', () => {
  it('cover every codec', () => {
    const codecs = new Set(manifest.fixtures.flatMap((f) => f.codecs));
    assert.deepEqual([...codecs].sort(), [0, 1, 2, 3, 4]);
  });

  for (const fx of manifest.fixtures) {
    it(`${fx.file}: ${fx.description}`, async () => {
      const data = read(fx.file);
      const decoded = await decodeRecordBatches(data, { verifyCrc: true });
      assert.equal(decoded.length, fx.batches.length);
      const raw = batchesOf(data, fx);
      decoded.forEach(({ header, records }, b) => {
        const want = fx.batches[b]!;
        const where = `${fx.file} batch ${b}`;
        assert.ok(batchCrcMatches(raw[b]!, 0, raw[b]!.length), `${where}: CRC`);
        assert.equal(compressionOf(header.attributes), fx.codecs[b], `${where}: codec`);
        assert.deepEqual(
          {
            baseOffset: header.baseOffset.toString(),
            partitionLeaderEpoch: header.partitionLeaderEpoch,
            magic: header.magic,
            attributes: header.attributes,
            lastOffsetDelta: header.lastOffsetDelta,
            baseTimestamp: header.baseTimestamp.toString(),
            maxTimestamp: header.maxTimestamp.toString(),
            producerId: header.producerId.toString(),
            producerEpoch: header.producerEpoch,
            baseSequence: header.baseSequence,
            recordCount: header.recordCount,
            sizeInBytes: header.sizeInBytes,
          },
          want.header,
          `${where}: header`,
        );
        assert.equal(records.length, want.records.length, `${where}: record count`);
        records.forEach((record, r) => {
          assert.deepEqual(
            {
              offset: record.offset.toString(),
              timestamp: record.timestamp.toString(),
              key: bytesJson(record.key),
              value: bytesJson(record.value),
              headers: record.headers.map((h) => ({ key: h.key, value: bytesJson(h.value) })),
            },
            want.records[r],
            `${where} record ${r}`,
          );
        });
      });
    });

    it(`${fx.file}: firstRecordAtOrAfter agrees with a scan of the expected records`, async () => {
      const raw = batchesOf(read(fx.file), fx);
      for (let b = 0; b < raw.length; b++) {
        const want = fx.batches[b]!.records.map((r) => ({ offset: BigInt(r.offset), timestamp: BigInt(r.timestamp) }));
        const targets = new Set<bigint>([0n, ...want.map((r) => r.timestamp), ...want.map((r) => r.timestamp + 1n)]);
        for (const target of targets) {
          const expected = want.find((r) => r.timestamp >= target) ?? null;
          assert.deepEqual(await firstRecordAtOrAfter(raw[b]!, target), expected, `${fx.file} batch ${b} target ${target}`);
        }
      }
    });

    it(`${fx.file}: re-encoding the decoded records with the same codec gives the same records`, async () => {
      for (const raw of batchesOf(read(fx.file), fx)) {
        const { header, records } = await decodeRecordBatch(raw);
        if (isLogAppendTime(header.attributes)) continue; // timestamps were overwritten by the stamp
        const inputs: RecordInput[] = records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }));
        const again = await encodeRecordBatch(inputs, { compression: compressionOf(header.attributes), baseOffset: header.baseOffset });
        assert.deepEqual((await decodeRecordBatch(again, { verifyCrc: true })).records, records);
      }
    });
  }

  it('exercise the framing variants they claim to', () => {
    const block = (file: string, index = 0): Buffer => {
      const fx = fixture(file);
      return batchesOf(read(file), fx)[index]!.subarray(BATCH_HEADER_SIZE);
    };
    // snappy: xerial with several 32 KiB chunks, and a raw block.
    const xerial = block('snappy-xerial.bin');
    assert.ok(xerial.subarray(0, 8).equals(XERIAL_MAGIC));
    assert.ok(decompressedSizeBound(CompressionCodec.snappy, xerial)! > 2 * 32 * 1024);
    assert.ok(!block('snappy-raw.bin').subarray(0, 8).equals(XERIAL_MAGIC));
    // lz4: linked blocks with block checksums, content checksum and content size.
    const linked = block('lz4-linked-checksums.bin');
    assert.equal(linked[4]! & 0x20, 0, 'linked blocks');
    assert.equal(linked[4]! & 0x1c, 0x1c, 'block checksum, content size, content checksum');
    assert.equal((linked[5]! >> 4) & 7, 4, '64 KiB blocks');
    assert.equal((block('lz4-4mb-blocks.bin')[5]! >> 4) & 7, 7, '4 MiB blocks');
    // zstd: with and without a content size.
    const withSize = block('zstd.bin');
    const streamed = block('zstd-stream.bin');
    assert.notEqual(withSize[4]! >> 6, 0, 'content size present');
    assert.equal(streamed[4]! >> 6, 0, 'no content size');
    assert.equal(streamed[4]! & 0x20, 0, 'not single segment');
    assert.equal(streamed[4]! & 0x04, 0x04, 'content checksum');
  });

  it('have exact LZ4 sizes computed from the sequences, and bounded zstd sizes', async () => {
    for (const fx of manifest.fixtures) {
      const raw = batchesOf(read(fx.file), fx);
      for (let b = 0; b < raw.length; b++) {
        const codec = fx.codecs[b]!;
        if (codec === CompressionCodec.none || codec === CompressionCodec.gzip) continue;
        const body = raw[b]!.subarray(BATCH_HEADER_SIZE);
        const plain = await decompress(codec, body);
        const bound = decompressedSizeBound(codec, body)!;
        if (codec === CompressionCodec.zstd) {
          assert.ok(bound >= plain.length && bound < plain.length + 128 * 1024 * 2, `${fx.file}: ${bound} vs ${plain.length}`);
        } else {
          assert.equal(bound, plain.length, fx.file);
        }
      }
    }
  });
});
