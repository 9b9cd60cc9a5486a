import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BATCH_HEADER_SIZE } from '../../../src/protocol/records/record-batch.js';
import type { LogConfig, TopicRecord } from '../../../src/storage/engine.js';
import { CLEAN_SHUTDOWN_FILE, FileStorageEngine } from '../../../src/storage/file/file-engine.js';
import type { FilePartitionLog } from '../../../src/storage/file/partition-log.js';
import { definePartitionLogSuite, type EngineHarness } from './partition-log-behaviour.js';
import { TestClock, batchOf, capturingLogger, logConfig, readAll, splitBatches, topicRecord, valuesOf, withTempDir, type TestLog } from './helpers.js';

definePartitionLogSuite('file engine', async (): Promise<EngineHarness> => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-storage-'));
  let engine: FileStorageEngine | null = null;
  const topic = topicRecord();
  const start = async (config: LogConfig, clock: TestClock): Promise<TestLog> => {
    engine = new FileStorageEngine({ dataDir: dir, clock: clock.read });
    await engine.open();
    return (await engine.openPartition(topic, 0, config)) as TestLog;
  };
  return {
    open: start,
    async reopen(config, clock) {
      await engine!.close();
      return start(config, clock);
    },
    async dispose() {
      await engine?.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const append = (log: { append: TestLog['append'] }, batch: Buffer, durable = false) => log.append(batch, { durable, leaderEpoch: 0 });

interface Opened {
  engine: FileStorageEngine;
  log: FilePartitionLog;
  partitionDir: string;
}

async function openLog(dir: string, config: Partial<LogConfig> = {}, topic: TopicRecord = topicRecord(), extra: Partial<ConstructorParameters<typeof FileStorageEngine>[0]> = {}): Promise<Opened> {
  const engine = new FileStorageEngine({ dataDir: dir, ...extra });
  await engine.open();
  const log = (await engine.openPartition(topic, 0, logConfig(config))) as FilePartitionLog;
  return { engine, log, partitionDir: join(dir, `${topic.name}-0`) };
}

/** The values of every record in the log, in offset order. */
async function logValues(log: FilePartitionLog): Promise<string[]> {
  return valuesOf(Buffer.concat((await readAll(log)).map((batch) => batch.bytes)));
}

async function segmentFiles(partitionDir: string, suffix: string): Promise<string[]> {
  return (await readdir(partitionDir)).filter((name) => name.endsWith(suffix)).sort();
}

/** Fills a log with `count` single-record batches across small segments; returns their bytes. */
async function fill(log: FilePartitionLog, count: number, valueSize = 100): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const batch = batchOf(1, { label: `f${i}`, valueSize, timestamp: BigInt(10_000 + i) });
    await append(log, batch);
    batches.push(Buffer.from(batch));
  }
  return batches;
}

/** Closes cleanly, then removes the marker: the files of a crash that came after a full flush. */
async function closeAsCrashed(opened: Opened, dir: string): Promise<void> {
  await opened.engine.close();
  await unlink(join(dir, CLEAN_SHUTDOWN_FILE));
}

describe('file engine: on-disk layout', () => {
  it('writes Kafka-named segments, batches exactly as stamped, and fixed-size index entries', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, { segmentBytes: 500, indexIntervalBytes: 150 });
      const batches = await fill(opened.log, 10);
      await opened.engine.close();
      const logs = await segmentFiles(opened.partitionDir, '.log');
      assert.ok(logs.length >= 3);
      for (const name of logs) assert.match(name, /^\d{20}\.log$/);
      assert.equal(logs[0], '00000000000000000000.log');
      const onDisk = Buffer.concat(await Promise.all(logs.map((name) => readFile(join(opened.partitionDir, name)))));
      assert.deepEqual(onDisk, Buffer.concat(batches), 'the .log files hold the stamped batches back to back');
      for (const name of await segmentFiles(opened.partitionDir, '.index')) {
        assert.equal((await stat(join(opened.partitionDir, name))).size % 8, 0);
      }
      for (const name of await segmentFiles(opened.partitionDir, '.timeindex')) {
        const bytes = await readFile(join(opened.partitionDir, name));
        assert.equal(bytes.length % 12, 0);
        assert.ok(bytes.length >= 12, 'the last time index entry holds the segment maximum');
      }
      const checkpoint = JSON.parse(await readFile(join(opened.partitionDir, 'checkpoint.json'), 'utf8')) as Record<string, string>;
      assert.deepEqual(checkpoint, { version: 1, logStartOffset: '0', recoveryPoint: '10' });
      assert.ok((await readdir(dir)).includes(CLEAN_SHUTDOWN_FILE));
    });
  });

  it('deletes retained segments from disk (no .deleted leftovers) and reopens at the new log start', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, { segmentBytes: 600, retentionBytes: 700, retentionMs: -1 });
      await fill(opened.log, 12);
      const before = await segmentFiles(opened.partitionDir, '.log');
      const deleted = await opened.log.enforceRetention(Date.now());
      assert.ok(deleted > 0);
      const names = await readdir(opened.partitionDir);
      assert.equal(names.filter((name) => name.endsWith('.log')).length, before.length - deleted);
      assert.equal(names.filter((name) => name.endsWith('.deleted')).length, 0);
      const start = opened.log.logStartOffset;
      await opened.engine.close();
      const again = await openLog(dir, { segmentBytes: 600, retentionBytes: 700, retentionMs: -1 });
      assert.equal(again.log.logStartOffset, start);
      assert.equal(again.log.logEndOffset, 12n);
      await again.engine.close();
    });
  });

  it('persists deleteRecordsBefore inside a segment across a restart', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir);
      await fill(opened.log, 5);
      assert.equal(await opened.log.deleteRecordsBefore(3n), 3n);
      await opened.engine.abandon(); // even without a clean close
      const again = await openLog(dir);
      assert.equal(again.log.logStartOffset, 3n);
      assert.equal(again.log.logEndOffset, 5n);
      await again.engine.close();
    });
  });
});

