/**
 * Protocol-level behaviour of a real in-process broker over TCP: version negotiation, pipelining
 * order, acks=0, produce validation and idempotence error codes, fetch long-polling and KIP-74.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { decodeApiVersionsResponse } from '../../src/protocol/generated/api-versions.js';
import { buildRecordBatch } from '../../src/protocol/records/records.js';
import { Offsets } from '../../src/protocol/records/record-batch.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';

let broker: TestBroker;

before(async () => {
  broker = await startTestBroker({ messageMaxBytes: 64 * 1024 });
});
after(async () => {
  await broker.shutdown();
});

async function createTopic(client: WireClient, name: string, partitions = 1): Promise<void> {
  const response = await client.request(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  assert.equal(response.topics[0].errorCode, ErrorCode.NONE, response.topics[0].errorMessage);
}

function produceBody(topic: string, records: Buffer | null, acks = 1, partition = 0) {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] };
}

async function produce(client: WireClient, topic: string, records: Buffer | null, acks = 1) {
  const response = await client.request(ApiKey.Produce, 9, produceBody(topic, records, acks));
  return response.responses[0].partitionResponses[0];
}

function fetchBody(topic: string, offset: bigint, options: { maxWaitMs?: number; minBytes?: number; partitionMaxBytes?: number } = {}) {
  return {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: 10 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

test('ApiVersions answers every version and lists the APIs the dispatcher serves', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    for (let version = 0; version <= 4; version++) {
      const response = await client.request(ApiKey.ApiVersions, version, { clientSoftwareName: 'wire-test', clientSoftwareVersion: '1.0' });
      assert.equal(response.errorCode, ErrorCode.NONE);
      const produce = response.apiKeys.find((api: { apiKey: number }) => api.apiKey === ApiKey.Produce);
      assert.deepEqual({ ...produce }, { apiKey: 0, minVersion: 3, maxVersion: 11 });
      assert.ok(response.apiKeys.some((api: { apiKey: number }) => api.apiKey === ApiKey.Fetch));
    }
  } finally {
    client.close();
  }
});

test('ApiVersions of an unknown version gets a v0 UNSUPPORTED_VERSION answer listing the APIs (KIP-511)', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    // A future v99 request: header v2 with an empty tagged-field section, then an opaque body.
    const body = Buffer.from([0x00, 0x01, 0x02]);
    const frame = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 4 + 1 + body.length);
    let at = frame.writeInt32BE(frame.length - 4, 0);
    at = frame.writeInt16BE(ApiKey.ApiVersions, at);
    at = frame.writeInt16BE(99, at);
    at = frame.writeInt32BE(4242, at);
    at = frame.writeInt16BE(4, at);
    at += frame.write('test', at);
    at = frame.writeUInt8(0, at);
    body.copy(frame, at);
    const pending = client.expect(4242, ApiKey.ApiVersions, 0);
    client.writeRaw(frame);
    const reader = await pending;
    const response = decodeApiVersionsResponse(reader, 0);
    assert.ok(reader.ok);
    assert.equal(response.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.ok(response.apiKeys.some((api) => api.apiKey === ApiKey.Metadata && api.maxVersion === 12));
  } finally {
    client.close();
  }
});

test('an unsupported version of another API closes only that connection', async () => {
  const bad = await WireClient.connect(broker.port);
  const good = await WireClient.connect(broker.port);
  try {
    const { bytes } = bad.frame(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    bytes.writeInt16BE(13, 6); // api_version beyond what the broker serves
    bad.writeRaw(bytes);
    await bad.closed;
    const response = await good.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(response.brokers.length, 1);
  } finally {
    bad.close();
    good.close();
  }
});

test('pipelined requests are answered in order even when an earlier one long-polls', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    await createTopic(client, 'pipeline');
    const slowFetch = client.frame(ApiKey.Fetch, 12, fetchBody('pipeline', 0n, { maxWaitMs: 300, minBytes: 1 }));
    const metadata = Array.from({ length: 10 }, () =>
      client.frame(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
    );
    const waits = [slowFetch, ...metadata].map((frame, i) => client.expect(frame.correlationId, i === 0 ? ApiKey.Fetch : ApiKey.Metadata, 12));
    client.writeRaw(Buffer.concat([slowFetch.bytes, ...metadata.map((frame) => frame.bytes)]));
    const answeredBefore = client.responseOrder.length;
    await Promise.all(waits);
    assert.deepEqual(client.responseOrder.slice(answeredBefore), [slowFetch.correlationId, ...metadata.map((frame) => frame.correlationId)]);
  } finally {
    client.close();
  }
});

test('acks=0 produce gets no response but its records are appended in order', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    await createTopic(client, 'acks-zero');
    for (let i = 0; i < 5; i++) {
      const { correlationId, bytes } = client.frame(ApiKey.Produce, 9, produceBody('acks-zero', buildRecordBatch([{ value: `m${i}` }]), 0));
      client.expect(correlationId, ApiKey.Produce, 9).then(() => assert.fail('acks=0 produce must not be answered'), () => undefined);
      client.writeRaw(bytes);
    }
    const offsets = await client.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'acks-zero', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    assert.equal(offsets.topics[0].partitions[0].offset, 5n);
  } finally {
    client.close();
  }
});

test('produce validation answers precise error codes and writes nothing', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    await createTopic(client, 'validation');
    const good = buildRecordBatch([{ key: 'k', value: 'v' }]);

    const corrupt = Buffer.from(good);
    corrupt[corrupt.length - 1]! ^= 0xff;
    assert.equal((await produce(client, 'validation', corrupt)).errorCode, ErrorCode.CORRUPT_MESSAGE);

    assert.equal((await produce(client, 'validation', Buffer.concat([good, good]))).errorCode, ErrorCode.INVALID_RECORD);

    const large = buildRecordBatch([{ value: Buffer.alloc(70 * 1024, 1) }]);
    assert.equal((await produce(client, 'validation', large)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);

    const wrongCount = Buffer.from(good);
    wrongCount.writeInt32BE(2, Offsets.recordCount);
    assert.notEqual((await produce(client, 'validation', wrongCount)).errorCode, ErrorCode.NONE);

    assert.equal((await produce(client, 'no-such-topic', good)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce(client, 'validation', good, 2)).errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
    assert.equal((await produce(client, 'validation', null)).errorCode, ErrorCode.INVALID_RECORD);

    const accepted = await produce(client, 'validation', good);
    assert.equal(accepted.errorCode, ErrorCode.NONE);
    assert.equal(accepted.baseOffset, 0n, 'rejected batches must not consume offsets');
  } finally {
    client.close();
  }
});

test('idempotent producers: duplicates get their original offset, gaps and fenced epochs are refused', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    await createTopic(client, 'idempotent');
    const init = await client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const producerId: bigint = init.producerId;
    const batch = (baseSequence: number, epoch: number, count = 2) =>
      buildRecordBatch(Array.from({ length: count }, (_, i) => ({ value: `s${baseSequence + i}` })), { producerId, producerEpoch: epoch, baseSequence });

    const first = await produce(client, 'idempotent', batch(0, 0));
    assert.equal(first.errorCode, ErrorCode.NONE);
    const second = await produce(client, 'idempotent', batch(2, 0));
    assert.equal(second.baseOffset, 2n);

    const retry = await produce(client, 'idempotent', batch(0, 0));
    assert.equal(retry.errorCode, ErrorCode.NONE);
    assert.equal(retry.baseOffset, 0n, 'a retried batch is acknowledged with its original offset');

    assert.equal((await produce(client, 'idempotent', batch(9, 0))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);

    assert.equal((await produce(client, 'idempotent', batch(0, 1))).errorCode, ErrorCode.NONE, 'a bumped epoch restarts at 0');
    assert.equal((await produce(client, 'idempotent', batch(4, 0))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);

    const end = await client.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'idempotent', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    assert.equal(end.topics[0].partitions[0].offset, 6n, 'the duplicate was not written twice');

    const next = await client.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    assert.notEqual(next.producerId, producerId, 'every InitProducerId gets a new id');
  } finally {
    client.close();
  }
});

test('a long-polling fetch is woken by an append and returns the new batch', async () => {
  const consumer = await WireClient.connect(broker.port);
  const producer = await WireClient.connect(broker.port);
  try {
    await createTopic(producer, 'long-poll');
    const fetching = consumer.request(ApiKey.Fetch, 12, fetchBody('long-poll', 0n, { maxWaitMs: 60_000, minBytes: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await produce(producer, 'long-poll', buildRecordBatch([{ value: 'wake up' }]));
    const response = await fetching;
    const partition = response.responses[0].partitions[0];
    assert.equal(partition.errorCode, ErrorCode.NONE);
    assert.equal(partition.highWatermark, 1n);
    assert.ok(partition.records.length > 0);
  } finally {
    consumer.close();
    producer.close();
  }
});

test('fetch returns a first batch larger than the partition limit whole (KIP-74) and refuses offsets out of range', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    await createTopic(client, 'kip-74');
    const big = buildRecordBatch([{ value: Buffer.alloc(4000, 7) }]);
    await produce(client, 'kip-74', big);
    await produce(client, 'kip-74', buildRecordBatch([{ value: 'small' }]));
    const response = await client.request(ApiKey.Fetch, 12, fetchBody('kip-74', 0n, { partitionMaxBytes: 100 }));
    const records: Buffer = response.responses[0].partitions[0].records;
    assert.equal(records.length, big.length, 'exactly the first whole batch');

    const outOfRange = await client.request(ApiKey.Fetch, 12, fetchBody('kip-74', 99n));
    assert.equal(outOfRange.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(outOfRange.responses[0].partitions[0].highWatermark, 2n);
  } finally {
    client.close();
  }
});

test('partition counts are bounded: a request for billions is refused, not attempted', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    const created = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'huge', numPartitions: 2_000_000_000, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.POLICY_VIOLATION, 'more than a request may add');
    const tooManyForOneTopic = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'huge', numPartitions: 10_001, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: true,
    });
    assert.equal(tooManyForOneTopic.topics[0].errorCode, ErrorCode.POLICY_VIOLATION);
    await createTopic(client, 'grows');
    const grown = await client.request(ApiKey.CreatePartitions, 3, {
      topics: [{ name: 'grows', count: 2_000_000_000, assignments: null }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(grown.results[0].errorCode, ErrorCode.POLICY_VIOLATION);
  } finally {
    client.close();
  }
});

test('ListOffsets v0 answers in its old shape: one offset for latest, earliest and a time', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    await createTopic(client, 'list-offsets-v0');
    await produce(client, 'list-offsets-v0', buildRecordBatch([{ value: 'a', timestamp: 1000n }, { value: 'b', timestamp: 2000n }]));
    const ask = async (timestamp: bigint) => {
      const response = await client.request(ApiKey.ListOffsets, 0, {
        replicaId: -1,
        topics: [{ name: 'list-offsets-v0', partitions: [{ partitionIndex: 0, timestamp, maxNumOffsets: 1 }] }],
      });
      assert.equal(response.topics[0].partitions[0].errorCode, ErrorCode.NONE);
      return response.topics[0].partitions[0].oldStyleOffsets as bigint[];
    };
    assert.deepEqual(await ask(-1n), [2n]);
    assert.deepEqual(await ask(-2n), [0n]);
    assert.deepEqual(await ask(1500n), [1n]);
    assert.deepEqual(await ask(9000n), [2n], 'no record that late: the log end');
  } finally {
    client.close();
  }
});

test('IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on topic configs, with precise refusals', async () => {
  const client = await WireClient.connect(broker.port);
  try {
    await createTopic(client, 'incremental');
    const alter = async (configs: Array<{ name: string; configOperation: number; value: string | null }>, resourceType = 2, resourceName = 'incremental') => {
      const response = await client.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly: false });
      return response.responses[0] as { errorCode: number; errorMessage: string | null };
    };
    const describe = async () => {
      const response = await client.request(ApiKey.DescribeConfigs, 4, {
        resources: [{ resourceType: 2, resourceName: 'incremental', configurationKeys: ['retention.ms', 'cleanup.policy'] }],
        includeSynonyms: false,
        includeDocumentation: false,
      });
      return Object.fromEntries(response.results[0].configs.map((c: { name: string; value: string }) => [c.name, c.value]));
    };
    assert.equal((await alter([{ name: 'retention.ms', configOperation: 0, value: '1000' }])).errorCode, ErrorCode.NONE);
    assert.equal((await alter([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }])).errorCode, ErrorCode.NONE);
    assert.deepEqual(await describe(), { 'retention.ms': '1000', 'cleanup.policy': 'delete,compact' });
    assert.equal((await alter([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }, { name: 'retention.ms', configOperation: 1, value: null }])).errorCode, ErrorCode.NONE);
    assert.deepEqual(await describe(), { 'retention.ms': '604800000', 'cleanup.policy': 'compact' });

    const invalid = await alter([{ name: 'retention.ms', configOperation: 0, value: 'soon' }]);
    assert.equal(invalid.errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(invalid.errorMessage ?? '', /retention\.ms/);
    assert.equal((await alter([{ name: 'no.such.config', configOperation: 0, value: '1' }])).errorCode, ErrorCode.INVALID_CONFIG);
    assert.equal((await alter([{ name: 'retention.ms', configOperation: 2, value: '5' }])).errorCode, ErrorCode.INVALID_CONFIG, 'APPEND only applies to lists');
    assert.equal((await alter([{ name: 'retention.ms', configOperation: 0, value: '5' }], 2, 'missing')).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await alter([{ name: 'log.retention.ms', configOperation: 0, value: '5' }], 4, '1')).errorCode, ErrorCode.INVALID_REQUEST);
    assert.deepEqual(await describe(), { 'retention.ms': '604800000', 'cleanup.policy': 'compact' }, 'refused changes change nothing');
  } finally {
    client.close();
  }
});
