/**
 * The admin listener: /metrics scraped after known traffic shows exactly that traffic (requests by
 * API and version, bytes both ways, latency histograms, connections), the partitions' offsets and
 * sizes, a group's lag, fsyncs after acks=all; /health and /ready, including /ready during shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { API_CODECS } from '../../src/protocol/generated/registry.js';
import { buildRecordBatch } from '../../src/protocol/records/records.js';
import { AdminServer } from '../../src/admin/admin-server.js';
import { BrokerMetrics } from '../../src/metrics/broker-metrics.js';
import { silentLogger } from '../../src/logger.js';
import { startTestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';

/** Sends one request and waits for its response; returns the frame size sent and received. */
async function exchange<T = any>(client: WireClient, apiKey: number, version: number, body: unknown): Promise<{ response: T; sent: number; received: number }> {
  const before = client.bytesReceived;
  const { correlationId, bytes } = client.frame(apiKey, version, body);
  const reply = client.expect(correlationId, apiKey, version);
  client.writeRaw(bytes);
  const reader = await reply;
  const response = API_CODECS.get(apiKey)!.decodeResponse(reader, version) as T;
  return { response, sent: bytes.length, received: client.bytesReceived - before };
}

type Samples = Map<string, number>;

/** Parses the Prometheus text format into `name{label="value",...}` (labels sorted) -> value. */
function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

function sample(samples: Samples, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  return samples.get(`${name}{${key}}`);
}

async function get(url: string): Promise<{ status: number; body: string; contentType: string | null }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') };
}