describe('file engine: durability and group commit', () => {
  it('reports as durable only what an fsync covered: durable appends, flushes and a clean reopen', async () => {
    await withTempDir(async (dir) => {
      const first = await openLog(dir);
      assert.equal(first.log.durableOffset, 0n);
      await append(first.log, batchOf(2), true);
      assert.equal(first.log.durableOffset, 2n, 'an acks=all append is durable when it resolves');
      await append(first.log, batchOf(3));
      assert.equal(first.log.logEndOffset, 5n);
      assert.equal(first.log.durableOffset, 2n, 'an acks=1 append is written, not yet fsynced');
      await first.log.flush();
      assert.equal(first.log.durableOffset, 5n);
      await append(first.log, batchOf(1));
      await first.engine.close();
      const second = await openLog(dir);
      assert.equal(second.log.durableOffset, 6n, 'a clean close fsynced everything');
      await second.engine.close();
    });
  });

  it('covers many concurrent durable appends with far fewer fsyncs', async () => {
    await withTempDir(async (dir) => {
      const { engine, log } = await openLog(dir, { segmentBytes: 1 << 20 });
      const count = 200;
      const results = await Promise.all(Array.from({ length: count }, (_, i) => append(log, batchOf(1, { label: `d${i}` }), true)));
      results.forEach((result, i) => assert.equal(result.baseOffset, BigInt(i)));
      assert.ok(log.stats.dataSyncs < count / 10, `${log.stats.dataSyncs} fsyncs for ${count} durable appends`);
      assert.ok(log.stats.writes < count, `${log.stats.writes} writes for ${count} appends (coalesced)`);
      // Waves arriving while an fsync runs are covered by the next one.
      const waves: Array<Promise<unknown>> = [];
      for (let wave = 0; wave < 5; wave++) {
        for (let i = 0; i < 20; i++) waves.push(append(log, batchOf(1), true));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const syncsBefore = log.stats.dataSyncs;
      await Promise.all(waves);
      assert.ok(log.stats.dataSyncs - syncsBefore <= 100);
      assert.equal(log.logEndOffset, 300n);
      await engine.close();
    });
  });

  it('acks=1 appends resolve without waiting for an fsync', async () => {
    await withTempDir(async (dir) => {
      const { engine, log } = await openLog(dir);
      for (let i = 0; i < 20; i++) await append(log, batchOf(1));
      assert.equal(log.stats.dataSyncs, 0);
      await log.flush();
      assert.equal(log.stats.dataSyncs, 1);
      await engine.close();
    });
  });

  it('a roll that cannot create the new segment rejects the append that needed it and every later one', async () => {
    await withTempDir(async (dir) => {
      const { engine, log, partitionDir } = await openLog(dir, { segmentBytes: 1024 });
      const batch = batchOf(10, { valueSize: 60 });
      assert.ok(batch.length > 512 && batch.length < 1024, `batch of ${batch.length} bytes: one per segment`);
      await append(log, batch);
      // A directory where the next segment's file must go: open() fails with EISDIR.
      await mkdir(join(partitionDir, '00000000000000000010.log'));
      const queued = [append(log, batch), append(log, batch), append(log, batch)];
      for (const pending of queued) {
        await assert.rejects(pending, (error: Error & { code?: string; cause?: { code?: string } }) => {
          assert.equal(error.code, 'TRIB_ERR_STORAGE_FAILED');
          assert.equal(error.cause?.code, 'EISDIR');
          return true;
        });
      }
      await assert.rejects(append(log, batch), { code: 'TRIB_ERR_STORAGE_FAILED' });
      assert.equal(log.logEndOffset, 10n);
      assert.deepEqual(log.segmentBaseOffsets(), [0n]);
      assert.equal(splitBatches((await log.read(0n, 1 << 20)).records).length, 1, 'what was written stays readable');
      await engine.close();
    });
  });

  it('an fsync failure rejects the waiting appends and every later one, and is not swallowed', async () => {
    await withTempDir(async (dir) => {
      let failNext = false;
      const opened = await openLog(dir, {}, topicRecord(), {
        beforeDataSync: () => {
          if (failNext) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        },
      });
      const { engine, log } = opened;
      await append(log, batchOf(1), true);
      failNext = true;
      const waiting = Array.from({ length: 5 }, () => append(log, batchOf(1), true));
      for (const pending of waiting) {
        await assert.rejects(pending, (error: Error & { code?: string; cause?: { code?: string } }) => {
          assert.equal(error.code, 'TRIB_ERR_STORAGE_FAILED');
          assert.equal(error.cause?.code, 'EIO');
          return true;
        });
      }
      await assert.rejects(append(log, batchOf(1)), { code: 'TRIB_ERR_STORAGE_FAILED' });
      await assert.rejects(log.flush(), { code: 'TRIB_ERR_STORAGE_FAILED' });
      // Reads of what was written keep working.
      assert.equal(splitBatches((await log.read(0n, 1 << 20)).records).length, 6);
      await engine.close();
      assert.ok(!(await readdir(dir)).includes(CLEAN_SHUTDOWN_FILE), 'a failed log is not a clean shutdown');
      const again = await openLog(dir);
      assert.equal(again.log.logEndOffset, 6n, 'the written batches are recovered');
      assert.equal((await append(again.log, batchOf(1), true)).baseOffset, 6n);
      await again.engine.close();
    });
  });
});

describe('file engine: small writes run on the event loop', () => {
  it('writes small appends inline and large coalesced ones in the thread pool; both read back and survive a restart', async () => {
    await withTempDir(async (dir) => {
      const maxBytes = 1_000;
      const first = await openLog(dir, {}, topicRecord(), { inlineWrites: { maxBytes } });
      const small = Array.from({ length: 5 }, (_, i) => batchOf(1, { label: `s${i}`, valueSize: 100 }));
      for (const batch of small) await append(first.log, batch);
      assert.deepEqual([first.log.stats.writes, first.log.stats.inlineWrites], [5, 5]);
      const large = batchOf(3, { label: 'large', valueSize: 500 });
      assert.ok(large.length > maxBytes);
      await append(first.log, large);
      // Appends queued together coalesce into one write, larger than the limit even though each is not.
      await Promise.all(Array.from({ length: 8 }, (_, i) => append(first.log, batchOf(1, { label: `c${i}`, valueSize: 200 }))));
      assert.equal(first.log.stats.inlineWrites, 5, 'neither the large append nor the coalesced group ran inline');
      assert.ok(first.log.stats.writes <= 8, `${first.log.stats.writes} writes`);
      const expected = valuesOf(Buffer.concat([...small, large]));
      assert.deepEqual((await logValues(first.log)).slice(0, expected.length), expected);
      await first.engine.close();
      const second = await openLog(dir);
      assert.equal(second.log.logEndOffset, 16n);
      assert.deepEqual((await logValues(second.log)).slice(0, expected.length), expected);
      await second.engine.close();
    });
  });

  it('sends writes to the thread pool once slow inline writes use up the stall budget, and says so', async () => {
    await withTempDir(async (dir) => {
      // A clock that moves 3 ms at every reading: each inline write appears to take 3 ms.
      let nowMs = 0;
      let stepMs = 3;
      let backOffs = 0;
      const { logger, lines } = capturingLogger();
      const { engine, log } = await openLog(dir, {}, topicRecord(), {
        inlineWrites: { now: () => (nowMs += stepMs) },
        onInlineWriteBackOff: () => backOffs++,
        logger,
      });
      for (let i = 0; i < 6; i++) await append(log, batchOf(1, { label: `w${i}` }));
      // Budget 10 ms: the fourth slow write (12 ms stalled) starts a back-off of a second.
      assert.equal(backOffs, 1);
      const warning = lines().find((line) => line.msg.startsWith('slow appends held the event loop'));
      assert.deepEqual([warning?.level, warning?.stalledMs, warning?.backOffMs], [40, 12, 1_000]);
      assert.equal(log.stats.inlineWrites, 4);
      assert.equal(log.stats.writes, 6);
      stepMs = 0;
      nowMs += 1_000;
      await append(log, batchOf(1, { label: 'after' }));
      assert.equal(log.stats.inlineWrites, 5, 'inline again once the back-off is over');
      assert.equal(log.logEndOffset, 7n);
      assert.equal((await logValues(log)).at(-1), 'after-0');
      await engine.close();
    });
  });
});

describe('file engine: the flush of a rolled segment waits log.roll.flush.delay.ms', () => {
  // Segments of four 100-byte batches: ten batches make three segments, two of them rolled.
  const config = { segmentBytes: 700, indexIntervalBytes: 100 };
  const HOUR = 3_600_000;

  const checkpointOf = async (partitionDir: string): Promise<{ recoveryPoint: string }> =>
    JSON.parse(await readFile(join(partitionDir, 'checkpoint.json'), 'utf8')) as { recoveryPoint: string };

  it('a roll neither flushes nor writes index files; flush() and close() seal at once', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: HOUR });
      await fill(opened.log, 10);
      assert.equal(opened.log.stats.rolls, 2);
      assert.equal(opened.log.stats.dataSyncs, 0, 'no fdatasync at the rolls');
      assert.deepEqual(await segmentFiles(opened.partitionDir, '.index'), [], 'no index files before the seals');
      await opened.log.flush();
      assert.equal(opened.log.durableOffset, 10n);
      assert.equal(opened.log.stats.dataSyncs, 3, 'one fdatasync per segment: the two rolled ones and the active one');
      assert.equal((await segmentFiles(opened.partitionDir, '.index')).length, 2, 'both rolled segments sealed');
      assert.equal((await checkpointOf(opened.partitionDir)).recoveryPoint, '8', 'the recovery point reaches the active segment');

      await fill(opened.log, 4); // rolls once more
      assert.equal(opened.log.stats.rolls, 3);
      await opened.engine.close(); // without waiting an hour
      assert.equal((await segmentFiles(opened.partitionDir, '.index')).length, 4);
      assert.equal((await checkpointOf(opened.partitionDir)).recoveryPoint, '14');
    });
  });

  it('seals the rolled segments by itself once the delay has passed', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: 20 });
      await fill(opened.log, 10);
      const deadline = Date.now() + 10_000;
      while ((await checkpointOf(opened.partitionDir).catch(() => ({ recoveryPoint: '0' }))).recoveryPoint !== '8') {
        assert.ok(Date.now() < deadline, 'the recovery point reached the active segment within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(opened.log.stats.dataSyncs, 2, 'one fdatasync per rolled segment, none of the active one');
      assert.equal(opened.log.durableOffset, 8n);
      assert.equal((await segmentFiles(opened.partitionDir, '.index')).length, 2);
      await opened.engine.close();
    });
  });

  it('acks=all appends do not wait for it: group commit makes them durable across a roll', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: HOUR });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => append(opened.log, batchOf(1, { label: `a${i}`, valueSize: 100 }), true)));
      assert.equal(results.at(-1)!.lastOffset, 9n);
      assert.equal(opened.log.stats.rolls, 2);
      assert.equal(opened.log.durableOffset, 10n);
      assert.deepEqual(await segmentFiles(opened.partitionDir, '.index'), [], 'the seals still wait');
      await opened.engine.close();
    });
  });

  it("a roll does not fsync the directory; the group commit or seal that vouches for the new file's data does", async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: HOUR });
      await fill(opened.log, 5); // one roll
      assert.equal(opened.log.stats.rolls, 1);
      assert.equal(opened.log.stats.directorySyncs, 0, 'acks=1 appends across a roll wait for no fsync at all');
      await append(opened.log, batchOf(1), true);
      assert.equal(opened.log.stats.directorySyncs, 1, 'an acks=all append into the new file made its name durable');
      await append(opened.log, batchOf(1), true);
      assert.equal(opened.log.stats.directorySyncs, 1, 'once per rolled file');
      await fill(opened.log, 4); // rolls again
      assert.equal(opened.log.stats.rolls, 2);
      await opened.log.flush(); // seals both rolled segments
      assert.equal(opened.log.stats.directorySyncs, 2);
      await opened.engine.close();
    });
  });

  it('a crash before the seal: the next start checks the rolled segments and keeps what they hold', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: HOUR });
      const batches = await fill(opened.log, 10);
      const segments = await segmentFiles(opened.partitionDir, '.log');
      assert.equal(segments.length, 3);
      await opened.engine.abandon();

      const intact = await openLog(dir, config);
      assert.equal(intact.log.logEndOffset, 10n);
      assert.deepEqual((await intact.log.read(0n, 1 << 20)).records, Buffer.concat(batches.slice(0, 4)), 'the first segment reads back whole');
      const values = await logValues(intact.log);
      assert.deepEqual(values, batches.map((_, i) => `f${i}-0`.padEnd(100, '.')));
      await intact.engine.abandon();

      // Unsealed, the first segment is below no recovery point: recovery scans it and cuts at a bad CRC.
      const first = join(opened.partitionDir, segments[0]!);
      const bytes = await readFile(first);
      bytes[batches[0]!.length + BATCH_HEADER_SIZE + 5]! ^= 0xff; // inside the second batch
      await writeFile(first, bytes);
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 1n, 'truncated at the corrupt batch');
      assert.deepEqual(await segmentFiles(opened.partitionDir, '.log'), [segments[0]], 'later segments deleted');
      await again.engine.close();
    });
  });

  it('after a recovery, the segments it checked are flushed before the recovery point passes them', async () => {
    await withTempDir(async (dir) => {
      const crashed = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: HOUR });
      await fill(crashed.log, 10);
      await crashed.engine.abandon();
      const recovered = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: HOUR });
      assert.equal(recovered.log.durableOffset, 0n, 'nothing is known to be on disk');
      await recovered.engine.close();
      assert.equal(recovered.log.stats.dataSyncs, 3, 'both rolled segments and the active one were flushed');
      assert.equal((await checkpointOf(recovered.partitionDir)).recoveryPoint, '10');
      assert.equal((await segmentFiles(recovered.partitionDir, '.index')).length, 3);
    });
  });

  it('retention may delete a segment whose seal is pending; the seal then has nothing to do', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config, topicRecord(), { rollFlushDelayMs: HOUR });
      await fill(opened.log, 10);
      assert.equal(await opened.log.deleteRecordsBefore(8n), 8n);
      assert.equal((await segmentFiles(opened.partitionDir, '.log')).length, 1);
      await opened.log.flush();
      assert.equal(opened.log.stats.dataSyncs, 1, 'only the active segment: the deleted ones were not flushed');
      await opened.engine.close();
      const again = await openLog(dir, config);
      assert.equal(again.log.logStartOffset, 8n);
      assert.equal(again.log.logEndOffset, 10n);
      await again.engine.close();
    });
  });
});

