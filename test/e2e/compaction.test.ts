/**
 * Log compaction end to end: KafkaJS writes keyed records to a topic created with
 * cleanup.policy=compact and small segments, the cleaner runs (Cluster.compactLogs over the broker's
 * data directory, between two runs of the broker), and a KafkaJS consumer group then reads the
 * latest value of each key across the offset gaps; keyless records are refused as Kafka refuses
 * them. The group coordinator's own compacted log, __consumer_offsets, comes back after cleaning
 * with every group's last committed offsets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { Cluster } from '../../src/cluster/cluster.js';
import { createLogger } from '../../src/logger.js';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { CompressionCodec } from '../../src/protocol/records/record-batch.js';
import { buildRecordBatch, decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records/records.js';
import { FileStorageEngine } from '../../src/storage/file/file-engine.js';
import { makeTempDir, startTestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';

const { Kafka, logLevel, CompressionTypes } = kafkajs;
const TOPIC = 'table';
const KEYS = 20;
const ROUNDS = 10;

function kafka(port: number) {
  return new Kafka({ clientId: 'compaction-e2e', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
}

/** Runs the log cleaner over a broker's data directory while the broker is stopped. */
async function compactOffline(dataDir: string): Promise<{ partitionsCleaned: number; bytesFreed: number }> {
  const engine = new FileStorageEngine({ dataDir });
  const stored = await engine.open();
  const cluster = new Cluster({ engine, logger: createLogger('silent'), clusterId: stored.clusterId, messageMaxBytes: 1_048_588 });
  try {
    await cluster.load(stored.topics);
    return await cluster.compactLogs(Date.now());
  } finally {
    await cluster.close();
    await engine.close();
  }
}

