/**
 * Log compaction: the shared behaviour against both engines, then what only the file engine has —
 * its files, and crash safety of the swap at every step.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, readlink, realpath, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CompressionCodec } from '../../../src/protocol/records/record-batch.js';
import type { LogConfig } from '../../../src/storage/engine.js';
import { CLEAN_SHUTDOWN_FILE, FileStorageEngine } from '../../../src/storage/file/file-engine.js';
import { SWAP_MANIFEST_FILE } from '../../../src/storage/file/log-cleaner.js';
import { MemoryStorageEngine } from '../../../src/storage/memory/memory-engine.js';
import { appendKeyed, defineCompactionSuite, expectedAfterClean, readRecords, type Rec } from './compaction-behaviour.js';
import type { EngineHarness } from './partition-log-behaviour.js';
import { TestClock, logConfig, splitBatches, topicRecord, withTempDir, type TestLog } from './helpers.js';

defineCompactionSuite('file engine', async (): Promise<EngineHarness> => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-compaction-'));
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

defineCompactionSuite('memory engine', async (): Promise<EngineHarness> => {
  let engine: MemoryStorageEngine | null = null;
  let log: TestLog | null = null;
  const topic = topicRecord();
  return {
    async open(config, clock) {
      engine = new MemoryStorageEngine({ clock: clock.read });
      await engine.open();
      log = (await engine.openPartition(topic, 0, config)) as TestLog;
      return log;
    },
    async reopen(config) {
      await log!.close();
      log = (await engine!.openPartition(topic, 0, config)) as TestLog;
      return log;
    },
    async dispose() {
      await engine?.close();
    },
  };
});

const CONFIG = logConfig({ cleanupPolicy: 'compact', segmentBytes: 600, indexIntervalBytes: 128 });
const clock = new TestClock();

async function openEngine(dir: string): Promise<{ engine: FileStorageEngine; log: TestLog }> {
  const engine = new FileStorageEngine({ dataDir: dir, clock: clock.read });
  await engine.open();
  return { engine, log: (await engine.openPartition(topicRecord(), 0, CONFIG)) as TestLog };
}

/** A log of several segments, mixed codecs, with plenty to clean; returns what was written. */
async function fillForCleaning(log: TestLog): Promise<Rec[]> {
  const written: Rec[] = [];
  const codecs = [CompressionCodec.none, CompressionCodec.gzip, CompressionCodec.zstd];
  for (let i = 0; i < 30; i++) {
    // 23 keys: enough survive to fill more than one cleaned segment.
    const inputs = [0, 1].map((j) => ({ key: `k${(i * 2 + j) % 23}`, value: `v${i}.${j}`, timestamp: BigInt(1_000 + i) }));
    written.push(...(await appendKeyed(log, inputs, { compression: codecs[i % 3]! })));
  }
  return written;
}

const partitionDir = (dir: string) => join(dir, 'orders-0');

async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(partitionDir(dir))).filter((name) => name.endsWith('.cleaned') || name.endsWith('.swap') || name === SWAP_MANIFEST_FILE);
}

