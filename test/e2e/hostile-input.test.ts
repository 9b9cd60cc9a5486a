/**
 * Hostile and malformed input against an in-process broker: impossible frame sizes, truncated
 * headers, garbage bodies, unknown API keys, random bytes, absurd array lengths, slow and partial
 * frames, frames that claim 90 MiB and never send it, and requests that ask the broker to create
 * billions of partitions. After each attack the attacked connection must be closed (or have had a
 * well-formed answer where Kafka gives one), and a connection opened before the attacks must still
 * do a Metadata + Produce + Fetch round trip.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { buildRecordBatch, decodeRecordBatches } from '../../src/protocol/records/records.js';
import { Offsets } from '../../src/protocol/records/record-batch.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { startCliBroker } from '../interop/helpers/cli-broker.js';
import { prng } from '../helpers/prng.js';

const MAX_REQUEST_BYTES = 100 * 1024 * 1024; // Kafka's socket.request.max.bytes default, the broker's too
let broker: TestBroker;
let sentinel: WireClient;
let supported: Map<number, { minVersion: number; maxVersion: number }>;
let roundTrips = 0;

/** A raw TCP connection that records what comes back and when it closes. */
class Raw {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closedAt: number | null = null;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAt = Date.now();
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<Raw> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new Raw(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Response frames received so far: [correlationId, frame length]. */
  frames(): Array<{ correlationId: number; size: number }> {
    const frames: Array<{ correlationId: number; size: number }> = [];
    let at = 0;
    while (this.received.length - at >= 8) {
      const size = this.received.readInt32BE(at);
      if (this.received.length - at - 4 < size) break;
      frames.push({ correlationId: this.received.readInt32BE(at + 4), size });
      at += 4 + size;
    }
    return frames;
  }

  /** Resolves true once closed by the broker, false if still open after `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    if (this.closedAt !== null) return true;
    let timer: NodeJS.Timeout;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer!);
    return result;
  }

  /** 'closed', 'answered' (a whole response frame with that correlation id) or 'open' after `ms`. */
  async outcome(correlationId: number, ms: number): Promise<'closed' | 'answered' | 'open'> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.frames().some((f) => f.correlationId === correlationId)) return 'answered';
      if (this.closedAt !== null) return 'closed';
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (this.frames().some((f) => f.correlationId === correlationId)) return 'answered';
    return this.closedAt !== null ? 'closed' : 'open';
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

/** A frame: size prefix + header (api key, version, correlation id, client id) + body. */
function frame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer, flexibleHeader = false): Buffer {
  const clientId = Buffer.from('hostile');
  const header = Buffer.alloc(10 + clientId.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  clientId.copy(header, 10);
  const parts = [header, ...(flexibleHeader ? [Buffer.from([0])] : []), body];
  const length = parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([int32(length), ...parts]);
}

/** The sentinel connection (opened before any attack) still does Metadata, Produce and Fetch. */
async function assertBrokerHealthy(after: string): Promise<void> {
  const n = ++roundTrips;
  const metadata = await sentinel.request(ApiKey.Metadata, 12, { topics: [{ topicId: null, name: 'sentinel' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.equal(metadata.brokers.length, 1, `after ${after}: Metadata lists the broker`);
  assert.equal(metadata.topics[0].errorCode, ErrorCode.NONE, `after ${after}: the sentinel topic is there`);
  const value = `alive-${n}`;
  const produced = await sentinel.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'sentinel', partitionData: [{ index: 0, records: buildRecordBatch([{ key: 'k', value }]) }] }],
  });
  const partition = produced.responses[0].partitionResponses[0];
  assert.equal(partition.errorCode, ErrorCode.NONE, `after ${after}: produce works`);
  const fetched = await sentinel.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'sentinel', partitions: [{ partition: 0, fetchOffset: partition.baseOffset, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const batches = await decodeRecordBatches(fetched.responses[0].partitions[0].records);
  const record = batches.flatMap((b) => b.records).find((r) => r.offset === partition.baseOffset);
  assert.equal(record?.value?.toString(), value, `after ${after}: fetch returns what was produced`);
  // And a brand-new connection is served too.
  const fresh = await WireClient.connect(broker.port);
  try {
    const versions = await fresh.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'hostile-test', clientSoftwareVersion: '1' });
    assert.equal(versions.errorCode, ErrorCode.NONE, `after ${after}: a new connection is served`);
  } finally {
    fresh.close();
  }
}

before(async () => {
  broker = await startTestBroker({ maxRequestBytes: MAX_REQUEST_BYTES });
  sentinel = await WireClient.connect(broker.port);
  const created = await sentinel.request(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'sentinel', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
  const versions = await sentinel.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'hostile-test', clientSoftwareVersion: '1' });
  supported = new Map(versions.apiKeys.map((a: { apiKey: number; minVersion: number; maxVersion: number }) => [a.apiKey, a]));
  await assertBrokerHealthy('start-up');
});