describe('file engine: recovery', () => {
  const config = { segmentBytes: 700, indexIntervalBytes: 100 };

  it('(a) drops a batch torn mid-write and keeps everything before it', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      const batches = await fill(opened.log, 9);
      await closeAsCrashed(opened, dir);
      const last = (await segmentFiles(opened.partitionDir, '.log')).at(-1)!;
      const path = join(opened.partitionDir, last);
      await truncate(path, (await stat(path)).size - 10);
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 8n);
      assert.deepEqual(Buffer.concat((await readAll(again.log)).map((batch) => batch.bytes)), Buffer.concat(batches.slice(0, 8)));
      assert.equal((await append(again.log, batchOf(1, { label: 'next' }))).baseOffset, 8n);
      assert.deepEqual(valuesOf((await again.log.read(8n, 1000)).records), ['next-0']);
      await again.engine.close();
    });
  });

  it('(a) handles a torn first batch of a fresh segment (header cut short)', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      await fill(opened.log, 9);
      await closeAsCrashed(opened, dir);
      const last = (await segmentFiles(opened.partitionDir, '.log')).at(-1)!;
      await truncate(join(opened.partitionDir, last), 30);
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, BigInt(Number(last.slice(0, 20))));
      assert.equal((await append(again.log, batchOf(1))).baseOffset, again.log.logEndOffset - 1n);
      await again.engine.close();
    });
  });

  it('(b) truncates at a batch whose CRC-32C does not match', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      const batches = await fill(opened.log, 9);
      await closeAsCrashed(opened, dir);
      const last = (await segmentFiles(opened.partitionDir, '.log')).at(-1)!;
      const path = join(opened.partitionDir, last);
      const bytes = await readFile(path);
      const lastBatchSize = batches[8]!.length;
      bytes[bytes.length - lastBatchSize + BATCH_HEADER_SIZE + 5]! ^= 0xff;
      await writeFile(path, bytes);
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 8n);
      assert.equal((await stat(path)).size, bytes.length - lastBatchSize);
      assert.deepEqual(Buffer.concat((await readAll(again.log)).map((batch) => batch.bytes)), Buffer.concat(batches.slice(0, 8)));
      await again.engine.close();
    });
  });

  it('(c) rebuilds deleted or garbled index files, with and without a clean shutdown', async () => {
    for (const clean of [true, false]) {
      await withTempDir(async (dir) => {
        const opened = await openLog(dir, config);
        const batches = await fill(opened.log, 12);
        const reference = await opened.log.offsetForTimestamp(10_005n);
        if (clean) await opened.engine.close();
        else await closeAsCrashed(opened, dir);
        const indexes = await segmentFiles(opened.partitionDir, '.index');
        const timeIndexes = await segmentFiles(opened.partitionDir, '.timeindex');
        assert.ok(indexes.length >= 3);
        const originalIndex = await readFile(join(opened.partitionDir, indexes[1]!));
        await unlink(join(opened.partitionDir, indexes[0]!));
        await writeFile(join(opened.partitionDir, indexes[1]!), Buffer.from('garbage!garbage!garbage'));
        await writeFile(join(opened.partitionDir, timeIndexes[0]!), Buffer.alloc(24, 0xff));
        await unlink(join(opened.partitionDir, timeIndexes.at(-1)!));
        await writeFile(join(opened.partitionDir, indexes.at(-1)!), Buffer.alloc(16, 0x7f));
        const again = await openLog(dir, config);
        assert.equal(again.log.logEndOffset, 12n);
        for (let offset = 0n; offset < 12n; offset++) {
          const [batch] = splitBatches((await again.log.read(offset, 1)).records);
          assert.deepEqual(batch!.bytes, batches[Number(offset)]);
        }
        assert.deepEqual(await again.log.offsetForTimestamp(10_005n), reference);
        assert.deepEqual(await again.log.maxTimestamp(), { offset: 11n, timestamp: 10_011n });
        await again.engine.close();
        assert.deepEqual(await readFile(join(opened.partitionDir, indexes[1]!)), originalIndex, 'rebuilt index written back');
        assert.equal((await segmentFiles(opened.partitionDir, '.index')).length, indexes.length);
      });
    }
  });

  it('(c) repairs a consistent-looking but wrong index entry', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, { segmentBytes: 2000, indexIntervalBytes: 100 });
      const batches = await fill(opened.log, 12);
      await opened.engine.close();
      const index = (await segmentFiles(opened.partitionDir, '.index'))[0]!;
      const wrong = Buffer.alloc(8);
      wrong.writeInt32BE(3, 0); // offset 3 ...
      wrong.writeInt32BE(50, 4); // ... at a position inside batch 0
      await writeFile(join(opened.partitionDir, index), wrong);
      const again = await openLog(dir, { segmentBytes: 2000, indexIntervalBytes: 100 });
      for (let offset = 0n; offset < 12n; offset++) {
        const [batch] = splitBatches((await again.log.read(offset, 1)).records);
        assert.deepEqual(batch!.bytes, batches[Number(offset)]);
      }
      await again.engine.close();
    });
  });

  it('(d) cuts garbage after the last batch', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      await fill(opened.log, 9);
      await closeAsCrashed(opened, dir);
      const last = (await segmentFiles(opened.partitionDir, '.log')).at(-1)!;
      const path = join(opened.partitionDir, last);
      const size = (await stat(path)).size;
      const handle = await open(path, 'a');
      await handle.write(Buffer.from('this is not a record batch, just trailing noise of a crash'.repeat(3)));
      await handle.close();
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 9n);
      assert.equal((await stat(path)).size, size);
      assert.equal((await append(again.log, batchOf(1))).baseOffset, 9n);
      assert.equal((await readAll(again.log)).length, 10);
      await again.engine.close();
    });
  });

  it('(d) cuts zeros (a preallocated or half-written tail) after the last batch', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      await fill(opened.log, 4);
      await closeAsCrashed(opened, dir);
      const last = (await segmentFiles(opened.partitionDir, '.log')).at(-1)!;
      const path = join(opened.partitionDir, last);
      const size = (await stat(path)).size;
      await truncate(path, size + 4096);
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 4n);
      assert.equal((await stat(path)).size, size);
      await again.engine.close();
    });
  });

  it('recovers after a crash without close: every completed write survives, in many segments', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, { segmentBytes: 500 });
      const batches: Buffer[] = [];
      for (let i = 0; i < 30; i++) {
        const batch = batchOf(1, { label: `k${i}`, valueSize: 100 });
        batches.push(batch);
        await append(opened.log, batch, i % 3 === 0);
      }
      assert.ok((await readdir(opened.partitionDir)).includes('recovery-needed') === false, 'clean start: no flag');
      await opened.engine.abandon();
      const again = await openLog(dir, { segmentBytes: 500 });
      assert.ok(again.engine.recoveredFromUncleanShutdown);
      assert.ok((await readdir(again.partitionDir)).includes('recovery-needed'));
      assert.equal(again.log.logEndOffset, 30n);
      assert.deepEqual(Buffer.concat((await readAll(again.log)).map((batch) => batch.bytes)), Buffer.concat(batches));
      await again.engine.close();
      assert.ok(!(await readdir(again.partitionDir)).includes('recovery-needed'), 'flag removed by a clean close');
    });
  });

  it('trusts a cleanly closed log: a clean open does not scan it', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      const batches = await fill(opened.log, 3);
      await opened.engine.close();
      const path = join(opened.partitionDir, '00000000000000000000.log');
      const bytes = await readFile(path);
      bytes[BATCH_HEADER_SIZE + 5]! ^= 0xff; // inside the first batch: only a CRC check would notice
      await writeFile(path, bytes);
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 3n);
      assert.equal((await again.log.read(0n, 1 << 20)).records.length, Buffer.concat(batches).length);
      await again.engine.close();
    });
  });

  it('after a crash, scans only from the recovery point: sealed segments are trusted', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      await fill(opened.log, 10); // segments of four batches: the active one holds two
      await opened.log.flush(); // seals every rolled segment: the recovery point reaches the active one
      const segments = await segmentFiles(opened.partitionDir, '.log');
      assert.equal(segments.length, 3);
      await append(opened.log, batchOf(1));
      assert.equal((await segmentFiles(opened.partitionDir, '.log')).length, 3, 'no roll');
      await opened.engine.abandon();
      // Corrupt the first (sealed) segment and tear the active one.
      const first = join(opened.partitionDir, segments[0]!);
      const bytes = await readFile(first);
      bytes[BATCH_HEADER_SIZE + 5]! ^= 0xff;
      await writeFile(first, bytes);
      const active = join(opened.partitionDir, segments.at(-1)!);
      await truncate(active, (await stat(active)).size - 5);
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 10n, 'the torn append in the active segment is dropped');
      assert.equal((await stat(first)).size, bytes.length, 'the sealed segment was not scanned');
      await again.engine.close();
    });
  });

  it('a partition not opened during an unclean run is still recovered later', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir, config);
      await fill(opened.log, 5);
      await closeAsCrashed(opened, dir);
      const last = (await segmentFiles(opened.partitionDir, '.log')).at(-1)!;
      const path = join(opened.partitionDir, last);
      const size = (await stat(path)).size;
      await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(100, 0x42)]));
      // An unclean start that never opens the partition, then a clean close.
      const engine = new FileStorageEngine({ dataDir: dir });
      await engine.open();
      await engine.close();
      const again = await openLog(dir, config);
      assert.equal(again.log.logEndOffset, 5n);
      assert.equal((await stat(path)).size, size);
      await again.engine.close();
    });
  });

  it('removes leftover temp, .deleted and -delete files on open', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir);
      await fill(opened.log, 2);
      await opened.engine.close();
      await writeFile(join(opened.partitionDir, '00000000000000000000.index.ab12.tmp'), 'x');
      await writeFile(join(opened.partitionDir, '00000000000000000099.log.deleted'), 'x');
      await writeFile(join(opened.partitionDir, '00000000000000000099.index'), 'x');
      await writeFile(join(dir, 'topics.json.cd34.tmp'), 'x');
      await mkdir(join(dir, 'old-0.0123456789abcdef-delete'));
      await writeFile(join(dir, 'old-0.0123456789abcdef-delete', '00000000000000000000.log'), 'x');
      const again = await openLog(dir);
      assert.deepEqual((await readdir(dir)).filter((name) => name.includes('delete') || name.endsWith('.tmp')), []);
      const names = await readdir(again.partitionDir);
      assert.deepEqual(names.filter((name) => name.includes('.tmp') || name.includes('.deleted') || name.startsWith('00000000000000000099')), []);
      assert.equal(again.log.logEndOffset, 2n);
      await again.engine.close();
    });
  });
});

