/**
 * Log compaction (cleanup.policy=compact) as every PartitionLog must do it, run against each engine
 * (compaction.test.ts), so the two cannot drift apart. Each test compares the log after cleaning with
 * a model of Kafka's rule: below the end of the cleaned section a record survives when no later
 * record of the section has its key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompressionCodec, compressionOf } from '../../../src/protocol/records/record-batch.js';
import { ATTR_DELETE_HORIZON } from '../../../src/protocol/records/record-filter.js';
import { buildRecordBatch, decodeRecordBatch, encodeRecordBatch, type RecordInput } from '../../../src/protocol/records/records.js';
import { OFFSET_MAP_ENTRY_BYTES } from '../../../src/storage/cleaner.js';
import type { LogConfig } from '../../../src/storage/engine.js';
import type { EngineHarness } from './partition-log-behaviour.js';
import { TestClock, logConfig, readAll, splitBatches, type TestLog } from './helpers.js';

/** One record as written or read back. */
export interface Rec {
  offset: bigint;
  key: string | null;
  value: string | null;
  timestamp: bigint;
  headers?: string;
}

export interface KeyedInput {
  key: string | null;
  value: string | null;
  timestamp?: bigint;
  header?: string;
}

export interface BatchOptions {
  compression?: number;
  producerId?: bigint;
  baseSequence?: number;
}

/** Appends one batch of keyed records and returns them as written (with their offsets). */
export async function appendKeyed(log: TestLog, inputs: KeyedInput[], options: BatchOptions = {}): Promise<Rec[]> {
  const records: RecordInput[] = inputs.map((input) => ({
    key: input.key,
    value: input.value,
    timestamp: input.timestamp ?? 1_000n,
    headers: input.header === undefined ? [] : [{ key: 'h', value: input.header }],
  }));
  const batch = await encodeRecordBatch(records, {
    compression: options.compression ?? CompressionCodec.none,
    ...(options.producerId === undefined ? {} : { producerId: options.producerId, producerEpoch: 0, baseSequence: options.baseSequence ?? 0 }),
  });
  const { baseOffset } = await log.append(batch, { durable: false, leaderEpoch: 0 });
  return inputs.map((input, i) => ({
    offset: baseOffset + BigInt(i),
    key: input.key,
    value: input.value,
    timestamp: input.timestamp ?? 1_000n,
    ...(input.header === undefined ? {} : { headers: input.header }),
  }));
}

/** Every record of the log, decoded (any codec), batch CRCs checked. */
export async function readRecords(log: TestLog): Promise<Rec[]> {
  const out: Rec[] = [];
  for (const batch of await readAll(log)) {
    const { records } = await decodeRecordBatch(batch.bytes, { verifyCrc: true });
    for (const record of records) {
      const header = record.headers[0]?.value?.toString('utf8');
      out.push({
        offset: record.offset,
        key: record.key?.toString('utf8') ?? null,
        value: record.value?.toString('utf8') ?? null,
        timestamp: record.timestamp,
        ...(header === undefined ? {} : { headers: header }),
      });
    }
  }
  return out;
}

/**
 * Kafka's rule for one cleaning of [0, cleanEnd) mapped in full: a record below cleanEnd stays when
 * it has no key or no later record below cleanEnd has its key; records from cleanEnd on all stay.
 */
export function expectedAfterClean(written: readonly Rec[], cleanEnd: bigint): Rec[] {
  const latest = new Map<string, bigint>();
  for (const record of written) if (record.key !== null && record.offset < cleanEnd) latest.set(record.key, record.offset);
  return written.filter((record) => record.offset >= cleanEnd || record.key === null || latest.get(record.key) === record.offset);
}

const COMPACT: Partial<LogConfig> = { cleanupPolicy: 'compact', segmentBytes: 400 };

