/**
 * The client's connection layer: version negotiation (against the real broker, and the KIP-511
 * fallback against a peer that only speaks ApiVersions v0, which no current broker does), pipelining,
 * timeouts, and failing fast when no bootstrap broker answers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { decodeRequestHeader } from '../../../src/protocol/frame.js';
import { encodeApiVersionsResponse } from '../../../src/protocol/generated/api-versions.js';
import { ApiKey } from '../../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { Api } from '../../../src/client/apis.js';
import { Connection } from '../../../src/client/connection.js';
import { KafkaClient, parseBrokerList } from '../../../src/client/client.js';
import { BrokerConnectionError, RequestTimeoutError, UnsupportedVersionError, isRetriableError } from '../../../src/client/errors.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';

const options = { clientId: 'test', connectTimeoutMs: 2000, requestTimeoutMs: 2000 };

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker({ storage: 'memory' });
});
after(async () => {
  await broker.shutdown();
});

test('parseBrokerList reads host:port lists, IPv6 in brackets, and names bad entries', () => {
  assert.deepEqual(parseBrokerList('a:1, b:2'), [
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
  ]);
  assert.deepEqual(parseBrokerList('[::1]:9093'), [{ host: '::1', port: 9093 }]);
  assert.deepEqual(parseBrokerList('kafka'), [{ host: 'kafka', port: 9092 }]);
  assert.throws(() => parseBrokerList('a:99999'), /"a:99999" has an invalid port/);
  assert.throws(() => parseBrokerList(' , '), /no broker address/);
});

test('a connection negotiates the highest version both sides support', async () => {
  const connection = await Connection.open({ host: '127.0.0.1', port: broker.port }, options);
  try {
    const produce = connection.apiVersions.get(ApiKey.Produce)!;
    assert.equal(connection.versionFor(Api.Produce), Math.min(produce.max, Api.Produce.maxVersion));
    assert.equal(connection.versionFor(Api.Fetch, 12), 12);
    // Pipelined: several requests in flight at once, each answered by its correlation id.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => connection.request(Api.Metadata, () => ({ topics: [] }))),
    );
    assert.equal(answers.length, 20);
    for (const { response } of answers) assert.equal(response.brokers[0]?.port, broker.port);
  } finally {
    connection.close();
  }
});

/** A peer that answers every ApiVersions above v0 as an old broker does: UNSUPPORTED_VERSION in a v0 body. */
async function oldBroker(apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }>, silent = false): Promise<{ server: Server; port: number; seen: number[] }> {
  const seen: number[] = [];
  const server = createServer((socket: Socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const header = decodeRequestHeader(new Reader(frame));
        seen.push(header.apiVersion);
        if (silent) continue;
        const w = new Writer();
        w.int32(0).int32(header.correlationId);
        const errorCode = header.apiVersion > 0 ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.NONE;
        encodeApiVersionsResponse(w, 0, { errorCode, apiKeys });
        const bytes = w.toBuffer();
        bytes.writeInt32BE(bytes.length - 4, 0);
        socket.write(bytes);
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, seen };
}

test('KIP-511: a broker without our ApiVersions version answers v0, and the client asks again in its version', async () => {
  const peer = await oldBroker([
    { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 0 },
    { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 2 },
    { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 5 },
  ]);
  try {
    const connection = await Connection.open({ host: '127.0.0.1', port: peer.port }, options);
    assert.deepEqual(peer.seen, [Api.ApiVersions.maxVersion, 0]);
    assert.equal(connection.versionFor(Api.Metadata), 5);
    // Produce v0-2 cannot carry record batch v2: no version in common, and the message says so.
    assert.throws(
      () => connection.versionFor(Api.Produce),
      (error: unknown) =>
        error instanceof UnsupportedVersionError &&
        error.message === `the broker at 127.0.0.1:${peer.port} supports Produce versions 0-2, this client needs 3-11`,
    );
    assert.throws(() => connection.versionFor(Api.DescribeCluster), /does not support DescribeCluster/);
    connection.close();
  } finally {
    peer.server.close();
  }
});

test('a request without an answer times out and closes its connection', async () => {
  const peer = await oldBroker([], true);
  try {
    await assert.rejects(
      Connection.open({ host: '127.0.0.1', port: peer.port }, { ...options, requestTimeoutMs: 200 }),
      (error: unknown) => error instanceof RequestTimeoutError && /within 200 ms/.test(error.message),
    );
  } finally {
    peer.server.close();
  }
});

test('no reachable bootstrap broker fails at once with every address named, not retried', async () => {
  const client = new KafkaClient({ brokers: parseBrokerList('127.0.0.1:1,127.0.0.1:2') });
  const started = Date.now();
  await assert.rejects(
    client.retry('listing topics', () => client.refreshMetadata(null)),
    (error: unknown) =>
      error instanceof BrokerConnectionError &&
      error.bootstrap &&
      !isRetriableError(error) &&
      error.message === 'cannot connect to any of the brokers: 127.0.0.1:1 (ECONNREFUSED), 127.0.0.1:2 (ECONNREFUSED)',
  );
  assert.ok(Date.now() - started < 1000);
  client.close();
});

test('the client routes by metadata and reconnects after a lost connection', async () => {
  const client = new KafkaClient({ brokers: parseBrokerList(broker.bootstrap) });
  try {
    const metadata = await client.refreshMetadata(null);
    assert.equal(metadata.controllerId, broker.nodeId);
    const first = await client.brokerConnection(broker.nodeId);
    assert.equal(await client.brokerConnection(broker.nodeId), first, 'one connection per broker and purpose');
    assert.notEqual(await client.brokerConnection(broker.nodeId, 'group'), first, 'group coordination has its own connection');
    first.close();
    const second = await client.brokerConnection(broker.nodeId);
    assert.notEqual(second, first);
    assert.equal(second.isClosed, false);
  } finally {
    client.close();
  }
});