/** Fetches partition 0 of `topic` from `fetchOffset` to its end (a fetch answers from one segment). */
async function fetchAll(port: number, topic: string, fetchOffset = 0n, maxFetches = Infinity) {
  const wire = await WireClient.connect(port);
  try {
    const batches: Awaited<ReturnType<typeof decodeRecordBatches>> = [];
    let offset = fetchOffset;
    for (let fetches = 0; ; fetches++) {
      const response = await wire.request(ApiKey.Fetch, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 10 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 10 * 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
      const data = response.responses[0].partitions[0];
      assert.equal(data.errorCode, ErrorCode.NONE);
      const fetched = await decodeRecordBatches(data.records);
      batches.push(...fetched);
      const last = fetched.at(-1)?.header;
      if (last !== undefined) offset = last.baseOffset + BigInt(last.lastOffsetDelta) + 1n;
      if (last === undefined || offset >= data.highWatermark || fetches + 1 >= maxFetches) {
        return { highWatermark: data.highWatermark as bigint, logStartOffset: data.logStartOffset as bigint, batches };
      }
    }
  } finally {
    wire.close();
  }
}

test('a compacted topic: latest value per key, read across the gaps by a consumer group; keyless records refused', async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const dir = await makeTempDir();
  let broker = await startTestBroker({ dataDir: dir.path, groupInitialRebalanceDelayMs: 0 });
  try {
    const admin = kafka(broker.port).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '2048' },
            { name: 'segment.ms', value: '200' },
          ],
        },
      ],
    });
    await admin.disconnect();

    // An idempotent producer writes every key once; its records are all overwritten later, so its
    // only batch ends up empty (kept for its producer state, as Kafka does).
    const early = kafka(broker.port).producer({ idempotent: true, maxInFlightRequests: 1 });
    await early.connect();
    await early.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: 'early' })) });
    await early.disconnect();

    const producer = kafka(broker.port).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let round = 0; round < ROUNDS; round++) {
      await producer.send({
        topic: TOPIC,
        acks: -1,
        compression: round % 2 === 0 ? CompressionTypes.None : CompressionTypes.GZIP,
        messages: Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: `round-${round}`, headers: { round: String(round) } })),
      });
    }

    // Keyless records are refused, compressed or not, and nothing of their batch is written.
    const plain = kafka(broker.port).producer();
    await plain.connect();
    const before = (await fetchAll(broker.port, TOPIC)).highWatermark;
    for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
      await assert.rejects(
        plain.send({ topic: TOPIC, acks: -1, compression, messages: [{ key: 'fine', value: 'x' }, { value: 'no key' }] }),
        (error: { type?: string; name?: string }) => {
          assert.equal(error.type, 'INVALID_RECORD', `${error.name}: ${String(error)}`);
          return true;
        },
      );
    }
    await plain.disconnect();
    assert.equal((await fetchAll(broker.port, TOPIC)).highWatermark, before, 'nothing written');

    // A last record in a segment of its own (segment.ms), so that every earlier one is cleanable.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'sentinel', value: 'end' }] });
    await producer.disconnect();
    const end = (await fetchAll(broker.port, TOPIC)).highWatermark;
    assert.equal(end, BigInt(KEYS * (ROUNDS + 1) + 1));
    await broker.close();

    const summary = await compactOffline(dir.path);
    assert.ok(summary.partitionsCleaned >= 1 && summary.bytesFreed > 0, JSON.stringify(summary));

    broker = await startTestBroker({ dataDir: dir.path, groupInitialRebalanceDelayMs: 0 });
    const { highWatermark, logStartOffset, batches } = await fetchAll(broker.port, TOPIC);
    assert.equal(logStartOffset, 0n);
    assert.equal(highWatermark, end, 'the log end offset never moves');
    const records = batches.flatMap((batch) => batch.records);
    assert.deepEqual(
      records.map((record) => [record.key?.toString(), record.value?.toString()]),
      [...Array.from({ length: KEYS }, (_, k) => [`key-${k}`, `round-${ROUNDS - 1}`]), ['sentinel', 'end']],
    );
    const emptied = batches.filter((batch) => batch.records.length === 0);
    assert.equal(emptied.length, 1, 'the early producer keeps one empty batch');
    assert.equal(emptied[0]!.header.baseOffset, 0n);
    assert.equal(emptied[0]!.header.lastOffsetDelta, KEYS - 1);
    // A fetch from an offset that was compacted away (rounds 0-8: offsets 20-199) gets the next batch.
    const fromGap = await fetchAll(broker.port, TOPIC, 25n, 1);
    assert.equal(fromGap.batches[0]!.header.baseOffset, BigInt(KEYS * ROUNDS));

    // A consumer group reads the compacted log from the start, stepping over the gaps.
    const consumer = kafka(broker.port).consumer({ groupId: 'readers', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const seen: Array<{ key: string; value: string; offset: bigint; round: string | undefined }> = [];
    await new Promise<void>((resolve, reject) => {
      setTimeout(() => reject(new Error(`the consumer read ${seen.length} records but not the last one`)), 20_000).unref();
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push({
              key: message.key!.toString(),
              value: message.value!.toString(),
              offset: BigInt(message.offset),
              round: message.headers?.round?.toString(),
            });
            if (message.key?.toString() === 'sentinel') resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(
      seen.map((message) => [message.key, message.value]),
      records.map((record) => [record.key?.toString(), record.value?.toString()]),
    );
    assert.deepEqual(seen.map((message) => message.offset), records.map((record) => record.offset), 'offsets kept, with gaps');
    assert.ok(seen.slice(0, KEYS).every((message) => message.round === String(ROUNDS - 1)), 'headers kept');
  } finally {
    await broker.close();
    await dir.remove();
  }
});

test('__consumer_offsets: committed offsets come back after it is compacted and the broker restarts', async () => {
  const dir = await makeTempDir();
  let broker = await startTestBroker({ dataDir: dir.path });
  let client = await WireClient.connect(broker.port);
  try {
    const created = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const commit = async (groupId: string, offsets: bigint[]) => {
      const response = await client.request(ApiKey.OffsetCommit, 8, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: 'orders', partitions: offsets.map((committedOffset, partitionIndex) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, committedMetadata: `m${committedOffset}` })) }],
      });
      for (const partition of response.topics[0].partitions) assert.equal(partition.errorCode, ErrorCode.NONE);
    };
    await commit('steady', [0n, 0n, 0n]);
    // Small segments for the internal topic, so the cleaner has closed segments to work on.
    const altered = await client.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 2, resourceName: '__consumer_offsets', configs: [{ name: 'segment.bytes', configOperation: 0, value: '4096' }] }],
      validateOnly: false,
    });
    assert.equal(altered.responses[0].errorCode, ErrorCode.NONE);
    for (let i = 1; i <= 300; i++) await commit('steady', [BigInt(i * 10), BigInt(i * 10 + 1), BigInt(i * 10 + 2)]);
    for (let i = 1; i <= 30; i++) await commit('gone', [BigInt(i), BigInt(i), BigInt(i)]);
    const deleted = await client.request(ApiKey.DeleteGroups, 2, { groupsNames: ['gone'] });
    assert.equal(deleted.results[0].errorCode, ErrorCode.NONE);
    client.close();
    await broker.close();

    const offsetsDir = join(dir.path, '__consumer_offsets-0');
    const sizeOf = async () => {
      let total = 0;
      for (const name of await readdir(offsetsDir)) if (name.endsWith('.log')) total += (await stat(join(offsetsDir, name))).size;
      return total;
    };
    const sizeBefore = await sizeOf();
    const summary = await compactOffline(dir.path);
    assert.ok(summary.partitionsCleaned >= 1, JSON.stringify(summary));
    const sizeAfter = await sizeOf();
    assert.ok(sizeAfter < sizeBefore / 4, `__consumer_offsets shrank from ${sizeBefore} to ${sizeAfter} bytes`);

    broker = await startTestBroker({ dataDir: dir.path });
    client = await WireClient.connect(broker.port);
    const fetched = await client.request(ApiKey.OffsetFetch, 8, {
      groups: [
        { groupId: 'steady', topics: null },
        { groupId: 'gone', topics: [{ name: 'orders', partitionIndexes: [0, 1, 2] }] },
      ],
      requireStable: false,
    });
    const [steady, gone] = fetched.groups as Array<{ errorCode: number; topics: Array<{ partitions: Array<{ committedOffset: bigint; metadata: string }> }> }>;
    assert.equal(steady!.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      steady!.topics.flatMap((topic) => topic.partitions.map((partition) => [partition.committedOffset, partition.metadata])),
      [[3000n, 'm3000'], [3001n, 'm3001'], [3002n, 'm3002']],
    );
    assert.deepEqual(gone!.topics.flatMap((topic) => topic.partitions.map((partition) => partition.committedOffset)), [-1n, -1n, -1n]);
    // The coordinator keeps working on the compacted log.
    await commit('steady', [4000n, 4001n, 4002n]);
    client.close();
    await broker.close();
    broker = await startTestBroker({ dataDir: dir.path });
    client = await WireClient.connect(broker.port);
    const again = await client.request(ApiKey.OffsetFetch, 8, { groups: [{ groupId: 'steady', topics: null }], requireStable: false });
    assert.deepEqual(
      again.groups[0].topics.flatMap((topic: { partitions: Array<{ committedOffset: bigint }> }) => topic.partitions.map((partition) => partition.committedOffset)),
      [4000n, 4001n, 4002n],
    );
  } finally {
    client.close();
    await broker.close();
    await dir.remove();
  }
});