describe('file engine: partition lifecycle', () => {
  it('deleting a partition drops its data without flushing it', async () => {
    await withTempDir(async (dir) => {
      let dataSyncs = 0;
      const opened = await openLog(dir, { segmentBytes: 700, indexIntervalBytes: 100 }, topicRecord(), { rollFlushDelayMs: 3_600_000, onDataSync: () => dataSyncs++ });
      await fill(opened.log, 10); // two rolled segments wait for their flush, the active one was never flushed
      await opened.engine.deletePartition(topicRecord(), 0);
      assert.equal(dataSyncs, 0);
      await assert.rejects(stat(opened.partitionDir), { code: 'ENOENT' });
      await assert.rejects(append(opened.log, batchOf(1)), { code: 'TRIB_ERR_STORAGE_CLOSED' });
      const recreated = await opened.engine.openPartition(topicRecord(), 0, logConfig());
      assert.equal(recreated.logEndOffset, 0n);
      await opened.engine.close();
    });
  });

  it('opening a partition again after its close gives a fresh, working log', async () => {
    await withTempDir(async (dir) => {
      const opened = await openLog(dir);
      await fill(opened.log, 3);
      assert.equal(await opened.engine.openPartition(topicRecord(), 0, logConfig()), opened.log, 'same object while open');
      await opened.log.close();
      const again = await opened.engine.openPartition(topicRecord(), 0, logConfig());
      assert.notEqual(again, opened.log);
      assert.equal(again.logEndOffset, 3n);
      assert.equal((await append(again, batchOf(1))).baseOffset, 3n);
      await opened.engine.close();
    });
  });

  it('a log closed after a failure recovers on its next open even after a clean engine shutdown', async () => {
    await withTempDir(async (dir) => {
      let fail = false;
      const opened = await openLog(dir, {}, topicRecord(), {
        beforeDataSync: () => {
          if (fail) throw new Error('EIO');
        },
      });
      await fill(opened.log, 3);
      fail = true;
      await assert.rejects(opened.log.flush(), { code: 'TRIB_ERR_STORAGE_FAILED' });
      await assert.rejects(opened.log.close(), { code: 'TRIB_ERR_STORAGE_FAILED' });
      assert.ok((await readdir(opened.partitionDir)).includes('recovery-needed'));
      const path = join(opened.partitionDir, '00000000000000000000.log');
      const size = (await stat(path)).size;
      await writeFile(path, Buffer.concat([await readFile(path), Buffer.alloc(50, 1)]));
      const reopened = await opened.engine.openPartition(topicRecord(), 0, logConfig());
      assert.equal(reopened.logEndOffset, 3n);
      assert.equal((await stat(path)).size, size);
      await opened.engine.close();
    });
  });
});

