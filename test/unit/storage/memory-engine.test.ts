import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorageEngine } from '../../../src/storage/memory/memory-engine.js';
import { definePartitionLogSuite, type EngineHarness } from './partition-log-behaviour.js';
import { batchOf, logConfig, topicRecord, type TestLog } from './helpers.js';

definePartitionLogSuite('memory engine', async (): Promise<EngineHarness> => {
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

describe('memory engine', () => {
  it('opens with a fresh cluster id and no topics, and keeps saved state for its lifetime', async () => {
    const first = new MemoryStorageEngine();
    const second = new MemoryStorageEngine();
    const opened = await first.open();
    assert.match(opened.clusterId, /^[A-Za-z0-9_-]{22}$/);
    assert.notEqual(opened.clusterId, (await second.open()).clusterId);
    assert.deepEqual(opened.topics, []);
    assert.equal(opened.producerIdBlockEnd, 0n);
    await first.saveTopics([topicRecord('a')]);
    await first.saveProducerIdBlockEnd(2000n);
    const again = await first.open();
    assert.deepEqual(again.topics.map((topic) => topic.name), ['a']);
    assert.equal(again.producerIdBlockEnd, 2000n);
  });

  it('copies appended bytes, so the caller may reuse its buffer', async () => {
    const engine = new MemoryStorageEngine();
    await engine.open();
    const log = await engine.openPartition(topicRecord(), 0, logConfig());
    const batch = batchOf(1, { label: 'keep' });
    const original = Buffer.from(batch);
    await log.append(batch, { durable: true, leaderEpoch: 0 });
    batch.fill(0);
    const { records } = await log.read(0n, 1000);
    assert.deepEqual(records.subarray(61), original.subarray(61));
  });

  it('deletePartition drops the data; a topic recreated under the same name starts empty', async () => {
    const engine = new MemoryStorageEngine();
    await engine.open();
    const topic = topicRecord('t', '00000000-0000-4000-8000-00000000000a');
    const log = await engine.openPartition(topic, 0, logConfig());
    await log.append(batchOf(3), { durable: false, leaderEpoch: 0 });
    await engine.deletePartition(topic, 0);
    const recreated = await engine.openPartition(topic, 0, logConfig());
    assert.equal(recreated.logEndOffset, 0n);
    await recreated.append(batchOf(1), { durable: false, leaderEpoch: 0 });
    await recreated.close();
    const otherId = await engine.openPartition({ ...topic, topicId: '00000000-0000-4000-8000-00000000000b' }, 0, logConfig());
    assert.equal(otherId.logEndOffset, 0n, 'state of another topic id is not adopted');
  });
});
