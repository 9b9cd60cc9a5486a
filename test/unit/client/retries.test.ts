/**
 * Retries of retriable errors, which a single healthy broker never returns on demand: a scripted
 * peer (the generated codec on a socket) answers like a cluster whose leaders and coordinators
 * move. The client must refresh its routing, retry with backoff, and give up after a bounded
 * number of attempts with the error that kept coming back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { decodeRequestHeader, encodeResponseHeader } from '../../../src/protocol/frame.js';
import { API_CODECS } from '../../../src/protocol/generated/registry.js';
import { ApiKey } from '../../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { KafkaClient, parseBrokerList } from '../../../src/client/client.js';
import { KafkaError } from '../../../src/client/errors.js';
import { OffsetSpec, describeGroup, listOffsets } from '../../../src/client/admin.js';

type Answer = (request: any, version: number) => unknown;

/** A peer speaking just enough Kafka: ApiVersions v0-v3 for the given APIs, then scripted answers. */
async function scriptedPeer(versions: Record<number, [number, number]>, answers: Record<number, Answer>) {
  const calls: Array<{ apiKey: number; version: number }> = [];
  let port = 0;
  const server = createServer((socket: Socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const reader = new Reader(frame);
        const header = decodeRequestHeader(reader);
        const codec = API_CODECS.get(header.apiKey)!;
        const request = codec.decodeRequest(reader, header.apiVersion);
        calls.push({ apiKey: header.apiKey, version: header.apiVersion });
        const body =
          header.apiKey === ApiKey.ApiVersions
            ? { errorCode: 0, apiKeys: Object.entries({ ...versions, [ApiKey.ApiVersions]: [0, 3] }).map(([key, [min, max]]) => ({ apiKey: Number(key), minVersion: min, maxVersion: max })) }
            : answers[header.apiKey]!(request, header.apiVersion);
        const w = new Writer();
        w.int32(0);
        encodeResponseHeader(w, header.apiKey, header.apiVersion, header.correlationId);
        codec.encodeResponse(w, header.apiVersion, body);
        const bytes = w.toBuffer();
        bytes.writeInt32BE(bytes.length - 4, 0);
        socket.write(bytes);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
  return { port, calls, close: () => server.close() };
}

function metadata(port: number, partitionError: () => number) {
  return () => ({
    brokers: [{ nodeId: 1, host: '127.0.0.1', port }],
    clusterId: 'c',
    controllerId: 1,
    topics: [{ errorCode: 0, name: 't', partitions: [{ errorCode: partitionError(), partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] }] }],
  });
}

test('a moved leader: metadata is refreshed and the request retried', async () => {
  let metadataCalls = 0;
  let listCalls = 0;
  let peerPort = 0;
  const peer = await scriptedPeer(
    { [ApiKey.Metadata]: [0, 12], [ApiKey.ListOffsets]: [0, 9] },
    {
      // Right after creation a partition may have no leader yet.
      [ApiKey.Metadata]: () => metadata(peerPort, () => (metadataCalls++ === 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0))()!,
      [ApiKey.ListOffsets]: () => ({
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: listCalls++ < 2 ? ErrorCode.NOT_LEADER_FOR_PARTITION : 0, offset: 42n, timestamp: -1n }] }],
      }),
    },
  );
  peerPort = peer.port;
  const client = new KafkaClient({ brokers: parseBrokerList(`127.0.0.1:${peer.port}`), retryBackoffMs: 5 });
  try {
    const listed = await listOffsets(client, [{ topic: 't', partition: 0, timestamp: OffsetSpec.latest }]);
    assert.equal(listed.get('t', 0, OffsetSpec.latest)?.offset, 42n);
    assert.equal(listCalls, 3, 'two NOT_LEADER answers, then success');
    assert.ok(metadataCalls >= 3, 'metadata was looked up again after each NOT_LEADER');
  } finally {
    client.close();
    peer.close();
  }
});

test('retries are bounded: an error that keeps coming back is reported', async () => {
  let peerPort = 0;
  let listCalls = 0;
  const peer = await scriptedPeer(
    { [ApiKey.Metadata]: [0, 12], [ApiKey.ListOffsets]: [0, 9] },
    {
      [ApiKey.Metadata]: () => metadata(peerPort, () => 0)(),
      [ApiKey.ListOffsets]: () => {
        listCalls++;
        return { topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NOT_LEADER_FOR_PARTITION, offset: -1n, timestamp: -1n }] }] };
      },
    },
  );
  peerPort = peer.port;
  const client = new KafkaClient({ brokers: parseBrokerList(`127.0.0.1:${peer.port}`), retryBackoffMs: 1, retries: 3 });
  try {
    await assert.rejects(
      listOffsets(client, [{ topic: 't', partition: 0, timestamp: OffsetSpec.latest }]),
      (error: unknown) => error instanceof KafkaError && error.errorCode === ErrorCode.NOT_LEADER_FOR_PARTITION,
    );
    assert.equal(listCalls, 4, 'the first attempt and 3 retries');
  } finally {
    client.close();
    peer.close();
  }
});

test('a coordinator that is loading or moved: FindCoordinator again, then the group call succeeds', async () => {
  let peerPort = 0;
  let findCalls = 0;
  let describeCalls = 0;
  const peer = await scriptedPeer(
    { [ApiKey.Metadata]: [0, 12], [ApiKey.FindCoordinator]: [0, 3], [ApiKey.DescribeGroups]: [0, 5] },
    {
      [ApiKey.Metadata]: () => metadata(peerPort, () => 0)(),
      [ApiKey.FindCoordinator]: () => {
        findCalls++;
        return findCalls === 1
          ? { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null, nodeId: -1, host: '', port: -1 }
          : { errorCode: 0, errorMessage: null, nodeId: 1, host: '127.0.0.1', port: peerPort };
      },
      [ApiKey.DescribeGroups]: () => {
        describeCalls++;
        const errorCode = describeCalls === 1 ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : describeCalls === 2 ? ErrorCode.NOT_COORDINATOR : 0;
        return { groups: [{ errorCode, groupId: 'g', groupState: 'Empty', protocolType: 'consumer', protocolData: '', members: [] }] };
      },
    },
  );
  peerPort = peer.port;
  const client = new KafkaClient({ brokers: parseBrokerList(`127.0.0.1:${peer.port}`), retryBackoffMs: 1 });
  try {
    const group = await describeGroup(client, 'g');
    assert.equal(group.state, 'Empty');
    assert.equal(describeCalls, 3);
    assert.ok(findCalls >= 3, 'the coordinator was looked up again after NOT_COORDINATOR');
    assert.ok(peer.calls.every((call) => call.apiKey !== ApiKey.FindCoordinator || call.version === 3), 'the highest common version is used');
  } finally {
    client.close();
    peer.close();
  }
});