test('produce to a compacted topic on the wire: keyless records listed, pipelined requests kept in order', async () => {
  const broker = await startTestBroker({ storage: 'memory' });
  const client = await WireClient.connect(broker.port);
  try {
    const created = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'wire-table', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
      timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const keyed = (label: string, compression: number) =>
      encodeRecordBatch([{ key: `${label}-a`, value: '1' }, { key: `${label}-b`, value: '2' }], { compression });
    const batches = [
      await keyed('r0', CompressionCodec.gzip),
      await keyed('r1', CompressionCodec.none),
      await encodeRecordBatch([{ key: 'x', value: '1' }, { key: null, value: '2' }, { value: '3' }], { compression: CompressionCodec.gzip }),
      await keyed('r3', CompressionCodec.zstd),
      buildRecordBatch([{ key: 'r4', value: '1' }, { value: 'no key' }]),
      await keyed('r5', CompressionCodec.none),
    ];
    // Sent back to back on one connection: the compressed ones need their keys checked first, and
    // must still reach the log in the order sent.
    const responses = await Promise.all(
      batches.map((records) =>
        client.request(ApiKey.Produce, 9, {
          transactionalId: null,
          acks: 1,
          timeoutMs: 5000,
          topicData: [{ name: 'wire-table', partitionData: [{ index: 0, records }] }],
        }),
      ),
    );
    const answers = responses.map((response) => response.responses[0].partitionResponses[0] as {
      errorCode: number;
      baseOffset: bigint;
      errorMessage: string | null;
      recordErrors: Array<{ batchIndex: number; batchIndexErrorMessage: string | null }>;
    });
    assert.deepEqual(answers.map((answer) => [answer.errorCode, answer.baseOffset]), [
      [ErrorCode.NONE, 0n],
      [ErrorCode.NONE, 2n],
      [ErrorCode.INVALID_RECORD, -1n],
      [ErrorCode.NONE, 4n],
      [ErrorCode.INVALID_RECORD, -1n],
      [ErrorCode.NONE, 6n],
    ]);
    assert.deepEqual(answers[2]!.recordErrors.map((error) => error.batchIndex), [1, 2]);
    assert.deepEqual(answers[4]!.recordErrors.map((error) => error.batchIndex), [1]);
    assert.equal(answers[2]!.errorMessage, 'Compacted topic cannot accept message without key in topic partition wire-table-0.');
    const { batches: stored } = await fetchAll(broker.port, 'wire-table');
    assert.deepEqual(
      stored.flatMap((batch) => batch.records.map((record) => record.key?.toString())),
      ['r0-a', 'r0-b', 'r1-a', 'r1-b', 'r3-a', 'r3-b', 'r5-a', 'r5-b'],
    );
  } finally {
    client.close();
    await broker.shutdown();
  }
});