describe('file engine: metadata', () => {
  it('keeps the cluster id, topics and producer id block across restarts, saved atomically', async () => {
    await withTempDir(async (dir) => {
      const engine = new FileStorageEngine({ dataDir: dir, nodeId: 1 });
      const first = await engine.open();
      assert.match(first.clusterId, /^[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(first.topics, []);
      assert.equal(first.producerIdBlockEnd, 0n);
      const topics: TopicRecord[] = [
        { name: 'a', topicId: '11111111-1111-4111-8111-111111111111', partitionCount: 3, configs: { 'retention.ms': '1000' } },
        { name: 'b.c_d-e', topicId: '22222222-2222-4222-8222-222222222222', partitionCount: 1, configs: {} },
      ];
      await engine.saveTopics(topics);
      await Promise.all([engine.saveProducerIdBlockEnd(1000n), engine.saveProducerIdBlockEnd(2000n)]);
      assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.tmp')), []);
      await engine.close();
      const reopened = new FileStorageEngine({ dataDir: dir, nodeId: 1 });
      const second = await reopened.open();
      assert.equal(second.clusterId, first.clusterId);
      assert.deepEqual(second.topics, topics);
      assert.equal(second.producerIdBlockEnd, 2000n);
      await reopened.close();
      await assert.rejects(new FileStorageEngine({ dataDir: dir, nodeId: 2 }).open(), { code: 'TRIB_ERR_STORAGE_IN_USE' });
    });
  });

  it('refuses a second engine on the same directory in one process', async () => {
    await withTempDir(async (dir) => {
      const engine = new FileStorageEngine({ dataDir: dir });
      await engine.open();
      await assert.rejects(new FileStorageEngine({ dataDir: join(dir, '.') }).open(), { code: 'TRIB_ERR_STORAGE_IN_USE' });
      await engine.close();
      const again = new FileStorageEngine({ dataDir: dir });
      await again.open();
      await again.close();
    });
  });

  it('reports an unreadable topics.json with a clear error', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'topics.json'), '{ not json');
      await assert.rejects(new FileStorageEngine({ dataDir: dir }).open(), { code: 'TRIB_ERR_STORAGE_METADATA' });
    });
  });

  it('deletePartition removes the directory; a topic recreated with the same name starts clean', async () => {
    await withTempDir(async (dir) => {
      const topic = topicRecord('gone', '33333333-3333-4333-8333-333333333333');
      const opened = await openLog(dir, {}, topic);
      await fill(opened.log, 3);
      await opened.log.close();
      await opened.engine.deletePartition(topic, 0);
      assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('gone')), []);
      const recreated = { ...topic, topicId: '44444444-4444-4444-8444-444444444444' };
      const log = await opened.engine.openPartition(recreated, 0, logConfig());
      assert.equal(log.logEndOffset, 0n);
      await append(log, batchOf(2));
      await opened.engine.close();
      // A directory left behind by an older topic of the same name is not adopted.
      const engine = new FileStorageEngine({ dataDir: dir });
      await engine.open();
      const other = await engine.openPartition({ ...topic, topicId: '55555555-5555-4555-8555-555555555555' }, 0, logConfig());
      assert.equal(other.logEndOffset, 0n);
      await engine.close();
    });
  });
});
