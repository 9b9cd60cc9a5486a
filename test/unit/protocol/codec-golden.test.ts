/**
 * Byte fixtures written out by hand from the protocol specification. A round trip cannot catch a
 * generator that is consistently wrong in both directions; these can.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { decodeRequestHeader, encodeRequestHeader, encodeResponseHeader } from '../../../src/protocol/frame.js';
import {
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
  encodeApiVersionsResponse,
} from '../../../src/protocol/generated/api-versions.js';
import { decodeMetadataRequest, encodeMetadataRequest } from '../../../src/protocol/generated/metadata.js';
import { decodeProduceRequest, encodeProduceRequest } from '../../../src/protocol/generated/produce.js';
import {
  decodeConsumerGroupHeartbeatResponse,
  encodeConsumerGroupHeartbeatResponse,
} from '../../../src/protocol/generated/consumer-group-heartbeat.js';
import { ApiKey } from '../../../src/protocol/generated/api-keys.js';

/** Hex with spaces and comments (`# ...` to the end of a line) allowed. */
function hex(text: string): Buffer {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  assert.match(digits, /^([0-9a-f]{2})*$/, 'fixture must be whole bytes of lowercase hex');
  return Buffer.from(digits, 'hex');
}

function written(write: (w: Writer) => void): Buffer {
  const w = new Writer();
  write(w);
  return w.toBuffer();
}

test('ApiVersions v3 request with header v2 and client software name/version', () => {
  const frame = hex(`
    0012              # api key 18
    0003              # api version 3
    00000007          # correlation id
    0003 636c69       # client id "cli": int16 length, not compact, even in header v2
    00                # header tagged fields: none
    08 6b61666b616a73 # ClientSoftwareName "kafkajs": compact string, length + 1
    06 322e322e34     # ClientSoftwareVersion "2.2.4"
    00                # body tagged fields: none
  `);
  const r = new Reader(frame);
  assert.deepEqual(decodeRequestHeader(r), { apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'cli' });
  assert.deepEqual(decodeApiVersionsRequest(r, 3), { clientSoftwareName: 'kafkajs', clientSoftwareVersion: '2.2.4' });
  assert.equal(r.remaining, 0);
  assert.equal(r.error, null);

  const encoded = written((w) => {
    encodeRequestHeader(w, { apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'cli' });
    encodeApiVersionsRequest(w, 3, { clientSoftwareName: 'kafkajs', clientSoftwareVersion: '2.2.4' });
  });
  assert.deepEqual(encoded, frame);
});

test('ApiVersions v0 request is empty; the v0 UNSUPPORTED_VERSION response lists the ApiKeys', () => {
  assert.equal(written((w) => encodeApiVersionsRequest(w, 0, {})).length, 0);
  const body = hex(`
    0023                  # error code 35 UNSUPPORTED_VERSION
    00000001              # ApiKeys: int32 array length 1
    0012 0000 0004        # ApiVersions 0-4
  `);
  const message = { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] };
  assert.deepEqual(written((w) => encodeApiVersionsResponse(w, 0, message)), body);
  const r = new Reader(body);
  const decoded = decodeApiVersionsResponse(r, 0);
  assert.equal(r.remaining, 0);
  assert.deepEqual(decoded.apiKeys, message.apiKeys);
  assert.equal(decoded.throttleTimeMs, 0);
  assert.equal(decoded.finalizedFeaturesEpoch, -1n, 'absent field decodes to its schema default');
});