after(async () => {
  sentinel?.close();
  await broker?.shutdown();
});

test('impossible frame sizes close the connection at once, before any body arrives', { timeout: 60_000 }, async () => {
  const sizes = [-1, -(2 ** 31), 0, 1, 4, 9, MAX_REQUEST_BYTES + 1, 2 ** 31 - 1];
  for (const size of sizes) {
    const raw = await Raw.open(broker.port);
    const started = Date.now();
    // Only the size prefix, plus as many body bytes as a tiny frame claims: the broker must judge
    // the size alone and not wait for (or allocate) the rest.
    raw.write(Buffer.concat([int32(size), Buffer.alloc(Math.max(0, Math.min(size, 9)))]));
    assert.ok(await raw.closesWithin(2000), `frame size ${size}: connection still open after 2 s`);
    assert.ok(raw.closedAt! - started < 2000, `frame size ${size}: closed after ${raw.closedAt! - started} ms`);
    assert.equal(raw.received.length, 0, `frame size ${size}: nothing is answered`);
  }
  await assertBrokerHealthy('impossible frame sizes');
});

test('truncated and malformed request headers close the connection', { timeout: 60_000 }, async () => {
  const cases: Array<[string, Buffer]> = [];
  // client_id claims 100 bytes, none follow.
  const truncatedClientId = Buffer.alloc(14);
  truncatedClientId.writeInt32BE(10, 0);
  truncatedClientId.writeInt16BE(ApiKey.Metadata, 4);
  truncatedClientId.writeInt16BE(1, 6);
  truncatedClientId.writeInt32BE(7, 8);
  truncatedClientId.writeInt16BE(100, 12);
  cases.push(['client_id longer than the frame', truncatedClientId]);
  // A flexible (header v2) Metadata request that ends before its header's tagged fields.
  const noTags = Buffer.alloc(14);
  noTags.writeInt32BE(10, 0);
  noTags.writeInt16BE(ApiKey.Metadata, 4);
  noTags.writeInt16BE(12, 6);
  noTags.writeInt32BE(8, 8);
  noTags.writeInt16BE(-1, 12);
  cases.push(['flexible header without its tagged fields', noTags]);
  // Header tagged fields: one field claiming 2^28 bytes.
  const hugeTag = frame(ApiKey.Metadata, 12, 9, Buffer.from([0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x01]), false);
  cases.push(['a header tagged field claiming 256 MiB', hugeTag]);
  // client_id length -2 (only -1 means null).
  const badNull = Buffer.alloc(14);
  badNull.writeInt32BE(10, 0);
  badNull.writeInt16BE(ApiKey.ApiVersions, 4);
  badNull.writeInt16BE(0, 6);
  badNull.writeInt32BE(10, 8);
  badNull.writeInt16BE(-2, 12);
  cases.push(['client_id length -2', badNull]);

  for (const [name, bytes] of cases) {
    const raw = await Raw.open(broker.port);
    raw.write(bytes);
    assert.ok(await raw.closesWithin(2000), `${name}: connection still open after 2 s`);
    assert.equal(raw.frames().length, 0, `${name}: no response`);
  }
  await assertBrokerHealthy('malformed headers');
});

