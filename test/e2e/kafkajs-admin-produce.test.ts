/**
 * KafkaJS against an in-process broker with a file-backed log: topic administration, configs,
 * producing (plain, gzip, idempotent, acks=-1/1), offsets by time, record deletion, and data that
 * survives a broker restart.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { decodeRecordBatches } from '../../src/protocol/records/records.js';
import { makeTempDir, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';

const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = kafkajs;

let broker: TestBroker;

function client(port: number) {
  return new Kafka({ clientId: 'kafkajs-e2e', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

/** Reads every record of a partition with a raw Fetch, decoding batches with our record codec. */
async function readPartition(port: number, topic: string, partition: number) {
  const wire = await WireClient.connect(port);
  try {
    const response = await wire.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 50 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 50 * 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const data = response.responses[0].partitions[0];
    assert.equal(data.errorCode, 0);
    return (await decodeRecordBatches(data.records)).flatMap((batch) => batch.records);
  } finally {
    wire.close();
  }
}

/** Matches KafkaJS's aggregate topic-creation error carrying one Kafka error of `type`. */
function creationError(type: string) {
  return (error: { errors?: Array<{ type?: string }> }) => {
    assert.equal(error.errors?.[0]?.type, type);
    return true;
  };
}

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  broker = await startTestBroker();
});
after(async () => {
  await broker.shutdown();
});

test('topic administration: create, list, describe, configs, partitions, delete', async () => {
  const admin = client(broker.port).admin();
  await admin.connect();
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }), true);
    assert.equal(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }] }), false, 'already exists');
    await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] }), creationError('INVALID_TOPIC_EXCEPTION'));
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 1, replicationFactor: 3 }] }),
      creationError('INVALID_REPLICATION_FACTOR'),
    );
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'bad-config', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      creationError('INVALID_CONFIG'),
    );
    assert.ok((await admin.listTopics()).includes('admin-a'));

    const metadata = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
    assert.equal(metadata.topics[0]!.partitions.length, 3);
    assert.deepEqual(metadata.topics[0]!.partitions.map((p) => p.leader), [1, 1, 1]);

    const described = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-a' }], includeSynonyms: false });
    const entries = described.resources[0]!.configEntries;
    assert.equal(entries.find((e) => e.configName === 'retention.ms')?.configValue, '3600000');
    assert.equal(entries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'delete');

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-a', configEntries: [{ name: 'max.message.bytes', value: '2000000' }] }] });
    const altered = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-a', configNames: ['max.message.bytes', 'retention.ms'] }], includeSynonyms: false });
    const alteredEntries = altered.resources[0]!.configEntries;
    assert.equal(alteredEntries.find((e) => e.configName === 'max.message.bytes')?.configValue, '2000000');
    assert.equal(alteredEntries.find((e) => e.configName === 'retention.ms')?.configValue, '604800000', 'AlterConfigs replaces the whole set');

    await admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 5 }] });
    assert.equal((await admin.fetchTopicMetadata({ topics: ['admin-a'] })).topics[0]!.partitions.length, 5);
    await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 2 }] }), /partitions/i);

    const cluster = await admin.describeCluster();
    assert.equal(cluster.brokers.length, 1);
    assert.equal(cluster.brokers[0]!.port, broker.port);

    await admin.deleteTopics({ topics: ['admin-a'] });
    assert.ok(!(await admin.listTopics()).includes('admin-a'));
  } finally {
    await admin.disconnect();
  }
});

test('producing with keys, headers, null values and gzip; offsets by time; delete records', async () => {
  const kafka = client(broker.port);
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'produce-a', numPartitions: 2 }] });
    const start = Date.now();
    await producer.send({
      topic: 'produce-a',
      acks: -1,
      messages: [
        { key: 'k1', value: 'plain', headers: { trace: 'abc', empty: '' }, partition: 0, timestamp: String(start) },
        { key: null, value: 'no key', partition: 0, timestamp: String(start + 10) },
        { key: 'tombstone', value: null, partition: 0, timestamp: String(start + 20) },
      ],
    });
    await producer.send({
      topic: 'produce-a',
      acks: 1,
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 50 }, (_, i) => ({ key: `g${i}`, value: `gzip ${i}`, partition: 1, timestamp: String(start + 100 + i) })),
    });

    const records = await readPartition(broker.port, 'produce-a', 0);
    assert.deepEqual(
      records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null]),
      [
        [0n, 'k1', 'plain'],
        [1n, null, 'no key'],
        [2n, 'tombstone', null],
      ],
    );
    assert.deepEqual(records[0]!.headers.map((h) => [h.key, h.value?.toString()]), [['trace', 'abc'], ['empty', '']]);
    const gzipped = await readPartition(broker.port, 'produce-a', 1);
    assert.equal(gzipped.length, 50);
    assert.equal(gzipped[49]!.value?.toString(), 'gzip 49');

    const offsets = await admin.fetchTopicOffsets('produce-a');
    assert.deepEqual(offsets.map((o) => [o.partition, o.high, o.low]).sort(), [[0, '3', '0'], [1, '50', '0']]);
    const byTime = await admin.fetchTopicOffsetsByTimestamp('produce-a', start + 10);
    assert.deepEqual(byTime.map((o) => [o.partition, o.offset]).sort(), [[0, '1'], [1, '0']]);
    const afterEnd = await admin.fetchTopicOffsetsByTimestamp('produce-a', start + 10_000);
    assert.deepEqual(afterEnd.map((o) => [o.partition, o.offset]).sort(), [[0, '3'], [1, '50']], 'KafkaJS falls back to the end');

    await admin.deleteTopicRecords({ topic: 'produce-a', partitions: [{ partition: 1, offset: '20' }] });
    const trimmed = await admin.fetchTopicOffsets('produce-a');
    assert.equal(trimmed.find((o) => o.partition === 1)?.low, '20');
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('an idempotent producer writes each message exactly once', async () => {
  const kafka = client(broker.port);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'idempotent-a', messages: [{ key: String(i), value: `v${i}` }] });
    }
    const records = await readPartition(broker.port, 'idempotent-a', 0);
    assert.deepEqual(records.map((r) => r.value?.toString()), Array.from({ length: 20 }, (_, i) => `v${i}`));
  } finally {
    await producer.disconnect();
  }
});

test('acknowledged messages survive a broker restart on the same data directory', async () => {
  const dir = await makeTempDir();
  try {
    const first = await startBroker({ port: 0, dataDir: dir.path, logLevel: 'silent' });
    const producer = client(first.port).producer();
    await producer.connect();
    await producer.send({ topic: 'durable', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `durable ${i}` })) });
    await producer.disconnect();
    await first.close();

    const second = await startBroker({ port: 0, dataDir: dir.path, logLevel: 'silent' });
    try {
      assert.equal(second.clusterId, first.clusterId, 'the cluster id is stored');
      const records = await readPartition(second.port, 'durable', 0);
      assert.deepEqual(records.map((r) => r.value?.toString()), Array.from({ length: 10 }, (_, i) => `durable ${i}`));
      const admin = client(second.port).admin();
      await admin.connect();
      const topics = await admin.fetchTopicMetadata({ topics: ['durable'] });
      await admin.disconnect();
      assert.equal(topics.topics[0]!.name, 'durable');
    } finally {
      await second.close();
    }
  } finally {
    await dir.remove();
  }
});