describe('file engine: log cleaner files', () => {
  it('leaves only final segment files, and records its checkpoint in checkpoint.json', async () => {
    await withTempDir(async (dir) => {
      const { engine, log } = await openEngine(dir);
      const written = await fillForCleaning(log);
      const activeBase = log.segmentBaseOffsets().at(-1)!;
      const result = await log.compact(clock.now);
      assert.equal(result.cleaned, true);
      assert.deepEqual(await leftovers(dir), []);
      const names = await readdir(partitionDir(dir));
      // Index files of the active segment are written when it is sealed or closed.
      for (const base of log.segmentBaseOffsets().slice(0, -1)) {
        const stem = base.toString().padStart(20, '0');
        for (const suffix of ['.log', '.index', '.timeindex']) assert.ok(names.includes(stem + suffix), `${stem}${suffix}`);
      }
      assert.equal(names.filter((name) => name.endsWith('.log')).length, log.segmentBaseOffsets().length);
      const checkpoint = JSON.parse(await readFile(join(partitionDir(dir), 'checkpoint.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(checkpoint.cleanerCheckpoint, String(activeBase));
      assert.equal(checkpoint.offsetGapsBelow, String(activeBase));
      await engine.close();
      const reopened = await openEngine(dir);
      assert.deepEqual(await readRecords(reopened.log), expectedAfterClean(written, activeBase));
      await reopened.engine.close();
    });
  });

  it('recovery after a crash scans cleaned segments without taking their gaps for corruption', async () => {
    await withTempDir(async (dir) => {
      const { engine, log } = await openEngine(dir);
      const written = await fillForCleaning(log);
      const activeBase = log.segmentBaseOffsets().at(-1)!;
      assert.equal((await log.compact(clock.now)).cleaned, true);
      const segments = log.segmentBaseOffsets();
      await engine.close();
      // As after a crash with nothing vouched for: every segment is scanned, CRCs included.
      const checkpointPath = join(partitionDir(dir), 'checkpoint.json');
      const checkpoint = JSON.parse(await readFile(checkpointPath, 'utf8')) as Record<string, unknown>;
      await writeFile(checkpointPath, JSON.stringify({ ...checkpoint, recoveryPoint: '0' }));
      await unlink(join(dir, CLEAN_SHUTDOWN_FILE));
      const reopened = await openEngine(dir);
      assert.equal(reopened.engine.recoveredFromUncleanShutdown, true);
      assert.deepEqual(reopened.log.segmentBaseOffsets(), segments);
      assert.equal(reopened.log.logEndOffset, 60n);
      assert.deepEqual(await readRecords(reopened.log), expectedAfterClean(written, activeBase));
      await reopened.engine.close();
    });
  });

  it('rebuilds missing index files of a cleaned segment from its log, gaps included', async () => {
    await withTempDir(async (dir) => {
      const { engine, log } = await openEngine(dir);
      const written = await fillForCleaning(log);
      const activeBase = log.segmentBaseOffsets().at(-1)!;
      assert.equal((await log.compact(clock.now)).cleaned, true);
      await engine.close();
      for (const name of await readdir(partitionDir(dir))) {
        if (name.startsWith('00000000000000000000.') && name.endsWith('index')) await unlink(join(partitionDir(dir), name));
      }
      const reopened = await openEngine(dir);
      const survivors = expectedAfterClean(written, activeBase);
      for (let offset = 0n; offset < 60n; offset++) {
        const [batch] = splitBatches((await reopened.log.read(offset, 1)).records);
        const firstSurvivor = survivors.find((record) => record.offset >= offset)!;
        const last = batch!.header.baseOffset + BigInt(batch!.header.lastOffsetDelta);
        assert.ok(last >= offset && batch!.header.baseOffset <= firstSurvivor.offset, `read at ${offset}`);
      }
      assert.deepEqual(await readRecords(reopened.log), survivors);
      await reopened.engine.close();
    });
  });

  it('a close during a cleaning stops it cleanly', async () => {
    await withTempDir(async (dir) => {
      const { engine, log } = await openEngine(dir);
      const written = await fillForCleaning(log);
      const activeBase = log.segmentBaseOffsets().at(-1)!;
      const before = await readRecords(log);
      const cleaning = log.compact(clock.now);
      await engine.close();
      const result = await cleaning;
      assert.ok(result.cleaned || result.reason === 'aborted', result.reason);
      const reopened = await openEngine(dir);
      assert.deepEqual(await leftovers(dir), []);
      const after = await readRecords(reopened.log);
      assert.deepEqual(after, result.cleaned ? expectedAfterClean(written, activeBase) : before);
      await reopened.engine.close();
    });
  });
});

/** The files under `dir` this process holds open (Linux: /proc/self/fd). */
async function openFilesUnder(dir: string): Promise<string[]> {
  const root = (await realpath(dir)) + '/';
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(root));
}

describe('file engine: a crash at any step of the swap', () => {
  it('leaves the log as before or as after the cleaning, never in between, and recovers the files', async () => {
    // First a run that only records the steps.
    const steps: string[] = [];
    await withTempDir(async (dir) => {
      const { engine, log } = await openEngine(dir);
      await fillForCleaning(log);
      assert.equal((await log.compact(clock.now, { beforeSwapStep: (step) => void steps.push(step) })).cleaned, true);
      await engine.close();
    });
    const commitAfter = steps.indexOf('manifest');
    assert.ok(commitAfter > 0 && steps.length > commitAfter + 6, steps.join('\n'));
    assert.ok(steps.filter((step) => step.endsWith('.log.cleaned')).length > 1, 'several cleaned segments are swapped in');
    for (let crashAt = 0; crashAt < steps.length; crashAt++) {
      await withTempDir(async (dir) => {
        const { engine, log } = await openEngine(dir);
        const written = await fillForCleaning(log);
        const activeBase = log.segmentBaseOffsets().at(-1)!;
        const before = await readRecords(log);
        let calls = 0;
        await assert.rejects(
          log.compact(clock.now, {
            beforeSwapStep: () => {
              if (calls++ === crashAt) throw new Error(`crash before ${steps[crashAt]}`);
            },
          }),
          /crash before/,
        );
        await engine.abandon();
        assert.deepEqual(await openFilesUnder(dir), [], `every file is closed after a crash before ${steps[crashAt]}`);

        const reopened = await openEngine(dir);
        assert.deepEqual(await leftovers(dir), [], `no swap files left after a crash before ${steps[crashAt]}`);
        const after = await readRecords(reopened.log);
        const committed = crashAt > commitAfter;
        assert.deepEqual(after, committed ? expectedAfterClean(written, activeBase) : before, `crash before ${steps[crashAt]}`);
        assert.equal(reopened.log.logStartOffset, 0n);
        assert.equal(reopened.log.logEndOffset, 60n);
        // The latest value of every key is there either way, and the cleaner can run again.
        const latest = expectedAfterClean(written, 60n);
        for (const record of latest) assert.ok(after.some((each) => each.offset === record.offset && each.value === record.value));
        const again = await reopened.log.compact(clock.now);
        assert.ok(again.cleaned || again.reason === 'nothing-to-clean', again.reason);
        assert.deepEqual(await readRecords(reopened.log), expectedAfterClean(written, activeBase));
        await reopened.engine.close();
      });
    }
  });
});