test('ApiVersions v3 response: header v0, compact arrays, tagged fields written only when not default', () => {
  const frame = hex(`
    00000007              # response header v0 (ApiVersions never uses v1): correlation id only
    0000                  # error code
    03                    # ApiKeys: compact array of 2
    0000 0000 000b 00     # Produce 0-11, no tagged fields
    0012 0000 0004 00     # ApiVersions 0-4
    00000000              # throttle time
    02                    # 2 tagged fields, in tag order
    00 08                 # tag 0 SupportedFeatures, 8 bytes:
    02 02 78 0001 0002 00 #   compact array of 1: name "x", min 1, max 2, no tags
    01 08                 # tag 1 FinalizedFeaturesEpoch, 8 bytes:
    0000000000000005      #   5
  `);
  const message = {
    errorCode: 0,
    apiKeys: [
      { apiKey: 0, minVersion: 0, maxVersion: 11 },
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ],
    throttleTimeMs: 0,
    supportedFeatures: [{ name: 'x', minVersion: 1, maxVersion: 2 }],
    finalizedFeaturesEpoch: 5n,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
  const encoded = written((w) => {
    encodeResponseHeader(w, ApiKey.ApiVersions, 3, 7);
    encodeApiVersionsResponse(w, 3, message);
  });
  assert.deepEqual(encoded, frame);
  const r = new Reader(frame);
  assert.equal(r.int32(), 7);
  assert.deepEqual(decodeApiVersionsResponse(r, 3), message);
  assert.equal(r.remaining, 0);

  // Defaults (FinalizedFeaturesEpoch -1, empty arrays, false) are not written at all.
  const plain = written((w) => encodeApiVersionsResponse(w, 3, { errorCode: 0, apiKeys: [], finalizedFeaturesEpoch: -1n }));
  assert.deepEqual(plain, hex('0000 01 00000000 00'));
});

test('Metadata v1 request: int32 array of int16 strings, and null for all topics', () => {
  const body = hex(`
    00000002    # 2 topics
    0001 61     # "a"
    0002 6263   # "bc"
  `);
  const message = { topics: [{ name: 'a' }, { name: 'bc' }] };
  assert.deepEqual(written((w) => encodeMetadataRequest(w, 1, message)), body);
  const r = new Reader(body);
  const decoded = decodeMetadataRequest(r, 1);
  assert.equal(r.remaining, 0);
  assert.deepEqual(decoded.topics, [
    { topicId: '00000000-0000-0000-0000-000000000000', name: 'a' },
    { topicId: '00000000-0000-0000-0000-000000000000', name: 'bc' },
  ]);
  assert.deepEqual(written((w) => encodeMetadataRequest(w, 1, { topics: null })), hex('ffffffff'));
  // v4 adds AllowAutoTopicCreation (default true).
  assert.deepEqual(written((w) => encodeMetadataRequest(w, 4, { topics: [] })), hex('00000000 01'));
});

test('Metadata v12 request: uuid, nullable compact string, tagged sections', () => {
  const body = hex(`
    02                                # compact array of 1 topic
    0123456789abcdef0123456789abcdef  # topic id
    00                                # name: null (nullable from v10)
    00                                # topic tagged fields
    00                                # AllowAutoTopicCreation false
    01                                # IncludeTopicAuthorizedOperations true
    00                                # tagged fields
  `);
  const message = {
    topics: [{ topicId: '01234567-89ab-cdef-0123-456789abcdef', name: null }],
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: true,
  };
  assert.deepEqual(written((w) => encodeMetadataRequest(w, 12, message)), body);
  const r = new Reader(body);
  assert.deepEqual(decodeMetadataRequest(r, 12), message);
  assert.equal(r.remaining, 0);
});

test('Produce v3 request with a records field', () => {
  const body = hex(`
    ffff              # transactional id: null
    ffff              # acks -1
    00007530          # timeout 30000 ms
    00000001          # 1 topic
    0001 74           # "t"
    00000001          # 1 partition
    00000000          # index 0
    00000004 deadbeef # records: int32 length + bytes
  `);
  const message = {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from('deadbeef', 'hex') }] }],
  };
  assert.deepEqual(written((w) => encodeProduceRequest(w, 3, message)), body);
  const r = new Reader(body);
  assert.deepEqual(decodeProduceRequest(r, 3), message);
  assert.equal(r.remaining, 0);
});

test('Produce v9 request: the flexible encoding of the same data', () => {
  const body = hex(`
    03 7478       # transactional id "tx": compact nullable string
    ffff          # acks -1
    00007530      # timeout
    02            # compact array of 1 topic
    02 74         # "t"
    02            # compact array of 1 partition
    00000000      # index 0
    05 deadbeef   # records: compact bytes, length + 1
    00            # partition tagged fields
    00            # topic tagged fields
    00            # request tagged fields
  `);
  const message = {
    transactionalId: 'tx',
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from('deadbeef', 'hex') }] }],
  };
  assert.deepEqual(written((w) => encodeProduceRequest(w, 9, message)), body);
  const r = new Reader(body);
  assert.deepEqual(decodeProduceRequest(r, 9), message);
  assert.equal(r.remaining, 0);
});

test('ConsumerGroupHeartbeat v0 response: a nullable struct with its marker byte', () => {
  const body = hex(`
    00000000                          # throttle time
    0000                              # error code
    00                                # error message: null
    02 6d                             # member id "m"
    00000005                          # member epoch
    00000bb8                          # heartbeat interval 3000
    01                                # assignment present (-1 = null)
    02                                #   compact array of 1 topic partitions
    0123456789abcdef0123456789abcdef  #     topic id
    03 00000000 00000001              #     partitions [0, 1]
    00                                #     tagged fields
    00                                #   assignment tagged fields
    00                                # tagged fields
  `);
  const message = {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    memberId: 'm',
    memberEpoch: 5,
    heartbeatIntervalMs: 3000,
    assignment: { topicPartitions: [{ topicId: '01234567-89ab-cdef-0123-456789abcdef', partitions: [0, 1] }] },
  };
  assert.deepEqual(written((w) => encodeConsumerGroupHeartbeatResponse(w, 0, message)), body);
  const r = new Reader(body);
  assert.deepEqual(decodeConsumerGroupHeartbeatResponse(r, 0), message);
  assert.equal(r.remaining, 0);
});
