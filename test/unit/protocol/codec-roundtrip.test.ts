import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { API_CODECS, DATA_CODECS } from '../../../src/protocol/generated/registry.js';
import { API_DEFINITIONS } from '../../../src/protocol/generated/api-keys.js';
import { parseVersionRange, type MessageSchema } from '../../../src/protocol/generated/message-schema.js';
import { decodeMetadataRequest, encodeMetadataRequest } from '../../../src/protocol/generated/metadata.js';
import { encodeFetchSnapshotResponse } from '../../../src/protocol/generated/fetch-snapshot.js';
import { encodeOffsetFetchRequest } from '../../../src/protocol/generated/offset-fetch.js';
import { encodeConsumerGroupHeartbeatResponse } from '../../../src/protocol/generated/consumer-group-heartbeat.js';
import { minimalInput, structSample, type Sample, type SampleMode } from './sample-messages.js';

interface Codec {
  label: string;
  schema: MessageSchema;
  decode(r: Reader, version: number): unknown;
  encode(w: Writer, version: number, message: unknown): void;
}

const codecs: Codec[] = [];
for (const api of API_CODECS.values()) {
  codecs.push({ label: `${api.name}Request`, schema: api.requestSchema, decode: api.decodeRequest, encode: api.encodeRequest });
  codecs.push({ label: `${api.name}Response`, schema: api.responseSchema, decode: api.decodeResponse, encode: api.encodeResponse });
}
for (const data of DATA_CODECS.values()) codecs.push({ label: data.name, schema: data.schema, decode: data.decode, encode: data.encode });

function versionsOf(schema: MessageSchema): number[] {
  const { min, max } = parseVersionRange(schema.validVersions);
  return Array.from({ length: max - min + 1 }, (_, i) => min + i);
}

function encode(codec: Codec, version: number, message: unknown): Buffer {
  const w = new Writer(64);
  codec.encode(w, version, message);
  return w.toBuffer();
}

function decode(codec: Codec, version: number, bytes: Buffer): { message: unknown; reader: Reader } {
  const reader = new Reader(bytes);
  return { message: codec.decode(reader, version), reader };
}

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the registry covers every API of the schemas and the data/header messages', () => {
  assert.equal(API_CODECS.size, 88);
  assert.equal(API_DEFINITIONS.length, 88);
  for (const definition of API_DEFINITIONS) assert.ok(API_CODECS.has(definition.apiKey), definition.name);
  assert.deepEqual([...DATA_CODECS.keys()].sort(), [
    'ConsumerProtocolAssignment',
    'ConsumerProtocolSubscription',
    'DefaultPrincipalData',
    'LeaderChangeMessage',
    'RequestHeader',
    'ResponseHeader',
    'SnapshotFooterRecord',
    'SnapshotHeaderRecord',
  ]);
});

test('every message round-trips in every valid version: with values, with nulls, at minimal size', () => {
  let checked = 0;
  for (const codec of codecs) {
    for (const version of versionsOf(codec.schema)) {
      for (const mode of ['values', 'nulls', 'minimal'] as SampleMode[]) {
        const label = `${codec.label} v${version} (${mode})`;
        const sample = structSample(codec.schema.fields, version, mode);
        const bytes = encode(codec, version, sample);
        const { message, reader } = decode(codec, version, bytes);
        assert.equal(reader.error, null, `${label}: ${reader.error}`);
        assert.equal(reader.remaining, 0, `${label}: ${reader.remaining} bytes left over`);
        assert.deepStrictEqual(message, sample, label);
        // Encoding the decoded message again gives the same bytes.
        assert.deepEqual(encode(codec, version, message), bytes, `${label}: re-encoding`);
        checked++;
      }
    }
  }
  assert.ok(checked > 1000, `only ${checked} cases`);
});

test('encoders fill defaults for omitted optional fields (defaulted, tagged, versioned)', () => {
  for (const codec of codecs) {
    for (const version of versionsOf(codec.schema)) {
      const sample = structSample(codec.schema.fields, version, 'values');
      const { input, expected } = minimalInput(codec.schema.fields, sample, version);
      const label = `${codec.label} v${version}`;
      const { message, reader } = decode(codec, version, encode(codec, version, input));
      assert.equal(reader.error, null, `${label}: ${reader.error}`);
      assert.equal(reader.remaining, 0, label);
      assert.deepStrictEqual(message, expected, label);
    }
  }
});

test('decoding a truncated encoding never throws and always records an error', () => {
  for (const codec of codecs) {
    for (const version of versionsOf(codec.schema)) {
      const bytes = encode(codec, version, structSample(codec.schema.fields, version, 'values'));
      // Every cut point for small encodings, an even sampling plus both ends for large ones.
      const cuts = new Set<number>();
      if (bytes.length <= 300) {
        for (let cut = 0; cut < bytes.length; cut++) cuts.add(cut);
      } else {
        for (let cut = 0; cut < 16; cut++) cuts.add(cut).add(bytes.length - 1 - cut);
        for (let i = 0; i < 120; i++) cuts.add(Math.floor((i * bytes.length) / 120));
      }
      for (const cut of cuts) {
        const label = `${codec.label} v${version} cut at ${cut}/${bytes.length}`;
        let reader: Reader | undefined;
        assert.doesNotThrow(() => {
          reader = decode(codec, version, bytes.subarray(0, cut)).reader;
        }, label);
        assert.notEqual(reader?.error ?? null, null, `${label} must record an error`);
      }
    }
  }
});

