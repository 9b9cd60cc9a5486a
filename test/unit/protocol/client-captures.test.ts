/**
 * Golden tests against request frames captured from real clients (test/fixtures/wire/requests.json,
 * made by test/fixtures/wire/capture.ts): every frame decodes without error, consuming all of its
 * bytes, and re-encodes to exactly the bytes the client sent. A codec that were consistently wrong
 * in both directions would pass round-trip tests but fail here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { decodeRequestHeader, encodeRequestHeader } from '../../../src/protocol/frame.js';
import { API_CODECS } from '../../../src/protocol/generated/registry.js';
import { ApiKey } from '../../../src/protocol/generated/api-keys.js';
import { validateProducedBatch } from '../../../src/protocol/records/record-batch.js';
import { decodeRecordBatch } from '../../../src/protocol/records/records.js';

interface CapturedFrame {
  client: string;
  apiKey: number;
  apiVersion: number;
  hex: string;
}

const fixturePath = fileURLToPath(new URL('../../../../test/fixtures/wire/requests.json', import.meta.url));
const frames = JSON.parse(readFileSync(fixturePath, 'utf8')) as CapturedFrame[];

function decode(frame: CapturedFrame): { header: ReturnType<typeof decodeRequestHeader>; body: any; bytes: Buffer } {
  const bytes = Buffer.from(frame.hex, 'hex');
  const reader = new Reader(bytes);
  const header = decodeRequestHeader(reader);
  const body = API_CODECS.get(frame.apiKey)!.decodeRequest(reader, frame.apiVersion);
  assert.equal(reader.error, null, `${frame.client} API ${frame.apiKey} v${frame.apiVersion}`);
  assert.equal(reader.remaining, 0, `${frame.client} API ${frame.apiKey} v${frame.apiVersion} left bytes unread`);
  return { header, body, bytes };
}

test('the fixtures cover several clients and APIs', () => {
  assert.ok(new Set(frames.map((f) => f.client)).size >= 2);
  assert.ok(frames.length >= 10);
});

for (const frame of frames) {
  test(`${frame.client}: API ${frame.apiKey} v${frame.apiVersion} decodes fully and re-encodes byte for byte`, () => {
    const { header, body, bytes } = decode(frame);
    assert.equal(header.apiKey, frame.apiKey);
    assert.equal(header.apiVersion, frame.apiVersion);
    const writer = new Writer();
    encodeRequestHeader(writer, header);
    API_CODECS.get(frame.apiKey)!.encodeRequest(writer, frame.apiVersion, body);
    assert.equal(writer.toBuffer().toString('hex'), bytes.toString('hex'));
  });
}

test('a captured KafkaJS produce request carries one valid batch with the sent record', async () => {
  const frame = frames.find((f) => f.client === 'kafkajs' && f.apiKey === ApiKey.Produce);
  assert.ok(frame);
  const { header, body } = decode(frame);
  assert.equal(header.clientId, 'golden-kafkajs');
  assert.equal(body.topicData[0].name, 'golden');
  const records: Buffer = body.topicData[0].partitionData[0].records;
  const validation = validateProducedBatch(records, 1_000_000);
  assert.ok(validation.ok);
  assert.ok(validation.header.producerId >= 0n, 'the idempotent producer stamped its producer id');
  const decoded = await decodeRecordBatch(records);
  assert.equal(decoded.records[0]!.key?.toString(), 'k');
  assert.equal(decoded.records[0]!.value?.toString(), 'v');
  assert.equal(decoded.records[0]!.timestamp, 1700000000000n);
  assert.deepEqual(decoded.records[0]!.headers.map((h) => [h.key, h.value?.toString()]), [['h', '1']]);
});

test('a captured @platformatic/kafka CreateTopics v7 request names the topic and its layout', () => {
  const frame = frames.find((f) => f.client === 'platformatic' && f.apiKey === ApiKey.CreateTopics);
  assert.ok(frame);
  const { body } = decode(frame);
  assert.equal(body.topics[0].name, 'golden-p');
  assert.equal(body.topics[0].numPartitions, 1);
  assert.equal(body.topics[0].replicationFactor, 1);
});
