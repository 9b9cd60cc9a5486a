import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  type RequestHeader,
} from '../../../src/protocol/frame.js';
import { ApiKey, API_DEFINITIONS } from '../../../src/protocol/generated/api-keys.js';

test('request header version follows the API version flexibility', () => {
  assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  assert.equal(requestHeaderVersion(ApiKey.Fetch, 11), 1);
  assert.equal(requestHeaderVersion(ApiKey.Fetch, 12), 2);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 2), 1);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  assert.equal(requestHeaderVersion(ApiKey.Metadata, 99), 2, 'open-ended flexible versions, as Kafka reads them');
  assert.equal(requestHeaderVersion(ApiKey.SaslHandshake, 1), 1, 'never flexible');
  assert.equal(requestHeaderVersion(ApiKey.OffsetDelete, 0), 1, 'never flexible');
  assert.equal(requestHeaderVersion(9999, 3), 1, 'unknown API key');
  assert.equal(requestHeaderVersion(-1, 3), 1);
});

test('response header version follows flexibility, except ApiVersions which is always v0', () => {
  assert.equal(responseHeaderVersion(ApiKey.Produce, 8), 0);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 9), 1);
  assert.equal(responseHeaderVersion(ApiKey.Metadata, 9), 1);
  for (let version = 0; version <= 10; version++) assert.equal(responseHeaderVersion(ApiKey.ApiVersions, version), 0);
  assert.equal(responseHeaderVersion(9999, 5), 0);
  for (const definition of API_DEFINITIONS) {
    if (definition.apiKey === ApiKey.ApiVersions) continue;
    assert.equal(responseHeaderVersion(definition.apiKey, definition.maxVersion), definition.flexibleMinVersion <= definition.maxVersion ? 1 : 0);
  }
});

test('request header v1 with a null client id', () => {
  const r = new Reader(Buffer.from('0003 0001 0000002a ffff 77'.replace(/ /g, ''), 'hex'));
  assert.deepEqual(decodeRequestHeader(r), { apiKey: 3, apiVersion: 1, correlationId: 42, clientId: null });
  assert.equal(r.error, null);
  assert.equal(r.int8(), 0x77, 'the body follows the header');
});

test('request header v2 skips tagged fields, including unknown tags', () => {
  const frame = Buffer.from(
    [
      '0012 0003 00000001', // ApiVersions v3, correlation 1
      '0003 636c69', // client id "cli" (int16 length)
      '02 00 01 ff 05 02 aabb', // two tagged fields: tag 0 (1 byte), tag 5 (2 bytes)
      '77', // body
    ]
      .join('')
      .replace(/ /g, ''),
    'hex',
  );
  const r = new Reader(frame);
  assert.deepEqual(decodeRequestHeader(r), { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'cli' });
  assert.equal(r.error, null);
  assert.equal(r.int8(), 0x77);
});

test('request headers of unknown API keys are read as v1', () => {
  const r = new Reader(Buffer.from('270f 0005 00000009 0001 78 00'.replace(/ /g, ''), 'hex'));
  assert.deepEqual(decodeRequestHeader(r), { apiKey: 9999, apiVersion: 5, correlationId: 9, clientId: 'x' });
  assert.equal(r.error, null);
  assert.equal(r.remaining, 1, 'no tagged-field section was consumed');
});

test('a truncated request header records an error and does not throw', () => {
  const full = Buffer.from('0012 0003 00000001 0003 636c69 00'.replace(/ /g, ''), 'hex');
  for (let cut = 0; cut < full.length; cut++) {
    const r = new Reader(full.subarray(0, cut));
    assert.doesNotThrow(() => decodeRequestHeader(r));
    assert.notEqual(r.error, null, `cut at ${cut}`);
  }
});

test('request headers round-trip in v1 and v2', () => {
  const headers: RequestHeader[] = [
    { apiKey: ApiKey.Produce, apiVersion: 3, correlationId: 1, clientId: 'producer-1' },
    { apiKey: ApiKey.Produce, apiVersion: 11, correlationId: -5, clientId: 'é' },
    { apiKey: ApiKey.Fetch, apiVersion: 16, correlationId: 2147483647, clientId: null },
    { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: 0, clientId: '' },
  ];
  for (const header of headers) {
    const w = new Writer();
    encodeRequestHeader(w, header);
    const bytes = w.toBuffer();
    const clientIdSize = header.clientId === null ? 0 : Buffer.byteLength(header.clientId);
    const expectedSize = 10 + clientIdSize + (requestHeaderVersion(header.apiKey, header.apiVersion) === 2 ? 1 : 0);
    assert.equal(bytes.length, expectedSize);
    const r = new Reader(bytes);
    assert.deepEqual(decodeRequestHeader(r), header);
    assert.equal(r.remaining, 0);
  }
});

test('response headers: v0 is the correlation id, v1 adds an empty tagged-field section', () => {
  const encode = (apiKey: number, version: number) => {
    const w = new Writer();
    encodeResponseHeader(w, apiKey, version, 258);
    return w.toBuffer().toString('hex');
  };
  assert.equal(encode(ApiKey.Produce, 8), '00000102');
  assert.equal(encode(ApiKey.Produce, 9), '0000010200');
  assert.equal(encode(ApiKey.ApiVersions, 3), '00000102', 'ApiVersions: header v0 even when flexible');

  const r = new Reader(Buffer.from('00000102 01 03 01 ff 66'.replace(/ /g, ''), 'hex'));
  assert.deepEqual(decodeResponseHeader(r, ApiKey.Metadata, 12), { correlationId: 258 });
  assert.equal(r.int8(), 0x66);
  const v0 = new Reader(Buffer.from('00000102 66'.replace(/ /g, ''), 'hex'));
  assert.deepEqual(decodeResponseHeader(v0, ApiKey.ApiVersions, 4), { correlationId: 258 });
  assert.equal(v0.int8(), 0x66);
});
