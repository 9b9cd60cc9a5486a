/**
 * Connection management: the connection limit, idle reaping, the in-flight limit with pipelining,
 * backpressure from a client that does not read its responses, and graceful shutdown answering the
 * requests in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { buildRecordBatch } from '../../src/protocol/records/records.js';
import { startTestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';

const metadataAll = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };

async function createTopic(client: WireClient, name: string): Promise<void> {
  const response = await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  assert.equal(response.topics[0].errorCode, ErrorCode.NONE);
}

test('connections beyond max.connections are closed at once; existing ones keep working', async () => {
  const broker = await startTestBroker({ storage: 'memory', maxConnections: 2 });
  try {
    const first = await WireClient.connect(broker.port);
    const second = await WireClient.connect(broker.port);
    await first.request(ApiKey.Metadata, 12, metadataAll);
    await second.request(ApiKey.Metadata, 12, metadataAll);
    const third = await WireClient.connect(broker.port);
    await third.closed;
    assert.equal((await first.request(ApiKey.Metadata, 12, metadataAll)).brokers.length, 1);
    first.close();
    second.close();
  } finally {
    await broker.shutdown();
  }
});

test('idle connections are closed after connections.max.idle.ms, busy ones are not', async () => {
  const broker = await startTestBroker({ storage: 'memory', connectionsMaxIdleMs: 150 });
  try {
    const idle = await WireClient.connect(broker.port);
    const busy = await WireClient.connect(broker.port);
    await createTopic(busy, 'idle-test');
    // A fetch long-polling for longer than the idle limit is in flight, so its connection stays.
    const polling = busy.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 600,
      minBytes: 1,
      maxBytes: 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'idle-test', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    await idle.closed;
    const response = await polling;
    assert.equal(response.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    busy.close();
  } finally {
    await broker.shutdown();
  }
});

test('many pipelined requests beyond the in-flight limit are all answered, in order', async () => {
  const broker = await startTestBroker({ storage: 'memory', maxInFlightRequestsPerConnection: 2 });
  try {
    const client = await WireClient.connect(broker.port);
    await createTopic(client, 'pipelined');
    const frames = Array.from({ length: 60 }, (_, i) =>
      i % 2 === 0
        ? { apiKey: ApiKey.Metadata, frame: client.frame(ApiKey.Metadata, 12, metadataAll) }
        : {
            apiKey: ApiKey.Produce,
            frame: client.frame(ApiKey.Produce, 9, {
              transactionalId: null,
              acks: 1,
              timeoutMs: 5000,
              topicData: [{ name: 'pipelined', partitionData: [{ index: 0, records: buildRecordBatch([{ value: `m${i}` }]) }] }],
            }),
          },
    );
    const answeredBefore = client.responseOrder.length;
    const answers = frames.map(({ apiKey, frame }) => client.expect(frame.correlationId, apiKey, apiKey === ApiKey.Produce ? 9 : 12));
    client.writeRaw(Buffer.concat(frames.map(({ frame }) => frame.bytes)));
    await Promise.all(answers);
    assert.deepEqual(client.responseOrder.slice(answeredBefore), frames.map(({ frame }) => frame.correlationId));
    client.close();
  } finally {
    await broker.shutdown();
  }
});

test('a client that stops reading is throttled, not buffered without bound, and served once it reads', async () => {
  // File storage: every fetch reads fresh buffers, so answering without backpressure would show.
  const broker = await startTestBroker({ maxInFlightRequestsPerConnection: 8 });
  try {
    const setup = await WireClient.connect(broker.port);
    await createTopic(setup, 'backpressure');
    const value = Buffer.alloc(512 * 1024, 3);
    for (let i = 0; i < 4; i++) {
      await setup.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: 'backpressure', partitionData: [{ index: 0, records: buildRecordBatch([{ value }]) }] }],
      });
    }
    setup.close();

    const reader = await WireClient.connect(broker.port);
    reader.pause();
    const fetchAll = {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 4 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'backpressure', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 4 * 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
      forgottenTopicsData: [],
      rackId: '',
    };
    // 200 fetches of 2 MiB each would be 400 MiB of responses if the broker kept answering.
    const frames = Array.from({ length: 200 }, () => reader.frame(ApiKey.Fetch, 12, fetchAll));
    const answers = frames.map((frame) => reader.expect(frame.correlationId, ApiKey.Fetch, 12));
    reader.writeRaw(Buffer.concat(frames.map((frame) => frame.bytes)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const heapAndBuffers = process.memoryUsage().arrayBuffers;
    assert.ok(heapAndBuffers < 300 * 1024 * 1024, `the broker buffered ${heapAndBuffers} bytes for a client that does not read`);
    reader.resume();
    await Promise.all(answers);
    reader.close();
  } finally {
    await broker.shutdown();
  }
});

test('close answers requests in flight before the connections go', async () => {
  const broker = await startTestBroker({ storage: 'memory' });
  const client = await WireClient.connect(broker.port);
  await createTopic(client, 'shutdown');
  const polling = client.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 30_000,
    minBytes: 1,
    maxBytes: 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'shutdown', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  const closing = broker.shutdown();
  const response = await polling;
  assert.equal(response.responses[0].partitions[0].errorCode, ErrorCode.NONE, 'the long poll is answered, not dropped');
  await closing;
  await client.closed;
});