test('metrics after known traffic: requests, bytes, latency, connections, partitions, lag, fsync', async () => {
  const broker = await startTestBroker({ adminPort: 0 });
  const admin = `http://127.0.0.1:${broker.adminPort}`;
  const client = await WireClient.connect(broker.port);
  try {
    assert.deepEqual(await get(`${admin}/health`), { status: 200, body: '{"status":"up"}\n', contentType: 'application/json' });
    assert.deepEqual(await get(`${admin}/ready`), { status: 200, body: '{"status":"ready"}\n', contentType: 'application/json' });
    assert.equal((await get(`${admin}/nope`)).status, 404);

    let produceSent = 0;
    let produceReceived = 0;
    const batchBytes = [0, 0];
    const created = await exchange(client, ApiKey.CreateTopics, 7, {
      topics: [{ name: 'metered', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assert.equal(created.response.topics[0].errorCode, ErrorCode.NONE);
    // Partition 0: 5 requests with acks=all, of 1..5 records; partition 1: 3 with acks=1, of 2 records.
    const produce = async (partition: number, records: number, acks: number) => {
      const batch = buildRecordBatch(Array.from({ length: records }, (_, i) => ({ value: `value-${i}-${'x'.repeat(100)}` })));
      batchBytes[partition]! += batch.length;
      const { response, sent, received } = await exchange(client, ApiKey.Produce, 9, {
        transactionalId: null,
        acks,
        timeoutMs: 5000,
        topicData: [{ name: 'metered', partitionData: [{ index: partition, records: batch }] }],
      });
      assert.equal(response.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      produceSent += sent;
      produceReceived += received;
    };
    for (let records = 1; records <= 5; records++) await produce(0, records, -1);
    for (let i = 0; i < 3; i++) await produce(1, 2, 1);
    const committed = await exchange(client, ApiKey.OffsetCommit, 8, {
      groupId: 'metered-group',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'metered',
          partitions: [
            { partitionIndex: 0, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: null },
            { partitionIndex: 1, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null },
          ],
        },
      ],
    });
    assert.deepEqual(
      committed.response.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE],
    );

    const scraped = await get(`${admin}/metrics`);
    assert.equal(scraped.status, 200);
    assert.equal(scraped.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const samples = parseMetrics(scraped.body);

    // Requests by API and version, and nothing else from this client.
    const requests = [...samples].filter(([key]) => key.startsWith('tributary_requests_total{'));
    assert.deepEqual(new Map(requests), new Map([
      ['tributary_requests_total{api="Produce",version="9"}', 8],
      ['tributary_requests_total{api="CreateTopics",version="7"}', 1],
      ['tributary_requests_total{api="OffsetCommit",version="8"}', 1],
    ]));
    // Bytes, size prefixes included, exactly as the client sent and received them.
    assert.equal(sample(samples, 'tributary_request_bytes_total', { api: 'Produce' }), produceSent);
    assert.equal(sample(samples, 'tributary_response_bytes_total', { api: 'Produce' }), produceReceived);
    assert.equal(sample(samples, 'tributary_request_bytes_total', { api: 'CreateTopics' }), created.sent);
    assert.equal(sample(samples, 'tributary_response_bytes_total', { api: 'CreateTopics' }), created.received);
    assert.equal(sample(samples, 'tributary_request_bytes_total', { api: 'OffsetCommit' }), committed.sent);
    assert.equal(sample(samples, 'tributary_response_bytes_total', { api: 'OffsetCommit' }), committed.received);

    // The latency histogram of Produce: 8 observations, cumulative buckets.
    assert.equal(sample(samples, 'tributary_request_duration_seconds_count', { api: 'Produce' }), 8);
    assert.equal(sample(samples, 'tributary_request_duration_seconds_bucket', { api: 'Produce', le: '+Inf' }), 8);
    const buckets = [...samples].filter(([key]) => key.startsWith('tributary_request_duration_seconds_bucket{api="Produce"')).map(([, value]) => value);
    assert.equal(buckets.length, 18);
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b), 'cumulative');
    const sum = sample(samples, 'tributary_request_duration_seconds_sum', { api: 'Produce' })!;
    assert.ok(sum > 0 && sum < 30, String(sum));

    // Connections: this client only (the HTTP scrape is not a Kafka connection).
    assert.equal(sample(samples, 'tributary_connections_active'), 1);
    assert.equal(sample(samples, 'tributary_connections_opened_total'), 1);
    assert.equal(sample(samples, 'tributary_connections_closed_total'), 0);

    // Partitions: end offset, start offset and size.
    const partition = (p: string) => ({ topic: 'metered', partition: p });
    assert.equal(sample(samples, 'tributary_log_end_offset', partition('0')), 15);
    assert.equal(sample(samples, 'tributary_log_end_offset', partition('1')), 6);
    assert.equal(sample(samples, 'tributary_log_start_offset', partition('0')), 0);
    assert.equal(sample(samples, 'tributary_log_size_bytes', partition('0')), batchBytes[0]);
    assert.equal(sample(samples, 'tributary_log_size_bytes', partition('1')), batchBytes[1]);
    assert.ok(sample(samples, 'tributary_log_end_offset', { topic: '__consumer_offsets', partition: '0' })! >= 1);

    // The group's lag and committed offsets.
    const lagOf = (p: string) => ({ group: 'metered-group', topic: 'metered', partition: p });
    assert.equal(sample(samples, 'tributary_consumer_group_lag', lagOf('0')), 13);
    assert.equal(sample(samples, 'tributary_consumer_group_lag', lagOf('1')), 5);
    assert.equal(sample(samples, 'tributary_consumer_group_committed_offset', lagOf('0')), 2);
    assert.equal(sample(samples, 'tributary_consumer_groups', { state: 'Empty' }), 1);

    // acks=all and the offset commit were fsynced.
    assert.ok(sample(samples, 'tributary_log_fsync_duration_seconds_count')! >= 5);
    assert.equal(sample(samples, 'tributary_log_inline_write_backoffs_total'), 0, 'appends stayed on the event loop');
    assert.equal(sample(samples, 'tributary_broker_info', { version: (await import('../../src/version.js')).VERSION, node_id: '1', cluster_id: broker.clusterId }), 1);

    // Process metrics, including the event-loop delay.
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds', 'process_cpu_seconds_total', 'process_resident_memory_bytes']) {
      assert.ok(sample(samples, name) !== undefined, name);
    }

    // Counters keep counting across scrapes.
    await exchange(client, ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'metered', partitionData: [{ index: 1, records: buildRecordBatch([{ value: 'one more' }]) }] }],
    });
    client.close();
    await client.closed;
    const again = parseMetrics((await get(`${admin}/metrics`)).body);
    assert.equal(sample(again, 'tributary_requests_total', { api: 'Produce', version: '9' }), 9);
    assert.equal(sample(again, 'tributary_log_end_offset', partition('1')), 7);
    assert.equal(sample(again, 'tributary_consumer_group_lag', lagOf('1')), 6);
    await waitFor(async () => sample(parseMetrics((await get(`${admin}/metrics`)).body), 'tributary_connections_active') === 0);
    const closed = parseMetrics((await get(`${admin}/metrics`)).body);
    assert.equal(sample(closed, 'tributary_connections_closed_total'), 1);
  } finally {
    client.close();
    await broker.shutdown();
  }
});