test('decoding corrupted encodings never throws', () => {
  const next = random(20240611);
  for (const codec of codecs) {
    for (const version of versionsOf(codec.schema)) {
      const bytes = encode(codec, version, structSample(codec.schema.fields, version, 'values'));
      if (bytes.length === 0) continue;
      for (let round = 0; round < 12; round++) {
        const corrupted = Buffer.from(bytes);
        const flips = 1 + Math.floor(next() * 4);
        for (let i = 0; i < flips; i++) {
          const at = Math.floor(next() * corrupted.length);
          // Favour the values that make lengths hostile: 0xff (-1 / huge varint) and 0x7f.
          const choice = next();
          corrupted[at] = choice < 0.3 ? 0xff : choice < 0.5 ? 0x7f : Math.floor(next() * 256);
        }
        assert.doesNotThrow(() => decode(codec, version, corrupted), `${codec.label} v${version} round ${round}`);
      }
      // Pure noise as well.
      const noise = Buffer.alloc(64);
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(next() * 256);
      assert.doesNotThrow(() => decode(codec, version, noise), `${codec.label} v${version} noise`);
    }
  }
});

test('null in a version where the field is not nullable is a TypeError naming the field', () => {
  const w = new Writer();
  // MetadataRequest.Topics is nullable from v1 only.
  assert.throws(() => encodeMetadataRequest(w, 0, { topics: null }), (error: unknown) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /MetadataRequest\.topics is not nullable in version 0/);
    return true;
  });
  assert.doesNotThrow(() => encodeMetadataRequest(new Writer(), 1, { topics: null }));
  // OffsetFetchRequest.Topics is nullable in v2-7 only.
  assert.throws(() => encodeOffsetFetchRequest(new Writer(), 1, { groupId: 'g', topics: null }), /OffsetFetchRequest\.topics/);
  assert.doesNotThrow(() => encodeOffsetFetchRequest(new Writer(), 2, { groupId: 'g', topics: null }));
  // FetchSnapshotResponse's UnalignedRecords is a records field that is never nullable.
  assert.throws(
    () =>
      encodeFetchSnapshotResponse(new Writer(), 0, {
        throttleTimeMs: 0,
        errorCode: 0,
        topics: [
          {
            name: 't',
            partitions: [
              {
                index: 0,
                errorCode: 0,
                snapshotId: { endOffset: 0n, epoch: 0 },
                size: 0n,
                position: 0n,
                unalignedRecords: null,
              },
            ],
          },
        ],
      }),
    /FetchSnapshotResponsePartitionSnapshot\.unalignedRecords is not nullable/,
  );
});

test('a null array where the version does not allow it is a decode error, not a throw', () => {
  // MetadataRequest v0 with a -1 topics array.
  const r = new Reader(Buffer.from('ffffffff', 'hex'));
  const message = decodeMetadataRequest(r, 0);
  assert.match(r.error ?? '', /MetadataRequest\.topics is not nullable/);
  assert.deepEqual(message.topics, []);
  const v1 = new Reader(Buffer.from('ffffffff', 'hex'));
  assert.equal(decodeMetadataRequest(v1, 1).topics, null);
  assert.equal(v1.error, null);
});

test('fields absent from a version are not written and decode to their defaults', () => {
  const w = new Writer();
  // AllowAutoTopicCreation (v4+, default true) is ignored in v3.
  encodeMetadataRequest(w, 3, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
  const bytes = w.toBuffer();
  assert.equal(bytes.toString('hex'), '00000000');
  const decoded = decodeMetadataRequest(new Reader(bytes), 3);
  assert.equal(decoded.allowAutoTopicCreation, true);
  assert.equal(decoded.includeTopicAuthorizedOperations, false);
});

test('a nullable struct is preceded by a marker byte', () => {
  const encodeWith = (assignment: null | { topicPartitions: [] }) => {
    const w = new Writer();
    encodeConsumerGroupHeartbeatResponse(w, 0, { throttleTimeMs: 0, errorCode: 0, memberEpoch: 1, heartbeatIntervalMs: 2, assignment });
    return w.toBuffer().toString('hex');
  };
  // ... memberEpoch, heartbeatIntervalMs, then the marker (ff = null; 01 = present), then the tag section.
  assert.ok(encodeWith(null).endsWith('00000001' + '00000002' + 'ff' + '00'));
  assert.ok(encodeWith({ topicPartitions: [] }).endsWith('00000001' + '00000002' + '01' + '01' + '00' + '00'));
});

test('a decoded message is accepted by its encoder (compile-time check of the input types)', () => {
  const codec = API_CODECS.get(3)!;
  const sample = structSample(codec.requestSchema.fields, 12, 'values') as Sample;
  const w = new Writer();
  codec.encodeRequest(w, 12, sample);
  const decoded = decodeMetadataRequest(new Reader(w.toBuffer()), 12);
  const again = new Writer();
  encodeMetadataRequest(again, 12, decoded); // MetadataRequest is assignable to MetadataRequestInput
  assert.deepEqual(again.toBuffer(), w.toBuffer());
});