test('the running broker compacts on its own every log.cleaner.backoff.ms', async () => {
  const broker = await startTestBroker({ logCleanerBackoffMs: 100 });
  const wire = await WireClient.connect(broker.port);
  try {
    const created = await wire.request(ApiKey.CreateTopics, 7, {
      topics: [{
        name: 'live',
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '100' }],
      }],
      timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const produce = async (records: Array<{ key: string; value: string }>) => {
      const response = await wire.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: 'live', partitionData: [{ index: 0, records: buildRecordBatch(records) }] }],
      });
      assert.equal(response.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    };
    for (let round = 0; round < 5; round++) {
      await produce(Array.from({ length: 4 }, (_, k) => ({ key: `k${k}`, value: `r${round}` })));
      await new Promise((resolve) => setTimeout(resolve, 150)); // each round in a segment of its own
    }
    await produce([{ key: 'sentinel', value: 'end' }]);
    const deadline = Date.now() + 20_000;
    let values: string[] = [];
    while (Date.now() < deadline) {
      const { batches } = await fetchAll(broker.port, 'live');
      values = batches.flatMap((batch) => batch.records.map((record) => `${record.key?.toString()}=${record.value?.toString()}`));
      if (values.length === 5) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(values, ['k0=r4', 'k1=r4', 'k2=r4', 'k3=r4', 'sentinel=end']);
  } finally {
    wire.close();
    await broker.shutdown();
  }
});