test('unknown API keys and broker-internal APIs close the connection', { timeout: 60_000 }, async () => {
  for (const apiKey of [999, -1, 32767, ApiKey.LeaderAndIsr, ApiKey.Envelope]) {
    const raw = await Raw.open(broker.port);
    raw.write(frame(apiKey, 0, 42, Buffer.alloc(16)));
    assert.equal(await raw.outcome(42, 2000), 'closed', `API key ${apiKey}`);
  }
  await assertBrokerHealthy('unknown API keys');
});

test('a valid header with a garbage body is closed or answered, for every kind of request', { timeout: 60_000 }, async () => {
  const apis: Array<[number, number]> = [
    [ApiKey.Produce, 9],
    [ApiKey.Produce, 3],
    [ApiKey.Fetch, 12],
    [ApiKey.Fetch, 4],
    [ApiKey.ListOffsets, 7],
    [ApiKey.Metadata, 12],
    [ApiKey.Metadata, 1],
    [ApiKey.CreateTopics, 7],
    [ApiKey.DeleteTopics, 6],
    [ApiKey.DeleteRecords, 2],
    [ApiKey.InitProducerId, 4],
    [ApiKey.OffsetForLeaderEpoch, 4],
    [ApiKey.DescribeConfigs, 4],
    [ApiKey.AlterConfigs, 2],
    [ApiKey.CreatePartitions, 3],
    [ApiKey.IncrementalAlterConfigs, 1],
    [ApiKey.ApiVersions, 3],
  ];
  const random = prng(7);
  const garbages: Array<[string, (n: number) => Buffer]> = [
    ['0xff bytes', (n) => Buffer.alloc(n, 0xff)],
    ['0x7f bytes', (n) => Buffer.alloc(n, 0x7f)],
    ['random bytes', (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)))],
    ['nothing', () => Buffer.alloc(0)],
  ];
  let correlationId = 1000;
  const outcomes: string[] = [];
  for (const [apiKey, version] of apis) {
    if (!supported.has(apiKey)) continue;
    const flexible = isFlexible(apiKey, version);
    for (const [garbageName, garbage] of garbages) {
      const raw = await Raw.open(broker.port);
      const id = correlationId++;
      raw.write(frame(apiKey, version, id, garbage(48), flexible));
      const outcome = await raw.outcome(id, 3000);
      outcomes.push(`${apiKey}v${version}/${garbageName}: ${outcome}`);
      assert.notEqual(outcome, 'open', `API ${apiKey} v${version} with ${garbageName}: neither answered nor closed within 3 s`);
      raw.destroy();
    }
  }
  assert.ok(outcomes.length >= 40);
  await assertBrokerHealthy('garbage bodies');
});

/** Whether (apiKey, version) uses request header v2; from the codec tables via a probe frame. */
function isFlexible(apiKey: number, version: number): boolean {
  const flexibleFrom: Record<number, number> = {
    [ApiKey.Produce]: 9,
    [ApiKey.Fetch]: 12,
    [ApiKey.ListOffsets]: 6,
    [ApiKey.Metadata]: 9,
    [ApiKey.CreateTopics]: 5,
    [ApiKey.DeleteTopics]: 4,
    [ApiKey.DeleteRecords]: 2,
    [ApiKey.InitProducerId]: 2,
    [ApiKey.OffsetForLeaderEpoch]: 4,
    [ApiKey.DescribeConfigs]: 4,
    [ApiKey.AlterConfigs]: 2,
    [ApiKey.CreatePartitions]: 2,
    [ApiKey.IncrementalAlterConfigs]: 1,
    [ApiKey.ApiVersions]: 3,
    [ApiKey.DescribeCluster]: 0,
  };
  return version >= (flexibleFrom[apiKey] ?? Infinity);
}

