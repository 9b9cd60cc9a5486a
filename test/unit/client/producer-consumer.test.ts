/**
 * The client's producer, consumer, group member and admin calls against a real in-process broker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompressionCodec } from '../../../src/protocol/records/record-batch.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { KafkaClient, parseBrokerList } from '../../../src/client/client.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer, type ConsumedRecord } from '../../../src/client/consumer.js';
import { GroupMember } from '../../../src/client/group.js';
import { KafkaError } from '../../../src/client/errors.js';
import {
  OffsetSpec,
  commitOffsets,
  createPartitions,
  createTopics,
  deleteGroups,
  deleteTopics,
  describeCluster,
  describeGroup,
  describeTopicConfigs,
  alterTopicConfigs,
  fetchCommittedOffsets,
  listGroups,
  listOffsets,
} from '../../../src/client/admin.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { javaPartitionOf6 } from './java-partitioner-fixtures.js';

let broker: TestBroker;
let client: KafkaClient;

before(async () => {
  broker = await startTestBroker({ storage: 'memory', groupInitialRebalanceDelayMs: 0 });
  client = new KafkaClient({ brokers: parseBrokerList(broker.bootstrap) });
});
after(async () => {
  client.close();
  await broker.shutdown();
});

async function topic(name: string, partitions = 1): Promise<void> {
  const [result] = await createTopics(client, [{ name, partitions, replicationFactor: -1, configs: {} }]);
  assert.equal(result?.errorCode, ErrorCode.NONE);
}

async function readAll(name: string, partitions: number[]): Promise<ConsumedRecord[]> {
  const consumer = new Consumer(client, { maxWaitMs: 50 });
  await consumer.assign(partitions.map((partition) => ({ topic: name, partition, start: { kind: 'earliest' } })));
  const records: ConsumedRecord[] = [];
  while (!consumer.atEnd) records.push(...(await consumer.poll()));
  return records;
}

test('every codec round-trips keys, values, headers and offsets', async () => {
  for (const [codecName, codec] of Object.entries(CompressionCodec)) {
    const name = `codec-${codecName}`;
    await topic(name);
    const producer = new Producer(client, { acks: -1, compression: codec });
    const sent = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        producer.send({ topic: name, key: i % 2 ? Buffer.from(`k${i}`) : null, value: Buffer.from(`value ${i}`), headers: [{ key: 'h', value: Buffer.from(String(i)) }] }),
      ),
    );
    assert.deepEqual(sent.map((s) => s.offset), Array.from({ length: 50 }, (_, i) => BigInt(i)));
    const records = await readAll(name, [0]);
    assert.equal(records.length, 50, codecName);
    records.forEach((record, i) => {
      assert.equal(record.offset, BigInt(i));
      assert.equal(record.value?.toString(), `value ${i}`);
      assert.equal(record.key?.toString() ?? null, i % 2 ? `k${i}` : null);
      assert.deepEqual(record.headers.map((h) => [h.key, h.value?.toString()]), [['h', String(i)]]);
    });
  }
});

test('keyed records land on the partitions Java picks; keyless ones stick to one partition per batch', async () => {
  await topic('keyed', 6);
  const producer = new Producer(client, { acks: 1 });
  for (const key of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
    const metadata = await producer.send({ topic: 'keyed', key: Buffer.from(key), value: Buffer.from('x') });
    assert.equal(metadata.partition, javaPartitionOf6(key), key);
  }
  const keyless = await Promise.all(Array.from({ length: 10 }, () => producer.send({ topic: 'keyed', value: Buffer.from('y') })));
  assert.equal(new Set(keyless.map((m) => m.partition)).size, 1, 'one batch, one partition');
});

test('acks=0 and idempotent producers', async () => {
  await topic('acks');
  const fireAndForget = new Producer(client, { acks: 0 });
  const result = await fireAndForget.send({ topic: 'acks', value: Buffer.from('a') });
  assert.equal(result.offset, -1n);
  const idempotent = new Producer(client, { acks: -1, idempotent: true, compression: CompressionCodec.zstd });
  const offsets = await Promise.all(Array.from({ length: 5 }, (_, i) => idempotent.send({ topic: 'acks', value: Buffer.from(`i${i}`) })));
  assert.deepEqual(offsets.map((o) => o.offset), [1n, 2n, 3n, 4n, 5n]);
  assert.throws(() => new Producer(client, { acks: 1, idempotent: true }), /idempotent producer needs acks=all/);
  await assert.rejects(
    new Producer(client, { allowAutoTopicCreation: false }).send({ topic: 'acks', partition: 3, value: null }),
    (error: unknown) => error instanceof KafkaError && error.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && /has 1 partition \(0-0\)/.test(error.message),
  );
});

test('start positions: offset, N before the end, timestamp, latest; out-of-range offsets are clamped', async () => {
  await topic('positions');
  const producer = new Producer(client, { acks: 1, lingerMs: 0 });
  const base = 1_700_000_000_000n;
  for (let i = 0; i < 10; i++) await producer.send({ topic: 'positions', value: Buffer.from(String(i)), timestamp: base + BigInt(i) * 1000n });
  const consumer = new Consumer(client, { maxWaitMs: 50 });
  const firstOf = async (start: Parameters<Consumer['assign']>[0][number]['start']) => {
    await consumer.assign([{ topic: 'positions', partition: 0, start }]);
    return consumer.position('positions', 0);
  };
  assert.equal(await firstOf({ kind: 'earliest' }), 0n);
  assert.equal(await firstOf({ kind: 'latest' }), 10n);
  assert.equal(await firstOf({ kind: 'offset', offset: 4n }), 4n);
  assert.equal(await firstOf({ kind: 'offset', offset: 400n }), 10n);
  assert.equal(await firstOf({ kind: 'fromEnd', count: 3n }), 7n);
  assert.equal(await firstOf({ kind: 'fromEnd', count: 300n }), 0n);
  assert.equal(await firstOf({ kind: 'timestamp', timestamp: base + 2500n }), 3n);
  assert.equal(await firstOf({ kind: 'timestamp', timestamp: base + 99_000n }), 10n);
  await consumer.assign([{ topic: 'positions', partition: 0, start: { kind: 'offset', offset: 8n } }]);
  const records = await consumer.poll();
  assert.deepEqual(records.map((r) => [r.offset, r.value?.toString(), r.timestamp]), [
    [8n, '8', base + 8000n],
    [9n, '9', base + 9000n],
  ]);
  assert.equal(consumer.atEnd, true);
  const listed = await listOffsets(client, [{ topic: 'positions', partition: 0, timestamp: OffsetSpec.maxTimestamp }]);
  assert.deepEqual(listed.get('positions', 0, OffsetSpec.maxTimestamp), { offset: 9n, timestamp: base + 9000n });
});

test('group members split partitions with the range assignor, rebalance, commit and leave', async () => {
  await topic('grouped', 5);
  const one = new GroupMember(client, { groupId: 'split', topics: ['grouped'], heartbeatIntervalMs: 100 });
  assert.deepEqual([...(await one.join())], [['grouped', [0, 1, 2, 3, 4]]]);
  assert.equal(one.isLeader, true);

  const other = new KafkaClient({ brokers: parseBrokerList(broker.bootstrap) });
  const two = new GroupMember(other, { groupId: 'split', topics: ['grouped'], heartbeatIntervalMs: 100 });
  const joining = two.join();
  // The first member learns of the rebalance from a heartbeat and rejoins.
  while (!one.rebalanceNeeded) await new Promise((resolve) => setTimeout(resolve, 20));
  const [first, second] = await Promise.all([one.join(), joining]);
  const byMember = new Map([
    [one.memberId, first],
    [two.memberId, second],
  ]);
  const ordered = [one.memberId, two.memberId].sort();
  assert.deepEqual(byMember.get(ordered[0]!)?.get('grouped'), [0, 1, 2]);
  assert.deepEqual(byMember.get(ordered[1]!)?.get('grouped'), [3, 4]);

  await one.commit([{ topic: 'grouped', partition: first.get('grouped')![0]!, offset: 7n }]);
  const described = await describeGroup(client, 'split');
  assert.equal(described.state, 'Stable');
  assert.equal(described.protocol, 'range');
  assert.equal(described.members.length, 2);
  assert.deepEqual(described.members.find((m) => m.memberId === one.memberId)?.assignment, [{ topic: 'grouped', partitions: first.get('grouped') }]);

  await two.leave();
  await one.leave();
  other.close();
  const committed = await fetchCommittedOffsets(client, 'split', null);
  assert.deepEqual(committed.map((c) => [c.topic, c.partition, c.offset]), [['grouped', first.get('grouped')![0]!, 7n]]);
  const listed = await listGroups(client);
  assert.deepEqual(listed.find((g) => g.groupId === 'split'), { groupId: 'split', protocolType: 'consumer', state: 'Empty', type: 'classic', coordinatorId: broker.nodeId });
});

test('admin: simple commits, configs, partitions, cluster, deletions', async () => {
  await topic('admin', 2);
  await commitOffsets(client, 'simple', [{ topic: 'admin', partition: 1, offset: 0n }]);
  assert.deepEqual(
    (await fetchCommittedOffsets(client, 'simple', [{ topic: 'admin', partitions: [0, 1] }])).map((c) => [c.partition, c.offset]),
    [
      [0, -1n],
      [1, 0n],
    ],
  );
  await alterTopicConfigs(client, 'admin', [{ name: 'retention.ms', operation: 'set', value: '1234' }]);
  const configs = await describeTopicConfigs(client, 'admin');
  assert.deepEqual(configs.find((c) => c.name === 'retention.ms'), { name: 'retention.ms', value: '1234', source: 1, isDefault: false, readOnly: false, isSensitive: false });
  await assert.rejects(
    alterTopicConfigs(client, 'admin', [{ name: 'retention.ms', operation: 'set', value: 'x' }]),
    (error: unknown) => error instanceof KafkaError && error.errorCode === ErrorCode.INVALID_CONFIG,
  );
  assert.deepEqual(await createPartitions(client, [{ name: 'admin', count: 4 }]), [{ name: 'admin', errorCode: ErrorCode.NONE, errorMessage: null }]);
  assert.equal((await client.topicMetadata('admin', { refresh: true })).partitions.length, 4);
  const cluster = await describeCluster(client);
  assert.deepEqual(cluster, { clusterId: broker.clusterId, controllerId: broker.nodeId, brokers: [{ nodeId: broker.nodeId, host: '127.0.0.1', port: broker.port, rack: null }] });
  assert.deepEqual(await deleteGroups(client, ['simple', 'missing']), [
    { groupId: 'simple', errorCode: ErrorCode.NONE },
    { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
  ]);
  const deleted = await deleteTopics(client, ['admin', 'missing']);
  assert.deepEqual(deleted.map((d) => [d.name, d.errorCode]), [
    ['admin', ErrorCode.NONE],
    ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  ]);
  await assert.rejects(client.topicMetadata('admin', { refresh: true }), (error: unknown) => error instanceof KafkaError && error.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});
