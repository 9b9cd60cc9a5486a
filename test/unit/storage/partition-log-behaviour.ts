/**
 * The behaviour every PartitionLog must have, run against each engine (file and memory), so the two
 * cannot drift apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompressionCodec, isLogAppendTime } from '../../../src/protocol/records/record-batch.js';
import { encodeRecordBatch } from '../../../src/protocol/records/records.js';
import type { LogConfig } from '../../../src/storage/engine.js';
import { TestClock, batchOf, logConfig, readAll, splitBatches, valuesOf, type TestLog } from './helpers.js';

export interface EngineHarness {
  /** Opens the partition under test (fresh on the first call). */
  open(config: LogConfig, clock: TestClock): Promise<TestLog>;
  /** Closes the partition and opens it again: a broker restart for a durable engine. */
  reopen(config: LogConfig, clock: TestClock): Promise<TestLog>;
  dispose(): Promise<void>;
}

export function definePartitionLogSuite(name: string, makeHarness: () => Promise<EngineHarness>): void {
  async function withLog(
    overrides: Partial<LogConfig>,
    run: (log: TestLog, context: { clock: TestClock; harness: EngineHarness; config: LogConfig }) => Promise<void>,
  ): Promise<void> {
    const harness = await makeHarness();
    const clock = new TestClock();
    const config = logConfig(overrides);
    try {
      const log = await harness.open(config, clock);
      await run(log, { clock, harness, config });
    } finally {
      await harness.dispose();
    }
  }

  const append = (log: TestLog, batch: Buffer) => log.append(batch, { durable: false, leaderEpoch: 0 });

  describe(`${name}: partition log behaviour`, () => {
    it('starts empty', async () => {
      await withLog({}, async (log) => {
        assert.equal(log.logStartOffset, 0n);
        assert.equal(log.logEndOffset, 0n);
        assert.equal(log.sizeInBytes, 0);
        const read = await log.read(0n, 1000);
        assert.equal(read.records.length, 0);
        assert.equal(read.highWatermark, 0n);
        assert.equal(await log.offsetForTimestamp(0n), null);
        assert.equal(await log.maxTimestamp(), null);
      });
    });

    it('assigns sequential offsets across many appends and multi-batch appends', async () => {
      await withLog({}, async (log) => {
        let expected = 0n;
        let bytes = 0;
        for (let i = 0; i < 40; i++) {
          const count = (i % 5) + 1;
          const batch = batchOf(count, { label: `a${i}` });
          bytes += batch.length;
          const result = await append(log, batch);
          assert.equal(result.baseOffset, expected);
          assert.equal(result.lastOffset, expected + BigInt(count) - 1n);
          assert.equal(result.logAppendTime, -1n);
          assert.equal(result.logStartOffset, 0n);
          expected += BigInt(count);
        }
        const two = Buffer.concat([batchOf(2, { label: 'x' }), batchOf(3, { label: 'y' })]);
        const result = await append(log, two);
        assert.equal(result.baseOffset, expected);
        assert.equal(result.lastOffset, expected + 4n);
        expected += 5n;
        bytes += two.length;
        assert.equal(log.logEndOffset, expected);
        assert.equal(log.sizeInBytes, bytes);
        const batches = await readAll(log);
        let next = 0n;
        for (const batch of batches) {
          assert.equal(batch.header.baseOffset, next);
          next += BigInt(batch.header.lastOffsetDelta) + 1n;
        }
        assert.equal(next, expected);
      });
    });

    it('refuses bytes that are not whole batches, appending nothing', async () => {
      await withLog({}, async (log) => {
        const batch = batchOf(2);
        await assert.rejects(append(log, batch.subarray(0, batch.length - 3)), { code: 'TRIB_ERR_STORAGE_BAD_BATCH' });
        await assert.rejects(append(log, Buffer.alloc(0)), { code: 'TRIB_ERR_STORAGE_BAD_BATCH' });
        assert.equal((await append(log, batchOf(1))).baseOffset, 0n);
      });
    });

    it('stamps the leader epoch', async () => {
      await withLog({}, async (log) => {
        await log.append(batchOf(1), { durable: false, leaderEpoch: 7 });
        const [batch] = splitBatches((await log.read(0n, 1000)).records);
        assert.equal(batch!.header.partitionLeaderEpoch, 7);
      });
    });

    it('reads at every offset land on the batch containing it', async () => {
      await withLog({ segmentBytes: 1000, indexIntervalBytes: 100 }, async (log) => {
        for (let i = 0; i < 30; i++) await append(log, batchOf((i % 4) + 1, { label: `b${i}`, valueSize: 20 }));
        assert.ok(log.segmentBaseOffsets().length > 2, 'several segments');
        for (let offset = 0n; offset < log.logEndOffset; offset++) {
          const { records, highWatermark } = await log.read(offset, 1);
          assert.equal(highWatermark, log.logEndOffset);
          const batches = splitBatches(records);
          assert.equal(batches.length, 1, 'maxBytes 1 returns exactly one batch');
          const header = batches[0]!.header;
          assert.ok(header.baseOffset <= offset && offset <= header.baseOffset + BigInt(header.lastOffsetDelta), `batch holds ${offset}`);
        }
        assert.equal((await log.read(log.logEndOffset, 1000)).records.length, 0);
      });
    });

    it('returns a first batch larger than maxBytes whole (KIP-74)', async () => {
      await withLog({}, async (log) => {
        await append(log, batchOf(1, { valueSize: 5000 }));
        await append(log, batchOf(1, { valueSize: 10 }));
        const { records } = await log.read(0n, 100);
        const batches = splitBatches(records);
        assert.equal(batches.length, 1);
        assert.ok(records.length > 5000);
      });
    });

    it('respects maxBytes otherwise, with whole batches only', async () => {
      await withLog({}, async (log) => {
        const batch = batchOf(2, { valueSize: 100 });
        for (let i = 0; i < 20; i++) await append(log, batchOf(2, { valueSize: 100 }));
        const size = batch.length;
        for (const maxBytes of [size, size + 1, 3 * size - 1, 3 * size, 10 * size + 7]) {
          const { records } = await log.read(0n, maxBytes);
          assert.ok(records.length <= maxBytes, `${records.length} <= ${maxBytes}`);
          assert.equal(records.length, Math.floor(maxBytes / size) * size);
          splitBatches(records);
        }
        const { records } = await log.read(4n, 2 * size);
        assert.equal(splitBatches(records)[0]!.header.baseOffset, 4n);
      });
    });

    it('applies concurrent appends in call order', async () => {
      await withLog({ segmentBytes: 3000 }, async (log) => {
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => append(log, batchOf((i % 3) + 1, { label: `c${i}` }))));
        let expected = 0n;
        results.forEach((result, i) => {
          assert.equal(result.baseOffset, expected, `append ${i}`);
          expected += BigInt((i % 3) + 1);
        });
        const values = valuesOf(Buffer.concat((await readAll(log)).map((batch) => batch.bytes)));
        const wanted = Array.from({ length: 100 }, (_, i) => Array.from({ length: (i % 3) + 1 }, (_, j) => `c${i}-${j}`)).flat();
        assert.deepEqual(values, wanted);
      });
    });

    it('rolls segments by segment.bytes and reads across their boundaries', async () => {
      await withLog({ segmentBytes: 1000 }, async (log) => {
        const size = batchOf(1, { valueSize: 200 }).length;
        for (let i = 0; i < 12; i++) await append(log, batchOf(1, { label: `s${i}`, valueSize: 200 }));
        const perSegment = Math.floor(1000 / size);
        const expectedBases = Array.from({ length: Math.ceil(12 / perSegment) }, (_, i) => BigInt(i * perSegment));
        assert.deepEqual(log.segmentBaseOffsets(), expectedBases);
        // A read starting at a segment's last batch stays in that segment; the next read continues.
        const boundary = expectedBases[1]!;
        const { records } = await log.read(boundary - 1n, 1 << 20);
        assert.deepEqual(splitBatches(records).map((batch) => batch.header.baseOffset), [boundary - 1n]);
        const next = await log.read(boundary, 1 << 20);
        assert.equal(splitBatches(next.records)[0]!.header.baseOffset, boundary);
        assert.deepEqual(
          valuesOf(Buffer.concat((await readAll(log)).map((batch) => batch.bytes))),
          Array.from({ length: 12 }, (_, i) => `s${i}-0`.padEnd(200, '.')),
        );
      });
    });

    it('puts a batch larger than segment.bytes into a segment of its own', async () => {
      await withLog({ segmentBytes: 500 }, async (log) => {
        await append(log, batchOf(1, { valueSize: 100 }));
        await append(log, batchOf(1, { valueSize: 2000 }));
        await append(log, batchOf(1, { valueSize: 100 }));
        assert.deepEqual(log.segmentBaseOffsets(), [0n, 1n, 2n]);
        assert.equal((await readAll(log)).length, 3);
      });
    });

    it('rolls segments by segment.ms', async () => {
      await withLog({ segmentMs: 1000 }, async (log, { clock }) => {
        await append(log, batchOf(1));
        clock.now += 500;
        await append(log, batchOf(1));
        assert.deepEqual(log.segmentBaseOffsets(), [0n]);
        clock.now += 501; // 1001 ms after the segment's first append
        await append(log, batchOf(1));
        assert.deepEqual(log.segmentBaseOffsets(), [0n, 2n]);
        clock.now += 999;
        await append(log, batchOf(1));
        assert.deepEqual(log.segmentBaseOffsets(), [0n, 2n]);
        clock.now += 2;
        await append(log, batchOf(1));
        assert.deepEqual(log.segmentBaseOffsets(), [0n, 2n, 4n]);
      });
    });

    it('keeps every offset and byte across a restart', async () => {
      await withLog({ segmentBytes: 1500, indexIntervalBytes: 128 }, async (log, { clock, harness, config }) => {
        for (let i = 0; i < 25; i++) await append(log, batchOf((i % 3) + 1, { label: `r${i}`, valueSize: 40, timestamp: BigInt(1000 + i) }));
        const before = Buffer.concat((await readAll(log)).map((batch) => batch.bytes));
        const segments = log.segmentBaseOffsets();
        const end = log.logEndOffset;
        const size = log.sizeInBytes;
        const reopened = await harness.reopen(config, clock);
        assert.equal(reopened.logEndOffset, end);
        assert.equal(reopened.sizeInBytes, size);
        assert.deepEqual(reopened.segmentBaseOffsets(), segments);
        assert.deepEqual(Buffer.concat((await readAll(reopened)).map((batch) => batch.bytes)), before);
        for (let offset = 0n; offset < end; offset++) {
          const [batch] = splitBatches((await reopened.read(offset, 1)).records);
          assert.ok(batch!.header.baseOffset <= offset && offset <= batch!.header.baseOffset + BigInt(batch!.header.lastOffsetDelta));
        }
        assert.deepEqual(await reopened.maxTimestamp(), { offset: (await reopened.offsetForTimestamp(1024n))!.offset, timestamp: 1024n });
        const next = await append(reopened, batchOf(1));
        assert.equal(next.baseOffset, end);
      });
    });

    it('retention.bytes deletes the oldest whole segments and moves the log start', async () => {
      await withLog({ segmentBytes: 1000, retentionBytes: 2500, retentionMs: -1 }, async (log) => {
        for (let i = 0; i < 20; i++) await append(log, batchOf(1, { valueSize: 200 }));
        const segmentsBefore = log.segmentBaseOffsets();
        const sizeBefore = log.sizeInBytes;
        const deleted = await log.enforceRetention(Date.now());
        assert.ok(deleted > 0);
        const remaining = log.segmentBaseOffsets();
        assert.deepEqual(remaining, segmentsBefore.slice(deleted));
        assert.equal(log.logStartOffset, remaining[0]);
        assert.ok(log.sizeInBytes <= sizeBefore);
        // Kafka deletes only while the log stays above the limit by a whole segment.
        assert.ok(log.sizeInBytes > 2500 - 1000 && log.sizeInBytes <= 2500 + 1000, `size ${log.sizeInBytes}`);
        assert.equal(await log.enforceRetention(Date.now()), 0);
        const { records, logStartOffset } = await log.read(log.logStartOffset, 1 << 20);
        assert.equal(logStartOffset, remaining[0]);
        assert.equal(splitBatches(records)[0]!.header.baseOffset, remaining[0]);
        assert.equal((await append(log, batchOf(1))).baseOffset, 20n);
      });
    });

    it('retention.ms deletes segments whose newest record is too old', async () => {
      await withLog({ segmentBytes: 700, retentionMs: 10_000 }, async (log) => {
        for (let i = 0; i < 10; i++) await append(log, batchOf(1, { valueSize: 200, timestamp: BigInt(100_000 + i * 1000) }));
        const segments = log.segmentBaseOffsets();
        assert.ok(segments.length >= 4);
        // Segment max timestamps: each holds some batches of consecutive seconds.
        assert.equal(await log.enforceRetention(100_000 + 5_000), 0);
        const deleted = await log.enforceRetention(100_000 + 15_500);
        assert.ok(deleted > 0 && deleted < segments.length, `deleted ${deleted}`);
        assert.equal(log.logStartOffset, segments[deleted]);
        // Every remaining segment has a record newer than now - retention.
        const first = splitBatches((await log.read(log.logStartOffset, 1 << 20)).records);
        assert.ok(first.some((batch) => batch.header.maxTimestamp >= 100_000n + 15_500n - 10_000n));
      });
    });

    it('retention that covers the active segment rolls first and keeps the log end', async () => {
      await withLog({ segmentBytes: 700, retentionMs: 1000 }, async (log) => {
        for (let i = 0; i < 6; i++) await append(log, batchOf(1, { valueSize: 200, timestamp: 5000n }));
        const count = log.segmentBaseOffsets().length;
        assert.equal(await log.enforceRetention(1_000_000), count);
        assert.deepEqual(log.segmentBaseOffsets(), [6n]);
        assert.equal(log.logStartOffset, 6n);
        assert.equal(log.logEndOffset, 6n);
        assert.equal(log.sizeInBytes, 0);
        assert.equal((await log.read(6n, 1000)).records.length, 0);
        assert.equal(await log.enforceRetention(2_000_000), 0, 'an empty active segment is never deleted');
        assert.equal((await append(log, batchOf(1))).baseOffset, 6n);
        assert.equal(splitBatches((await log.read(6n, 1000)).records)[0]!.header.baseOffset, 6n);
      });
    });

    it('deleteRecordsBefore moves the log start and deletes whole segments below it', async () => {
      await withLog({ segmentBytes: 1000 }, async (log) => {
        for (let i = 0; i < 12; i++) await append(log, batchOf(2, { valueSize: 100 }));
        const segments = log.segmentBaseOffsets();
        assert.ok(segments.length >= 3);
        const inside = segments[1]! + 1n;
        assert.equal(await log.deleteRecordsBefore(inside), inside);
        assert.equal(log.logStartOffset, inside);
        assert.deepEqual(log.segmentBaseOffsets(), segments.slice(1), 'the segment holding the new start stays');
        assert.equal(await log.deleteRecordsBefore(3n), inside, 'never moves back');
        const read = await log.read(inside, 1 << 20);
        assert.equal(read.logStartOffset, inside);
        assert.equal(await log.deleteRecordsBefore(segments[2]!), segments[2]);
        assert.deepEqual(log.segmentBaseOffsets(), segments.slice(2));
        assert.equal(await log.deleteRecordsBefore(1000n), log.logEndOffset, 'clamped to the log end');
        assert.equal((await append(log, batchOf(1))).logStartOffset, 24n);
      });
    });

    it('offsetForTimestamp finds the first record at or after a timestamp, inside batches', async () => {
      await withLog({ segmentBytes: 600, indexIntervalBytes: 64 }, async (log) => {
        // Batch i holds 1000 + 30i, +10, +20 at offsets 3i..3i+2, except batch 7 (offsets 21-23),
        // which holds older records 500, 600, 700.
        const records: Array<{ offset: bigint; timestamp: bigint }> = [];
        for (let i = 0; i < 15; i++) {
          const base = BigInt(1000 + 30 * i);
          const timestamps = i === 7 ? [500n, 600n, 700n] : [base, base + 10n, base + 20n];
          await append(log, batchOf(3, { timestamps, valueSize: 30 }));
          timestamps.forEach((timestamp, j) => records.push({ offset: BigInt(3 * i + j), timestamp }));
        }
        assert.ok(log.segmentBaseOffsets().length > 2);
        assert.deepEqual(await log.offsetForTimestamp(0n), { offset: 0n, timestamp: 1000n });
        assert.deepEqual(await log.offsetForTimestamp(1000n), { offset: 0n, timestamp: 1000n });
        assert.deepEqual(await log.offsetForTimestamp(1001n), { offset: 1n, timestamp: 1010n });
        assert.deepEqual(await log.offsetForTimestamp(1015n), { offset: 2n, timestamp: 1020n });
        assert.deepEqual(await log.offsetForTimestamp(1021n), { offset: 3n, timestamp: 1030n });
        assert.deepEqual(await log.offsetForTimestamp(1211n), { offset: 24n, timestamp: 1240n });
        assert.deepEqual(await log.offsetForTimestamp(1440n), { offset: 44n, timestamp: 1440n });
        assert.equal(await log.offsetForTimestamp(1441n), null);
        for (let target = 400n; target <= 1450n; target += 7n) {
          const expected = records.find((record) => record.timestamp >= target) ?? null;
          assert.deepEqual(await log.offsetForTimestamp(target), expected, `search for ${target}`);
        }
        // Records below the log start offset are not answers.
        await log.deleteRecordsBefore(4n);
        assert.deepEqual(await log.offsetForTimestamp(0n), { offset: 4n, timestamp: 1040n });
      });
    });

    it('LogAppendTime topics get the append time stamped and searched', async () => {
      await withLog({ timestampType: 'LogAppendTime' }, async (log, { clock }) => {
        clock.now = 50_000;
        const first = await append(log, batchOf(3, { timestamps: [1n, 2n, 3n] }));
        assert.equal(first.logAppendTime, 50_000n);
        clock.now = 60_000;
        const second = await append(log, batchOf(2, { timestamps: [1n, 2n] }));
        assert.equal(second.logAppendTime, 60_000n);
        const batches = splitBatches((await log.read(0n, 1 << 20)).records);
        assert.equal(batches.length, 2);
        assert.ok(isLogAppendTime(batches[0]!.header.attributes));
        assert.equal(batches[0]!.header.maxTimestamp, 50_000n);
        assert.equal(batches[1]!.header.maxTimestamp, 60_000n);
        assert.deepEqual(await log.offsetForTimestamp(3n), { offset: 0n, timestamp: 50_000n });
        assert.deepEqual(await log.offsetForTimestamp(50_001n), { offset: 3n, timestamp: 60_000n });
        assert.deepEqual(await log.maxTimestamp(), { offset: 3n, timestamp: 60_000n });
      });
    });

    it('maxTimestamp finds the record with the largest timestamp, earliest among equals', async () => {
      await withLog({ segmentBytes: 400 }, async (log) => {
        await append(log, batchOf(3, { timestamps: [100n, 900n, 300n] }));
        await append(log, batchOf(2, { timestamps: [400n, 800n] }));
        await append(log, batchOf(3, { timestamps: [200n, 100n, 900n], valueSize: 100 }));
        await append(log, batchOf(1, { timestamps: [500n], valueSize: 200 }));
        assert.ok(log.segmentBaseOffsets().length >= 2);
        assert.deepEqual(await log.maxTimestamp(), { offset: 1n, timestamp: 900n });
        await log.deleteRecordsBefore(2n);
        assert.deepEqual(await log.maxTimestamp(), { offset: 7n, timestamp: 900n });
      });
    });

    it('searches timestamps inside compressed batches', async () => {
      await withLog({}, async (log) => {
        const records = [100n, 300n, 200n, 300n].map((timestamp, i) => ({ value: `z${i}`, timestamp }));
        await append(log, await encodeRecordBatch(records, { compression: CompressionCodec.gzip }));
        await append(log, await encodeRecordBatch(records.slice(0, 2), { compression: CompressionCodec.zstd }));
        assert.deepEqual(await log.offsetForTimestamp(150n), { offset: 1n, timestamp: 300n });
        assert.deepEqual(await log.offsetForTimestamp(301n), null);
        assert.deepEqual(await log.maxTimestamp(), { offset: 1n, timestamp: 300n });
        await log.deleteRecordsBefore(2n);
        assert.deepEqual(await log.offsetForTimestamp(150n), { offset: 2n, timestamp: 200n });
        assert.deepEqual(await log.maxTimestamp(), { offset: 3n, timestamp: 300n });
        await log.deleteRecordsBefore(4n);
        assert.deepEqual(await log.offsetForTimestamp(150n), { offset: 5n, timestamp: 300n });
      });
    });

    it('a read answers nothing above the high watermark it reports, even when appends commit while it runs', async () => {
      await withLog({}, async (log) => {
        await append(log, batchOf(2, { label: 'before' }));
        const reading = log.read(0n, 1 << 20);
        // Written and committed while the read waits for its indexes and the file.
        await append(log, batchOf(3, { label: 'during' }));
        const { records, highWatermark } = await reading;
        assert.equal(highWatermark, 2n);
        assert.deepEqual(valuesOf(records), ['before-0', 'before-1']);
      });
    });

    it('reads concurrent with appends only ever see whole batches', async () => {
      await withLog({ segmentBytes: 4000 }, async (log) => {
        const appends: Array<Promise<unknown>> = [];
        const reads: Array<Promise<void>> = [];
        for (let i = 0; i < 60; i++) {
          appends.push(append(log, batchOf(2, { label: `w${i}`, valueSize: 50 })));
          reads.push(
            log.read(BigInt(Math.max(0, i * 2 - 6)), 1 << 20).then(({ records, highWatermark }) => {
              const batches = splitBatches(records);
              if (batches.length > 0) {
                const last = batches[batches.length - 1]!.header;
                assert.ok(last.baseOffset + BigInt(last.lastOffsetDelta) < highWatermark);
              }
            }),
          );
        }
        await Promise.all([...appends, ...reads]);
        assert.equal((await readAll(log)).length, 60);
      });
    });

    it('lets reads in flight finish while retention deletes their segment', async () => {
      await withLog({ segmentBytes: 600, retentionBytes: 0, retentionMs: -1 }, async (log) => {
        for (let i = 0; i < 8; i++) await append(log, batchOf(1, { label: `g${i}`, valueSize: 200 }));
        const reads = [0n, 1n, 2n, 3n].map((offset) => log.read(offset, 1 << 20));
        const retention = log.enforceRetention(Date.now());
        const results = await Promise.all(reads);
        assert.ok((await retention) > 0);
        results.forEach((result, i) => {
          const [batch] = splitBatches(result.records);
          assert.ok(batch!.header.baseOffset <= BigInt(i) && BigInt(i) <= batch!.header.baseOffset + BigInt(batch!.header.lastOffsetDelta));
        });
        assert.equal(log.logStartOffset, 8n);
        assert.equal(log.sizeInBytes, 0);
      });
    });

    it('applies a changed configuration', async () => {
      await withLog({ segmentBytes: 100_000 }, async (log, { config }) => {
        await append(log, batchOf(1, { valueSize: 300 }));
        log.updateConfig({ ...config, segmentBytes: 500 });
        await append(log, batchOf(1, { valueSize: 300 }));
        assert.deepEqual(log.segmentBaseOffsets(), [0n, 1n]);
      });
    });

    it('flushes, closes, and refuses use after close', async () => {
      await withLog({}, async (log) => {
        await log.append(batchOf(1), { durable: true, leaderEpoch: 0 });
        await log.flush();
        await log.close();
        await assert.rejects(append(log, batchOf(1)), { code: 'TRIB_ERR_STORAGE_CLOSED' });
        await assert.rejects(log.read(0n, 100), { code: 'TRIB_ERR_STORAGE_CLOSED' });
      });
    });
  });
}