test('absurd array and byte lengths inside otherwise valid requests close the connection without allocating them', { timeout: 60_000 }, async () => {
  const uvarint = (value: number) => {
    const out: number[] = [];
    let v = value >>> 0;
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
    return Buffer.from(out);
  };
  const cases: Array<[string, number, number, Buffer]> = [
    ['Metadata v1 topics: 2^31-1 elements', ApiKey.Metadata, 1, int32(2 ** 31 - 1)],
    ['Metadata v12 topics: compact length 2^32-2', ApiKey.Metadata, 12, uvarint(2 ** 32 - 1)],
    ['ListOffsets v5 topics: 2^31-1 elements', ApiKey.ListOffsets, 5, Buffer.concat([int32(-1), Buffer.from([0]), int32(2 ** 31 - 1)])],
    ['Produce v8 topics: 2^31-1 elements', ApiKey.Produce, 8, Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.from([0, 1]), int32(5000), int32(2 ** 31 - 1)])],
    ['Produce v9 topics: compact length 2^28', ApiKey.Produce, 9, Buffer.concat([Buffer.from([0]), Buffer.from([0, 1]), int32(5000), uvarint(2 ** 28)])],
    [
      'Produce v8 records: bytes claiming 2^31-1',
      ApiKey.Produce,
      8,
      Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.from([0, 1]), int32(5000), int32(1), Buffer.from([0, 8]), Buffer.from('sentinel'), int32(1), int32(0), int32(2 ** 31 - 1), Buffer.alloc(64)]),
    ],
    ['Fetch v12 topics: compact length 2^31', ApiKey.Fetch, 12, Buffer.concat([int32(-1), int32(100), int32(1), int32(1024), Buffer.from([0]), int32(0), int32(-1), uvarint(2 ** 31)])],
    ['CreateTopics v4 topics: 2^31-1 elements', ApiKey.CreateTopics, 4, Buffer.concat([int32(2 ** 31 - 1), Buffer.alloc(32)])],
    ['DescribeConfigs v1 resources: 2^31-1 elements', ApiKey.DescribeConfigs, 1, Buffer.concat([int32(2 ** 31 - 1), Buffer.alloc(32)])],
  ];
  const before = process.memoryUsage();
  let correlationId = 2000;
  for (const [name, apiKey, version, body] of cases) {
    const raw = await Raw.open(broker.port);
    const id = correlationId++;
    raw.write(frame(apiKey, version, id, body, isFlexible(apiKey, version)));
    assert.equal(await raw.outcome(id, 2000), 'closed', name);
  }
  const grown = process.memoryUsage();
  assert.ok(grown.arrayBuffers - before.arrayBuffers < 64 * 1024 * 1024, `array buffers grew by ${grown.arrayBuffers - before.arrayBuffers} bytes`);
  assert.ok(grown.heapUsed - before.heapUsed < 128 * 1024 * 1024, `heap grew by ${grown.heapUsed - before.heapUsed} bytes`);
  await assertBrokerHealthy('absurd lengths');
});