export function defineCompactionSuite(name: string, makeHarness: () => Promise<EngineHarness>): void {
  async function withLog(
    overrides: Partial<LogConfig>,
    run: (log: TestLog, context: { clock: TestClock; harness: EngineHarness; config: LogConfig }) => Promise<void>,
  ): Promise<void> {
    const harness = await makeHarness();
    const clock = new TestClock();
    const config = logConfig({ ...COMPACT, ...overrides });
    try {
      await run(await harness.open(config, clock), { clock, harness, config });
    } finally {
      await harness.dispose();
    }
  }

  /** `count` single-record batches, keys cycling over `keys`, value `v<i>`. */
  async function fill(log: TestLog, count: number, keys: number, options: { from?: number; timestamp?: (i: number) => bigint } = {}): Promise<Rec[]> {
    const written: Rec[] = [];
    for (let i = options.from ?? 0; i < (options.from ?? 0) + count; i++) {
      written.push(...(await appendKeyed(log, [{ key: `k${i % keys}`, value: `v${i}`, timestamp: options.timestamp?.(i) ?? BigInt(1_000 + i) }])));
    }
    return written;
  }

  const activeBase = (log: TestLog) => log.segmentBaseOffsets().at(-1)!;

  describe(`${name}: log compaction`, () => {
    it('keeps the latest record of each key at its offset, drops the older ones, never touches the active segment', async () => {
      await withLog({}, async (log, { clock }) => {
        const written = await fill(log, 60, 7);
        const cleanEnd = activeBase(log);
        assert.ok(log.segmentBaseOffsets().length > 4);
        const sizeBefore = log.sizeInBytes;
        const result = await log.compact(clock.now);
        assert.equal(result.cleaned, true);
        assert.equal(result.reason, 'dirty-ratio');
        assert.equal(result.firstDirtyOffset, 0n);
        assert.equal(result.cleanedUpTo, cleanEnd);
        assert.ok(result.recordsRemoved > 0 && result.batchesRemoved === result.recordsRemoved);
        assert.deepEqual(await readRecords(log), expectedAfterClean(written, cleanEnd));
        assert.equal(log.logStartOffset, 0n);
        assert.equal(log.logEndOffset, 60n);
        assert.equal(log.sizeInBytes, sizeBefore - (result.bytesBefore - result.bytesAfter));
        assert.ok(log.sizeInBytes < sizeBefore / 2, `${log.sizeInBytes} of ${sizeBefore}`);
        assert.equal(log.segmentBaseOffsets()[0], 0n, 'the first segment keeps its base offset');
        assert.equal(log.segmentBaseOffsets().at(-1), cleanEnd, 'the active segment stays as it was');
        // Nothing new is dirty: a second run has nothing to do; appends go on at the log end.
        const again = await log.compact(clock.now);
        assert.equal(again.cleaned, false);
        assert.equal(again.reason, 'nothing-to-clean');
        assert.equal((await appendKeyed(log, [{ key: 'k0', value: 'after' }]))[0]!.offset, 60n);
      });
    });

    it('reads and timestamp searches at offsets compacted away find the next record', async () => {
      await withLog({ segmentBytes: 500, indexIntervalBytes: 64 }, async (log, { clock }) => {
        const written: Rec[] = [];
        for (let i = 0; i < 30; i++) {
          // Three records a batch; keys repeat so that some batches lose some records, some all.
          const inputs = [0, 1, 2].map((j) => ({ key: `k${(i * 3 + j) % 11}`, value: `v${i}.${j}`, timestamp: BigInt(10_000 + (i * 3 + j) * 10) }));
          written.push(...(await appendKeyed(log, inputs)));
        }
        const cleanEnd = activeBase(log);
        assert.equal((await log.compact(clock.now)).cleaned, true);
        const survivors = expectedAfterClean(written, cleanEnd);
        const read = await readRecords(log);
        assert.deepEqual(read, survivors);
        const batches = await readAll(log);
        const lastOf = (batch: (typeof batches)[number]) => batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta);
        for (let offset = 0n; offset < log.logEndOffset; offset++) {
          const { records, highWatermark, logStartOffset } = await log.read(offset, 1);
          assert.equal(highWatermark, 90n);
          assert.equal(logStartOffset, 0n);
          const [first] = splitBatches(records);
          const expected = batches.find((batch) => lastOf(batch) >= offset)!;
          assert.equal(first!.header.baseOffset, expected.header.baseOffset, `read at ${offset}`);
        }
        for (let target = 9_990n; target <= 10_900n; target += 5n) {
          const expected = survivors.find((record) => record.timestamp >= target);
          assert.deepEqual(
            await log.offsetForTimestamp(target),
            expected === undefined ? null : { offset: expected.offset, timestamp: expected.timestamp },
            `timestamp ${target}`,
          );
        }
        const newest = survivors.reduce((best, record) => (record.timestamp > best.timestamp ? record : best));
        assert.deepEqual(await log.maxTimestamp(), { offset: newest.offset, timestamp: newest.timestamp });
      });
    });

    it('keeps tombstones until delete.retention.ms after the cleaner first saw them', async () => {
      await withLog({ segmentBytes: 300, deleteRetentionMs: 10_000 }, async (log, { clock }) => {
        await appendKeyed(log, [{ key: 'gone', value: 'old', timestamp: 5n }]);
        await appendKeyed(log, [{ key: 'kept', value: 'value' }]);
        const [tombstone] = await appendKeyed(log, [{ key: 'gone', value: null, timestamp: 7n }]);
        for (let i = 0; i < 8; i++) await appendKeyed(log, [{ key: `filler${i}`, value: 'x'.repeat(40) }]);
        const end = log.logEndOffset;
        const first = await log.compact(clock.now);
        assert.equal(first.cleaned, true);
        let records = await readRecords(log);
        assert.deepEqual(
          records.filter((record) => record.key === 'gone'),
          [{ offset: tombstone!.offset, key: 'gone', value: null, timestamp: 7n }],
          'the older value goes, the tombstone stays with its own timestamp',
        );
        const holding = (await readAll(log)).find((batch) => batch.header.baseOffset === tombstone!.offset)!;
        assert.ok((holding.header.attributes & ATTR_DELETE_HORIZON) !== 0, 'the batch carries its delete horizon');
        assert.equal(holding.header.baseTimestamp, BigInt(clock.now + 10_000));

        const early = await log.compact(clock.now + 9_999);
        assert.equal(early.cleaned, false);
        assert.ok(records.some((record) => record.key === 'gone'));

        const due = await log.compact(clock.now + 10_000);
        assert.equal(due.cleaned, true);
        assert.equal(due.reason, 'tombstones');
        assert.equal(due.tombstonesRemoved, 1);
        records = await readRecords(log);
        assert.equal(records.filter((record) => record.key === 'gone').length, 0);
        assert.ok(records.some((record) => record.key === 'kept'));
        assert.equal(log.logStartOffset, 0n);
        assert.equal(log.logEndOffset, end);
        assert.equal((await log.compact(clock.now + 20_000)).cleaned, false, 'no tombstone left to wait for');
      });
    });

    it('honours min.cleanable.dirty.ratio, and cleans anyway when forced', async () => {
      await withLog({ segmentBytes: 300, minCleanableDirtyRatio: 0.9 }, async (log, { clock, config }) => {
        await fill(log, 40, 10);
        assert.equal((await log.compact(clock.now)).cleaned, true, 'a never-cleaned log is all dirty: ratio 1');
        await fill(log, 8, 10, { from: 40 });
        assert.ok(log.segmentBaseOffsets().length >= 3);
        const below = await log.compact(clock.now);
        assert.equal(below.cleaned, false);
        assert.equal(below.reason, 'below-dirty-ratio');
        const forced = await log.compact(clock.now, { force: true });
        assert.equal(forced.cleaned, true);
        assert.equal(forced.reason, 'forced');
        await fill(log, 8, 10, { from: 48 });
        log.updateConfig({ ...config, minCleanableDirtyRatio: 0 });
        const low = await log.compact(clock.now);
        assert.equal(low.cleaned, true);
        assert.equal(low.reason, 'dirty-ratio');
      });
    });

    it('leaves records younger than min.compaction.lag.ms uncompacted', async () => {
      await withLog({ segmentBytes: 300, minCompactionLagMs: 60_000 }, async (log, { clock }) => {
        const old = await fill(log, 20, 5, { timestamp: () => BigInt(clock.now - 120_000) });
        const young = await fill(log, 20, 5, { from: 20, timestamp: () => BigInt(clock.now - 1_000) });
        const result = await log.compact(clock.now);
        assert.equal(result.cleaned, true);
        assert.ok(result.cleanedUpTo > 0n && result.cleanedUpTo <= young[0]!.offset, `cleaned up to ${result.cleanedUpTo}`);
        assert.deepEqual(await readRecords(log), expectedAfterClean([...old, ...young], result.cleanedUpTo));
        // Every young record is still there, duplicates included.
        const offsets = new Set((await readRecords(log)).map((record) => record.offset));
        assert.ok(young.every((record) => offsets.has(record.offset)));
        // Later, once they are old enough, they are cleaned too.
        const later = await log.compact(clock.now + 120_000, { force: true });
        assert.equal(later.cleanedUpTo, activeBase(log));
      });
    });

    it('max.compaction.lag.ms makes dirty records old enough cleanable whatever the ratio', async () => {
      await withLog({ segmentBytes: 300, minCleanableDirtyRatio: 1, maxCompactionLagMs: 60_000 }, async (log, { clock }) => {
        await fill(log, 20, 5, { timestamp: () => BigInt(clock.now - 1_000) });
        const young = await log.compact(clock.now);
        assert.equal(young.cleaned, false);
        assert.equal(young.reason, 'below-dirty-ratio');
        const lagging = await log.compact(clock.now + 120_000);
        assert.equal(lagging.cleaned, true);
        assert.equal(lagging.reason, 'max-compaction-lag');
      });
    });

    for (const [codecName, codec] of Object.entries(CompressionCodec)) {
      it(`rewrites ${codecName} batches with the same codec, offsets, timestamps and headers, and new CRCs`, async () => {
        await withLog({ segmentBytes: 700 }, async (log, { clock }) => {
          const written: Rec[] = [];
          for (let i = 0; i < 12; i++) {
            const inputs = [0, 1, 2, 3].map((j) => {
              const n = i * 4 + j;
              return { key: `k${n % 9}`, value: n % 13 === 5 ? null : `value-${n}`, timestamp: BigInt(50_000 + ((n * 37) % 100)), header: `h${n}` };
            });
            written.push(...(await appendKeyed(log, inputs, { compression: codec })));
          }
          const cleanEnd = activeBase(log);
          const result = await log.compact(clock.now);
          assert.equal(result.cleaned, true);
          const batches = await readAll(log); // CRCs checked
          for (const batch of batches) assert.equal(compressionOf(batch.header.attributes), codec);
          const partial = batches.filter((batch) => batch.header.baseOffset < cleanEnd && batch.header.recordCount < batch.header.lastOffsetDelta + 1);
          assert.ok(partial.length > 0, 'some batches lost some of their records');
          for (const batch of partial) assert.equal(batch.header.lastOffsetDelta, 3, 'the last offset delta is kept');
          assert.deepEqual(await readRecords(log), expectedAfterClean(written, cleanEnd));
        });
      });
    }

    it("keeps an idempotent producer's last batch as an empty batch, drops its older ones", async () => {
      await withLog({ segmentBytes: 400 }, async (log, { clock }) => {
        const now = BigInt(clock.now);
        const producer = [0, 1, 2].map((b) =>
          appendKeyed(log, [0, 1, 2].map((j) => ({ key: `p${j}`, value: `p-${b}.${j}`, timestamp: now })), { producerId: 7n, baseSequence: b * 3 }),
        );
        const batches = await Promise.all(producer);
        // A plain producer overwrites every key the idempotent one wrote, then the segment rolls.
        await appendKeyed(log, [0, 1, 2].map((j) => ({ key: `p${j}`, value: `plain.${j}`, timestamp: now })));
        for (let i = 0; i < 10; i++) await appendKeyed(log, [{ key: `f${i}`, value: 'x'.repeat(30), timestamp: now }]);
        const result = await log.compact(clock.now);
        assert.equal(result.cleaned, true);
        const lastBase = batches[2]![0]!.offset;
        const fromProducer = (await readAll(log)).filter((batch) => batch.header.producerId === 7n);
        assert.equal(fromProducer.length, 1, 'only the last batch of the producer stays');
        const empty = fromProducer[0]!.header;
        assert.equal(empty.baseOffset, lastBase);
        assert.equal(empty.lastOffsetDelta, 2);
        assert.equal(empty.recordCount, 0);
        assert.equal(empty.baseSequence, 6);
        assert.equal(empty.producerEpoch, 0);
        assert.equal(compressionOf(empty.attributes), CompressionCodec.none);
        assert.equal((await readRecords(log)).filter((record) => record.value?.startsWith('p-')).length, 0);
        // A producer silent for longer than producer.id.expiration.ms is forgotten: the empty batch goes.
        const expired = await log.compact(clock.now + 2 * 86_400_000, { force: true });
        assert.equal(expired.cleaned, true);
        assert.equal((await readAll(log)).filter((batch) => batch.header.producerId === 7n).length, 0);
      });
    });

    it('cleans a prefix of the dirty section when the keys do not fit the offset map, the rest on later runs', async () => {
      await withLog({ segmentBytes: 300, minCleanableDirtyRatio: 0 }, async (log, { clock }) => {
        const written = await fill(log, 80, 20);
        const cleanEnd = activeBase(log);
        const budget = { offsetMapBytes: OFFSET_MAP_ENTRY_BYTES * 8 };
        const ends: bigint[] = [];
        for (let run = 0; run < 30 && ends.at(-1) !== cleanEnd; run++) {
          const result = await log.compact(clock.now, budget);
          assert.equal(result.cleaned, true, `run ${run}: ${result.reason}`);
          assert.equal(result.firstDirtyOffset, ends.at(-1) ?? 0n, 'each run starts where the last stopped');
          ends.push(result.cleanedUpTo);
        }
        assert.ok(ends.length > 3, `${ends.length} runs: ${ends.join(', ')}`);
        assert.equal(ends.at(-1), cleanEnd);
        assert.deepEqual(await readRecords(log), expectedAfterClean(written, cleanEnd));
      });
    });

    it('keeps records without a key', async () => {
      await withLog({ segmentBytes: 300 }, async (log, { clock }) => {
        const written: Rec[] = [];
        for (let i = 0; i < 30; i++) written.push(...(await appendKeyed(log, [{ key: i % 3 === 0 ? null : `k${i % 4}`, value: `v${i}` }])));
        assert.equal((await log.compact(clock.now)).cleaned, true);
        const records = await readRecords(log);
        assert.deepEqual(records, expectedAfterClean(written, activeBase(log)));
        assert.equal(records.filter((record) => record.key === null).length, 10);
      });
    });

    it('follows cleanup.policy: delete only never compacts, compact only never deletes by retention', async () => {
      await withLog({ cleanupPolicy: 'delete', segmentBytes: 300, retentionMs: 1000 }, async (log, { clock, config }) => {
        await fill(log, 20, 2);
        const skipped = await log.compact(clock.now);
        assert.equal(skipped.cleaned, false);
        assert.equal(skipped.reason, 'not-compacted');
        log.updateConfig({ ...config, cleanupPolicy: 'compact' });
        assert.equal(await log.enforceRetention(clock.now + 1_000_000), 0, 'compact only: no retention by time');
        assert.equal(log.logStartOffset, 0n);
        assert.equal((await log.compact(clock.now)).cleaned, true);
        log.updateConfig({ ...config, cleanupPolicy: 'compact,delete' });
        assert.ok((await log.enforceRetention(clock.now + 1_000_000)) > 0, 'compact,delete: retention applies');
        assert.ok(log.logStartOffset > 0n);
      });
    });

    it('keeps the batch ending the cleaned range, emptied if need be; retention removes it later', async () => {
      await withLog({ cleanupPolicy: 'compact,delete', segmentBytes: 150, retentionMs: 100_000, deleteRetentionMs: 1_000 }, async (log, { clock }) => {
        const now = BigInt(clock.now);
        await appendKeyed(log, [{ key: 'a', value: 'first', timestamp: now }]);
        await appendKeyed(log, [{ key: 'a', value: null, timestamp: now }]);
        const [kept] = await appendKeyed(log, [{ key: 'b', value: 'kept', timestamp: now + 150_000n }]);
        assert.deepEqual(log.segmentBaseOffsets(), [0n, 2n]);
        assert.equal((await log.compact(clock.now)).cleaned, true);
        const due = await log.compact(clock.now + 1_000);
        assert.equal(due.reason, 'tombstones');
        assert.deepEqual(log.segmentBaseOffsets(), [0n, 2n]);
        assert.equal(log.logStartOffset, 0n);
        // Every record of the first segment is gone, but a read from 0 still finds a batch to step
        // over: the tombstone's, emptied, which ends the cleaned range.
        const [first] = splitBatches((await log.read(0n, 1_000)).records);
        assert.deepEqual([first!.header.baseOffset, first!.header.lastOffsetDelta, first!.header.recordCount], [1n, 0, 0]);
        assert.deepEqual(await readRecords(log), [kept]);
        assert.equal(await log.enforceRetention(clock.now + 200_000), 1, 'the emptied segment goes by its timestamps');
        assert.equal(log.logStartOffset, 2n);
        assert.deepEqual(await readRecords(log), [kept]);
      });
    });

    it('keeps what it cleaned across a restart, gaps and cleaner checkpoint included', async () => {
      await withLog({}, async (log, { clock, harness, config }) => {
        const written = await fill(log, 50, 6);
        const cleanEnd = activeBase(log);
        assert.equal((await log.compact(clock.now)).cleaned, true);
        const before = await readRecords(log);
        const segments = log.segmentBaseOffsets();
        const reopened = await harness.reopen(config, clock);
        assert.deepEqual(await readRecords(reopened), before);
        assert.deepEqual(before, expectedAfterClean(written, cleanEnd));
        assert.deepEqual(reopened.segmentBaseOffsets(), segments);
        assert.equal(reopened.logEndOffset, 50n);
        const again = await reopened.compact(clock.now);
        assert.equal(again.reason, 'nothing-to-clean', 'the cleaner checkpoint survived');
        for (let offset = 0n; offset < 50n; offset++) assert.ok(splitBatches((await reopened.read(offset, 1)).records).length === 1);
        assert.equal((await appendKeyed(reopened, [{ key: 'k1', value: 'next' }]))[0]!.offset, 50n);
      });
    });

    it('runs alongside appends and reads, which see whole batches throughout', async () => {
      await withLog({ segmentBytes: 500 }, async (log, { clock }) => {
        const written = await fill(log, 120, 9);
        const cleanEnd = activeBase(log);
        const compaction = log.compact(clock.now);
        const appends = Array.from({ length: 20 }, (_, i) =>
          log.append(readyBatch(`late${i}`), { durable: false, leaderEpoch: 0 }),
        );
        const reads = Array.from({ length: 40 }, (_, i) => log.read(BigInt(i * 3), 2_000).then(({ records }) => splitBatches(records)));
        const [result] = await Promise.all([compaction, Promise.all(appends), Promise.all(reads)]);
        assert.equal(result.cleaned, true);
        const records = await readRecords(log);
        assert.deepEqual(records.slice(0, -20), expectedAfterClean(written, cleanEnd));
        assert.deepEqual(records.slice(-20).map((record) => record.key), Array.from({ length: 20 }, (_, i) => `late${i}`));
        assert.equal(log.logEndOffset, 140n);
      });
    });

    it('answers a second call while one runs without cleaning twice', async () => {
      await withLog({}, async (log, { clock }) => {
        await fill(log, 40, 5);
        const [first, second] = await Promise.all([log.compact(clock.now), log.compact(clock.now)]);
        assert.equal(first.cleaned, true);
        assert.equal(second.cleaned, false);
        assert.equal(second.reason, 'in-progress');
      });
    });
  });
}

/** An uncompressed single-record batch with key `key`, built synchronously (for concurrent appends). */
function readyBatch(key: string): Buffer {
  return buildRecordBatch([{ key, value: `value of ${key}`, timestamp: 2_000n }]);
}