test('/ready answers 503 while the broker shuts down, and the admin listener stops last', async () => {
  const broker = await startTestBroker({ adminPort: 0, storage: 'memory' });
  const admin = `http://127.0.0.1:${broker.adminPort}`;
  // A client that does not read a large fetch response keeps the graceful shutdown waiting for it
  // to be delivered: the response is bigger than what the kernel buffers between the two sockets.
  const client = await WireClient.connect(broker.port);
  await exchange(client, ApiKey.CreateTopics, 7, {
    topics: [{ name: 'big', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  const value = Buffer.alloc(1_000_000, 7);
  for (let i = 0; i < 10; i++) {
    const { response } = await exchange(client, ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'big', partitionData: [{ index: 0, records: buildRecordBatch([{ value }]) }] }],
    });
    assert.equal(response.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }
  client.pause();
  const fetchFrame = client.frame(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 30_000_000,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 30_000_000, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const fetched = client.expect(fetchFrame.correlationId, ApiKey.Fetch, 12);
  client.writeRaw(fetchFrame.bytes);
  await waitFor(async () => sample(parseMetrics((await get(`${admin}/metrics`)).body), 'tributary_requests_total', { api: 'Fetch', version: '12' }) === 1);
  const closing = broker.shutdown();
  try {
    assert.deepEqual(await get(`${admin}/ready`), { status: 503, body: '{"status":"stopping"}\n', contentType: 'application/json' });
    assert.equal((await get(`${admin}/health`)).status, 200);
    assert.equal((await get(`${admin}/metrics`)).status, 200);
    // Still draining a while later: the unread response holds the shutdown.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await get(`${admin}/ready`)).status, 503);
  } finally {
    client.resume();
    await fetched;
    await closing;
  }
  await assert.rejects(fetch(`${admin}/health`), 'the admin listener is closed with the broker');
});

test('the admin listener is off unless asked for', async () => {
  const broker = await startTestBroker({ storage: 'memory' });
  try {
    assert.equal(broker.adminPort, null);
    assert.equal(broker.adminHost, null);
  } finally {
    await broker.shutdown();
  }
});

test('admin routes: 503 while starting, 404, 405, HEAD', async () => {
  let readiness: 'starting' | 'ready' | 'stopping' = 'starting';
  const metrics = new BrokerMetrics({ cluster: () => null, groups: () => null, connections: () => null, info: () => null });
  const server = new AdminServer({ host: '127.0.0.1', port: 0, logger: silentLogger(), metrics, readiness: () => readiness });
  const { port } = await server.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    assert.deepEqual(await get(`${base}/ready`), { status: 503, body: '{"status":"starting"}\n', contentType: 'application/json' });
    readiness = 'ready';
    assert.equal((await get(`${base}/ready?verbose=1`)).status, 200);
    assert.equal((await get(`${base}/`)).status, 404);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    // Before the broker is up, the scrape still works: metrics without values.
    const early = parseMetrics((await get(`${base}/metrics`)).body);
    assert.equal(sample(early, 'tributary_connections_active'), 0);
  } finally {
    await server.close();
  }
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