test('bad batches and impossible partitions get well-formed error answers and the connection stays usable', { timeout: 60_000 }, async () => {
  const client = await WireClient.connect(broker.port);
  try {
    const produce = async (records: Buffer | null, index = 0, topic = 'sentinel') => {
      const response = await client.request(ApiKey.Produce, 9, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index, records }] }] });
      return response.responses[0].partitionResponses[0];
    };
    const good = buildRecordBatch([{ value: 'ok' }]);
    const hugeCount = Buffer.from(good);
    hugeCount.writeInt32BE(2 ** 31 - 1, Offsets.recordCount);
    assert.notEqual((await produce(hugeCount)).errorCode, ErrorCode.NONE, 'a batch claiming 2^31-1 records');
    const hugeLength = Buffer.from(good);
    hugeLength.writeInt32BE(2 ** 31 - 1, Offsets.batchLength);
    assert.notEqual((await produce(hugeLength)).errorCode, ErrorCode.NONE, 'a batch length beyond the buffer');
    const negativeLength = Buffer.from(good);
    negativeLength.writeInt32BE(-5, Offsets.batchLength);
    assert.notEqual((await produce(negativeLength)).errorCode, ErrorCode.NONE, 'a negative batch length');
    assert.notEqual((await produce(Buffer.alloc(7, 1))).errorCode, ErrorCode.NONE, 'seven bytes of records');
    assert.equal((await produce(good, 2 ** 31 - 1)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'partition 2^31-1');
    assert.equal((await produce(good, -1)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'partition -1');

    const fetched = await client.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: -1,
      isolationLevel: 7,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: 'sentinel', partitions: [{ partition: 2 ** 31 - 1, fetchOffset: -5n, partitionMaxBytes: -1, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    assert.notEqual(fetched.responses[0].partitions[0].errorCode, ErrorCode.NONE, 'fetch of partition 2^31-1');

    const offsets = await client.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'sentinel', partitions: [{ partitionIndex: 99, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    assert.equal(offsets.topics[0].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'ListOffsets of partition 99');

    assert.equal((await produce(good)).errorCode, ErrorCode.NONE, 'the same connection still produces');
  } finally {
    client.close();
  }
  await assertBrokerHealthy('bad batches');
});

test('random bytes (seeded, 300 connections) never crash the broker or leave a complete frame unanswered', { timeout: 60_000 }, async () => {
  const random = prng(20240601);
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const safeApis = [
    ApiKey.Metadata,
    ApiKey.ApiVersions,
    ApiKey.ListOffsets,
    ApiKey.DeleteRecords,
    ApiKey.InitProducerId,
    ApiKey.OffsetForLeaderEpoch,
    ApiKey.DescribeConfigs,
    ApiKey.DescribeCluster,
  ].filter((key) => supported.has(key));
  const tally = { closed: 0, answered: 0, waiting: 0 };
  const problems: string[] = [];

  const attack = async (i: number) => {
    const raw = await Raw.open(broker.port);
    const mode = i % 3;
    const id = 100_000 + i;
    try {
      if (mode === 0) {
        // Anything at all, size prefix included.
        const bytes = randomBytes(1 + Math.floor(random() * 64));
        raw.write(bytes);
        const claimed = bytes.length >= 4 ? bytes.readInt32BE(0) : -1;
        const complete = bytes.length >= 4 && claimed >= 0 && claimed <= bytes.length - 4;
        const impossible = bytes.length >= 4 && (claimed < 10 || claimed > MAX_REQUEST_BYTES);
        const outcome = (await raw.closesWithin(impossible || complete ? 2000 : 100)) ? 'closed' : 'open';
        if (outcome === 'closed') tally.closed++;
        else if (impossible) problems.push(`#${i}: frame size ${claimed} left the connection open`);
        else if (raw.frames().length > 0) tally.answered++;
        else tally.waiting++;
      } else {
        // A complete frame: random content, or a real header of a harmless API and a random body.
        const body = randomBytes(Math.floor(random() * 80));
        let bytes: Buffer;
        if (mode === 1) {
          bytes = Buffer.concat([int32(body.length + 10), int32(Math.floor(random() * 2 ** 31)), int32(id), Buffer.from([0xff, 0xff]), body]);
          // An API that answers at once (not Produce with acks=0, Fetch or JoinGroup, which may
          // rightly stay silent for a while) or an unknown one; any version.
          const apiKey = random() < 0.5 ? safeApis[Math.floor(random() * safeApis.length)]! : 80 + Math.floor(random() * 30_000);
          bytes.writeInt16BE(apiKey, 4);
        } else {
          const apiKey = safeApis[Math.floor(random() * safeApis.length)]!;
          const range = supported.get(apiKey)!;
          const version = range.minVersion + Math.floor(random() * (range.maxVersion - range.minVersion + 1));
          bytes = frame(apiKey, version, id, body, isFlexible(apiKey, version));
        }
        raw.write(bytes);
        const outcome = await raw.outcome(id, 3000);
        if (outcome === 'open') {
          if (raw.frames().length > 0) tally.answered++;
          else problems.push(`#${i}: complete frame ${bytes.subarray(0, 24).toString('hex')}… neither answered nor closed within 3 s`);
        } else tally[outcome]++;
      }
    } finally {
      raw.destroy();
    }
  };

  for (let start = 0; start < 300; start += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => attack(start + j)));
    if (start % 100 === 90) await assertBrokerHealthy(`random attack ${start + 10}`);
  }
  assert.deepEqual(problems, []);
  assert.equal(tally.closed + tally.answered + tally.waiting, 300);
  assert.ok(tally.closed > 100, `most random input is refused: ${JSON.stringify(tally)}`);
  await assertBrokerHealthy('random bytes');
});

test('frames that claim 90 MiB and send a few bytes cost memory for the bytes sent, not the bytes claimed', { timeout: 60_000 }, async () => {
  const claimed = 90 * 1024 * 1024;
  const connections: Raw[] = [];
  await assertBrokerHealthy('warm-up');
  const before = process.memoryUsage();
  for (let i = 0; i < 24; i++) {
    const raw = await Raw.open(broker.port);
    const header = frame(ApiKey.Produce, 9, 5000 + i, Buffer.alloc(1000, 0x41), true);
    header.writeInt32BE(claimed, 0);
    raw.write(header);
    connections.push(raw);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  await assertBrokerHealthy('24 connections each claiming a 90 MiB frame');
  const during = process.memoryUsage();
  const arrayBuffersGrowth = during.arrayBuffers - before.arrayBuffers;
  const rssGrowth = during.rss - before.rss;
  try {
    // Allocating the claimed size would add 24 x 90 MiB = 2160 MiB of array buffers.
    assert.ok(arrayBuffersGrowth < 48 * 1024 * 1024, `array buffers grew by ${(arrayBuffersGrowth / 1048576).toFixed(1)} MiB`);
    assert.ok(rssGrowth < 256 * 1024 * 1024, `rss grew by ${(rssGrowth / 1048576).toFixed(1)} MiB`);
    // The broker is legitimately waiting for the rest of those frames: nothing answered them.
    for (const raw of connections) assert.equal(raw.frames().length, 0);
  } finally {
    for (const raw of connections) raw.destroy();
  }
  await assertBrokerHealthy('90 MiB claims');
});

test('slow and partial frames: other connections are served meanwhile, a trickled request is answered, a stalled one is reaped', { timeout: 60_000 }, async () => {
  const idleBroker = await startTestBroker({ storage: 'memory', connectionsMaxIdleMs: 800, maxConnections: 40 });
  try {
    // Connections idle for 800 ms are reaped, so the healthy one keeps talking in the background.
    const own = await WireClient.connect(idleBroker.port);
    const metadata = () => own.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    let pinging = true;
    const latencies: number[] = [];
    const pinger = (async () => {
      while (pinging) {
        const started = Date.now();
        assert.equal((await metadata()).brokers.length, 1);
        latencies.push(Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    // A real request sent one byte at a time, 15 ms apart: framing across many reads works.
    const trickle = await Raw.open(idleBroker.port);
    const request = frame(ApiKey.ApiVersions, 0, 77, Buffer.alloc(0));
    const trickled = (async () => {
      for (const byte of request) {
        trickle.write(Buffer.from([byte]));
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    // Meanwhile: 20 connections each send half a frame and stop.
    const stalled = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const raw = await Raw.open(idleBroker.port);
        raw.write(frame(ApiKey.Metadata, 12, 300 + i, Buffer.alloc(200), true).subarray(0, 100));
        return raw;
      }),
    );
    await trickled;
    assert.equal(await trickle.outcome(77, 2000), 'answered', 'the trickled request is answered');
    trickle.destroy();

    // connections.max.idle.ms reaps the stalled ones (Kafka closes idle connections the same way).
    const reaped = await Promise.all(stalled.map((raw) => raw.closesWithin(5000)));
    assert.deepEqual(reaped, stalled.map(() => true), 'stalled partial frames are closed once idle');

    // Beyond max.connections new connections are refused; the existing ones keep working.
    const flood = await Promise.all(Array.from({ length: 60 }, () => Raw.open(idleBroker.port)));
    const closed = await Promise.all(flood.map((raw) => raw.closesWithin(1000)));
    assert.ok(closed.filter(Boolean).length >= 20, `connections beyond the limit are closed (${closed.filter(Boolean).length} of 60)`);
    for (const raw of flood) raw.destroy();

    pinging = false;
    await pinger;
    assert.ok(latencies.length >= 10, `the healthy connection kept being answered (${latencies.length} round trips)`);
    assert.ok(Math.max(...latencies) < 500, `and promptly: slowest round trip ${Math.max(...latencies)} ms`);
    own.close();
  } finally {
    await idleBroker.shutdown();
  }
  await assertBrokerHealthy('slow frames');
});

/**
 * CreateTopics and CreatePartitions with a partition count of two billion. Run against a CLI broker
 * in its own process with a small heap, so that a broker that tries to create them fails this test
 * instead of taking the test runner down with it.
 */
test('a request for two billion partitions gets an error answer, not an out-of-memory crash', { timeout: 60_000 }, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-hostile-'));
  const child = await startCliBroker({ dataDir, extraArgs: ['--memory'], nodeArgs: ['--max-old-space-size=256'], logLevel: 'error' });
  const client = await WireClient.connect(child.port);
  const died = async (what: string): Promise<never> => {
    const { code, signal } = await child.exited;
    const lines = child.stderr().split('\n').filter((line) => line.trim() !== '');
    const fatal = lines.filter((line) => /FATAL|out of memory/i.test(line));
    const log = (fatal.length > 0 ? fatal : lines.slice(-4)).join('\n').slice(-800);
    throw new Error(`${what}: the broker process died (exit code ${code}, signal ${signal}) instead of answering:\n${log}`);
  };
  const withDeadline = <T>(promise: Promise<T>, what: string): Promise<T> =>
    Promise.race([
      promise.catch(async (error: Error) => {
        // The connection closing usually means the process is gone: say so, with its last words.
        const exited = await Promise.race([child.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000))]);
        if (exited) return died(what);
        throw new Error(`${what}: ${error.message}`);
      }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within 10 s`)), 10_000)),
    ]);
  try {
    const huge = await withDeadline(
      client.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'huge', numPartitions: 2_000_000_000, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 }),
      'CreateTopics numPartitions=2000000000',
    );
    assert.notEqual(huge.topics[0].errorCode, ErrorCode.NONE, 'creating a topic of two billion partitions is refused');

    const small = await withDeadline(
      client.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'small', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 }),
      'CreateTopics small',
    );
    assert.equal(small.topics[0].errorCode, ErrorCode.NONE);
    const grown = await withDeadline(
      client.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'small', count: 2_000_000_000, assignments: null }], timeoutMs: 5000, validateOnly: false }),
      'CreatePartitions count=2000000000',
    );
    assert.notEqual(grown.results[0].errorCode, ErrorCode.NONE, 'growing a topic to two billion partitions is refused');

    const metadata = await withDeadline(
      client.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
      'Metadata afterwards',
    );
    assert.deepEqual(
      metadata.topics.map((t: { name: string; partitions: unknown[] }) => [t.name, t.partitions.length]),
      [['small', 1]],
      'nothing was created',
    );
  } finally {
    client.close();
    await child.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
});

/**
 * Kafka's controller refuses a CreateTopics whose topics together ask for more than 10,000
 * partitions, whatever each topic asks for: POLICY_VIOLATION, "Excessively large number of
 * partitions per request." (ReplicationControlManager.MAX_PARTITIONS_PER_BATCH). A per-topic bound
 * alone lets one small request ask for a million partitions as 100 topics of 10,000.
 */
test('one CreateTopics asking for more than 10,000 partitions in all is refused with POLICY_VIOLATION', { timeout: 60_000 }, async () => {
  const memoryBroker = await startTestBroker({ storage: 'memory' });
  const client = await WireClient.connect(memoryBroker.port);
  try {
    const response = await client.request(ApiKey.CreateTopics, 7, {
      topics: ['wide-a', 'wide-b'].map((name) => ({ name, numPartitions: 6000, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 5000,
    });
    assert.deepEqual(
      response.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode]),
      [
        ['wide-a', ErrorCode.POLICY_VIOLATION],
        ['wide-b', ErrorCode.POLICY_VIOLATION],
      ],
      '2 x 6,000 partitions in one request',
    );
    const metadata = await client.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual(metadata.topics.map((t: { name: string }) => t.name), [], 'nothing was created');
  } finally {
    client.close();
    await memoryBroker.shutdown();
  }
});

/**
 * Running out of file descriptors half-way through creating a topic (here: a CLI broker started
 * under `ulimit -n 200`, asked for a 1,000-partition topic) is a failure the broker can answer: the
 * topic gets an error code, what was made of it is removed, and the broker carries on.
 */
test('running out of file descriptors while creating a topic is answered with an error and rolled back', { timeout: 60_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const { readdir } = await import('node:fs/promises');
  const { CLI_PATH } = await import('../helpers/cli-process.js');
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-emfile-'));
  const child = spawn('bash', ['-c', `ulimit -n 200 && exec "${process.execPath}" "${CLI_PATH}" start --host 127.0.0.1 --port 0 --data-dir "${dataDir}" --log-level error`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
      child.once('exit', (code) => reject(new Error(`the broker exited (${code}) before listening: ${stderr}`)));
    });
    const port = Number(/listening on [^:]+:(\d+)/.exec(line)?.[1]);
    const client = await WireClient.connect(port);
    let answer: { errorCode: number; errorMessage: string | null } | null = null;
    try {
      const response = await client.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'many', numPartitions: 1000, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
      });
      answer = response.topics[0];
    } catch (error) {
      assert.fail(`CreateTopics of 1,000 partitions under a 200-descriptor limit: ${(error as Error).message} instead of an error answer\n${stderr.slice(-1500)}`);
    } finally {
      client.close();
    }
    assert.notEqual(answer!.errorCode, ErrorCode.NONE, 'the topic cannot be created with 200 file descriptors');
    const leftovers = (await readdir(dataDir)).filter((name) => name.startsWith('many-'));
    assert.deepEqual(leftovers.length, 0, `partition directories of the failed topic are removed (${leftovers.length} left)`);
    assert.doesNotMatch(stderr, /Closing file descriptor \d+ on garbage collection/, 'no file handle is left for the garbage collector to close');

    const after = await WireClient.connect(port);
    try {
      const metadata = await after.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.deepEqual(metadata.topics.map((t: { name: string }) => t.name), [], 'the failed topic is not listed');
      const created = await after.request(ApiKey.CreateTopics, 7, { topics: [{ name: 'small', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 });
      assert.equal(created.topics[0].errorCode, ErrorCode.NONE, 'a small topic can still be created');
    } finally {
      after.close();
    }
  } finally {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
});
