import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader, ZERO_UUID } from '../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';

function bytes(write: (w: Writer) => void): Buffer {
  const w = new Writer(4);
  write(w);
  return w.toBuffer();
}

function hex(buffer: Buffer): string {
  return buffer.toString('hex');
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

test('fixed-size integers, floats and booleans round-trip at their limits', () => {
  const cases: Array<[string, (w: Writer, v: never) => void, (r: Reader) => unknown, unknown[], number]> = [
    ['int8', (w, v) => w.int8(v), (r) => r.int8(), [0, -1, -128, 127], 1],
    ['uint8', (w, v) => w.uint8(v), (r) => r.uint8(), [0, 1, 255], 1],
    ['int16', (w, v) => w.int16(v), (r) => r.int16(), [0, -1, -32768, 32767], 2],
    ['uint16', (w, v) => w.uint16(v), (r) => r.uint16(), [0, 1, 65535], 2],
    ['int32', (w, v) => w.int32(v), (r) => r.int32(), [0, -1, INT32_MIN, INT32_MAX], 4],
    ['uint32', (w, v) => w.uint32(v), (r) => r.uint32(), [0, 1, 2 ** 32 - 1, 0x80000000], 4],
    ['int64', (w, v) => w.int64(v), (r) => r.int64(), [0n, -1n, INT64_MIN, INT64_MAX], 8],
    ['float64', (w, v) => w.float64(v), (r) => r.float64(), [0, -1.5, Number.MAX_VALUE, Number.MIN_VALUE, Infinity], 8],
    ['bool', (w, v) => w.bool(v), (r) => r.bool(), [true, false], 1],
  ];
  for (const [name, write, read, values, size] of cases) {
    for (const value of values) {
      const buffer = bytes((w) => write(w, value as never));
      assert.equal(buffer.length, size, `${name} ${String(value)} size`);
      const r = new Reader(buffer);
      assert.equal(read(r), value, `${name} ${String(value)}`);
      assert.equal(r.remaining, 0);
      assert.equal(r.error, null);
    }
  }
  assert.equal(hex(bytes((w) => w.int32(0x01020304))), '01020304', 'big-endian');
  assert.equal(hex(bytes((w) => w.int64(-2n))), 'fffffffffffffffe');
});

test('varint and varlong: zig-zag encodings and limits', () => {
  const varints: Array<[number, string]> = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [300, 'd804'],
    [INT32_MAX, 'feffffff0f'],
    [INT32_MIN, 'ffffffff0f'],
  ];
  for (const [value, encoded] of varints) {
    const buffer = bytes((w) => w.varint(value));
    assert.equal(hex(buffer), encoded, `varint ${value}`);
    const r = new Reader(buffer);
    assert.equal(r.varint(), value);
    assert.equal(r.remaining, 0);
    assert.ok(r.ok);
  }
  const varlongs: Array<[bigint, string]> = [
    [0n, '00'],
    [-1n, '01'],
    [1n, '02'],
    [BigInt(INT32_MAX) + 1n, '8080808010'],
    [INT64_MAX, 'feffffffffffffffff01'],
    [INT64_MIN, 'ffffffffffffffffff01'],
  ];
  for (const [value, encoded] of varlongs) {
    const buffer = bytes((w) => w.varlong(value));
    assert.equal(hex(buffer), encoded, `varlong ${value}`);
    const r = new Reader(buffer);
    assert.equal(r.varlong(), value);
    assert.equal(r.remaining, 0);
    assert.ok(r.ok);
  }
  // A 10th byte with bits above 64 still yields an int64 (the low 64 bits), as in Kafka.
  const r = new Reader(Buffer.from('ffffffffffffffffff7f', 'hex'));
  const value = r.varlong();
  assert.ok(value >= INT64_MIN && value <= INT64_MAX);
  assert.ok(r.ok);
});

test('unsigned varint: boundaries, and over-long encodings are errors', () => {
  for (const [value, encoded] of [
    [0, '00'],
    [127, '7f'],
    [128, '8001'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ] as Array<[number, string]>) {
    const buffer = bytes((w) => w.uvarint(value));
    assert.equal(hex(buffer), encoded);
    assert.equal(new Reader(buffer).uvarint(), value);
  }
  const tooLong = new Reader(Buffer.from('ffffffffff01', 'hex'));
  assert.equal(tooLong.uvarint(), 0);
  assert.match(tooLong.error ?? '', /longer than 32 bits/);
  const tooBig = new Reader(Buffer.from('ffffffff1f', 'hex'));
  tooBig.uvarint();
  assert.notEqual(tooBig.error, null);
  const varlongTooLong = new Reader(Buffer.alloc(11, 0xff));
  assert.equal(varlongTooLong.varlong(), 0n);
  assert.match(varlongTooLong.error ?? '', /longer than 64 bits/);
});

test('strings: plain, nullable, compact, compact nullable, with multi-byte UTF-8', () => {
  const samples = ['', 'a', 'héllo wörld ✓', 'x'.repeat(300)];
  for (const s of samples) {
    const size = Buffer.byteLength(s);
    const plain = bytes((w) => w.string(s));
    assert.equal(plain.readInt16BE(0), size);
    assert.equal(new Reader(plain).string(), s);
    assert.equal(new Reader(bytes((w) => w.nullableString(s))).nullableString(), s);
    const compact = bytes((w) => w.compactString(s));
    const r = new Reader(compact);
    assert.equal(r.uvarint(), size + 1, 'compact length is size + 1');
    assert.equal(new Reader(compact).compactString(), s);
    assert.equal(new Reader(bytes((w) => w.compactNullableString(s))).compactNullableString(), s);
  }
  assert.equal(hex(bytes((w) => w.nullableString(null))), 'ffff');
  assert.equal(hex(bytes((w) => w.compactNullableString(null))), '00');
  assert.equal(new Reader(Buffer.from('ffff', 'hex')).nullableString(), null);
  assert.equal(new Reader(Buffer.from('00', 'hex')).compactNullableString(), null);
  assert.throws(() => bytes((w) => w.string('x'.repeat(0x8000))), RangeError);

  const nullForRequired = new Reader(Buffer.from('ffff', 'hex'));
  assert.equal(nullForRequired.string(), '');
  assert.match(nullForRequired.error ?? '', /null where a string is required/);
  const compactNullForRequired = new Reader(Buffer.from('00', 'hex'));
  assert.equal(compactNullForRequired.compactString(), '');
  assert.notEqual(compactNullForRequired.error, null);
});

test('bytes: plain, nullable, compact, compact nullable; large payloads are referenced, not copied', () => {
  for (const payload of [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(5000, 7)]) {
    const cases: Array<[(w: Writer) => void, (r: Reader) => Buffer | null]> = [
      [(w) => w.bytes(payload), (r) => r.bytes()],
      [(w) => w.nullableBytes(payload), (r) => r.nullableBytes()],
      [(w) => w.compactBytes(payload), (r) => r.compactBytes()],
      [(w) => w.compactNullableBytes(payload), (r) => r.compactNullableBytes()],
    ];
    for (const [write, read] of cases) {
      const buffer = bytes((w) => {
        w.int8(9);
        write(w);
        w.int8(9);
      });
      const r = new Reader(buffer);
      assert.equal(r.int8(), 9);
      assert.deepEqual(read(r), payload);
      assert.equal(r.int8(), 9);
      assert.equal(r.remaining, 0);
      assert.ok(r.ok);
    }
  }
  assert.equal(hex(bytes((w) => w.nullableBytes(null))), 'ffffffff');
  assert.equal(hex(bytes((w) => w.compactNullableBytes(null))), '00');
  assert.equal(new Reader(Buffer.from('ffffffff', 'hex')).nullableBytes(), null);
  assert.equal(new Reader(Buffer.from('00', 'hex')).compactNullableBytes(), null);

  const big = Buffer.alloc(4096, 1);
  const w = new Writer(16);
  w.int32(1);
  w.raw(big);
  w.int32(2);
  const chunks = w.chunks();
  assert.ok(chunks.includes(big), 'a large payload is kept by reference');
  assert.equal(w.length, 4 + 4096 + 4);
  assert.equal(w.toBuffer().length, w.length);

  // Decoded bytes are views into the frame, not copies.
  const frame = bytes((wr) => wr.bytes(Buffer.from([5, 6])));
  const view = new Reader(frame).bytes();
  assert.equal(view.buffer, frame.buffer);
});

test('uuid: canonical lowercase text, the zero uuid, and invalid input', () => {
  const id = '0123abcd-4567-89ef-0123-456789abcdef';
  const buffer = bytes((w) => w.uuid(id));
  assert.equal(hex(buffer), '0123abcd456789ef0123456789abcdef');
  assert.equal(new Reader(buffer).uuid(), id);
  assert.equal(new Reader(bytes((w) => w.uuid(id.toUpperCase()))).uuid(), id);
  assert.equal(new Reader(Buffer.alloc(16)).uuid(), ZERO_UUID);
  assert.equal(ZERO_UUID, '00000000-0000-0000-0000-000000000000');
  assert.throws(() => bytes((w) => w.uuid('not-a-uuid')), TypeError);
  assert.throws(() => bytes((w) => w.uuid('0123abcd-4567-89ef-0123-456789abcdeg')), TypeError);
});

test('array lengths: int32 and compact, null, and claimed sizes checked against the bytes left', () => {
  assert.equal(hex(bytes((w) => w.arrayLength(3))), '00000003');
  assert.equal(hex(bytes((w) => w.arrayLength(null))), 'ffffffff');
  assert.equal(hex(bytes((w) => w.compactArrayLength(3))), '04');
  assert.equal(hex(bytes((w) => w.compactArrayLength(null))), '00');
  assert.equal(new Reader(Buffer.from('ffffffff', 'hex')).arrayLength(4), -1);
  assert.equal(new Reader(Buffer.from('00', 'hex')).compactArrayLength(4), -1);
  const ok = new Reader(Buffer.from('0000000200000001 00000002'.replace(/ /g, ''), 'hex'));
  assert.equal(ok.arrayLength(4), 2);
  assert.ok(ok.ok);

  // A hostile length: 2^31 - 1 elements claimed with three bytes left fails before any allocation.
  const hostile = new Reader(Buffer.from('7fffffff010203', 'hex'));
  assert.equal(hostile.arrayLength(1), -1);
  assert.match(hostile.error ?? '', /cannot fit/);
  const hostileCompact = new Reader(Buffer.from('ffffffff07010203', 'hex'));
  assert.equal(hostileCompact.compactArrayLength(1), -1);
  assert.notEqual(hostileCompact.error, null);
  // The element size matters: 2 elements of at least 4 bytes do not fit in 7 bytes.
  const tight = new Reader(Buffer.from('00000002' + '00'.repeat(7), 'hex'));
  assert.equal(tight.arrayLength(4), -1);
  assert.notEqual(tight.error, null);
  // A minimum size of 0 (an empty struct) still counts each element as one byte.
  const empty = new Reader(Buffer.from('7fffffff', 'hex'));
  assert.equal(empty.arrayLength(0), -1);
  assert.notEqual(empty.error, null);
});

test('negative lengths other than -1 are errors', () => {
  const cases: Array<[string, (r: Reader) => unknown]> = [
    ['fffe', (r) => r.nullableString()],
    ['fffe', (r) => r.string()],
    ['fffffffe', (r) => r.nullableBytes()],
    ['fffffffe', (r) => r.bytes()],
    ['ffffffff', (r) => r.bytes()],
    ['fffffffe', (r) => r.arrayLength(1)],
    ['80000000', (r) => r.arrayLength(1)],
  ];
  for (const [input, read] of cases) {
    const r = new Reader(Buffer.from(input, 'hex'));
    assert.doesNotThrow(() => read(r));
    assert.notEqual(r.error, null, `${input} should fail`);
  }
  const raw = new Reader(Buffer.alloc(4));
  assert.equal(raw.raw(-1).length, 0);
  assert.match(raw.error ?? '', /negative length/);
});

test('truncated input records the first error, never throws, and later reads are neutral', () => {
  const reads: Array<[string, (w: Writer) => void, (r: Reader) => unknown]> = [
    ['int16', (w) => w.int16(-5), (r) => r.int16()],
    ['int32', (w) => w.int32(-5), (r) => r.int32()],
    ['int64', (w) => w.int64(-5n), (r) => r.int64()],
    ['uint16', (w) => w.uint16(5), (r) => r.uint16()],
    ['uint32', (w) => w.uint32(5), (r) => r.uint32()],
    ['float64', (w) => w.float64(5.5), (r) => r.float64()],
    ['uuid', (w) => w.uuid('0123abcd-4567-89ef-0123-456789abcdef'), (r) => r.uuid()],
    ['varint', (w) => w.varint(INT32_MIN), (r) => r.varint()],
    ['varlong', (w) => w.varlong(INT64_MIN), (r) => r.varlong()],
    ['uvarint', (w) => w.uvarint(2 ** 32 - 1), (r) => r.uvarint()],
    ['string', (w) => w.string('hello'), (r) => r.string()],
    ['nullableString', (w) => w.nullableString('hello'), (r) => r.nullableString()],
    ['compactString', (w) => w.compactString('hello'), (r) => r.compactString()],
    ['compactNullableString', (w) => w.compactNullableString('hello'), (r) => r.compactNullableString()],
    ['bytes', (w) => w.bytes(Buffer.from('hello')), (r) => r.bytes()],
    ['nullableBytes', (w) => w.nullableBytes(Buffer.from('hello')), (r) => r.nullableBytes()],
    ['compactBytes', (w) => w.compactBytes(Buffer.from('hello')), (r) => r.compactBytes()],
    ['compactNullableBytes', (w) => w.compactNullableBytes(Buffer.from('hello')), (r) => r.compactNullableBytes()],
  ];
  for (const [name, write, read] of reads) {
    const full = bytes(write);
    for (let cut = 0; cut < full.length; cut++) {
      const r = new Reader(full.subarray(0, cut));
      assert.doesNotThrow(() => read(r), `${name} cut at ${cut}`);
      assert.notEqual(r.error, null, `${name} cut at ${cut} must record an error`);
      assert.equal(r.remaining, 0);
      const first = r.error;
      assert.equal(r.int32(), 0);
      assert.equal(r.string(), '');
      assert.equal(r.bytes().length, 0);
      assert.equal(r.error, first, 'the first error is kept');
    }
  }
  const r = new Reader(Buffer.from([1, 2, 3]), 1, 2);
  assert.equal(r.remaining, 1);
  assert.equal(r.int16(), 0);
  assert.match(r.error ?? '', /need 2 bytes, 1 left at byte 1/);
});

test('tagged fields: written in order, known tags decoded, unknown tags skipped', () => {
  const buffer = bytes((w) => {
    w.taggedFields([
      { tag: 0, write: (t) => t.compactString('skip me') },
      { tag: 3, write: (t) => t.int32(42) },
      { tag: 200, write: (t) => t.bytes(Buffer.alloc(300, 1)) },
    ]);
    w.int8(7);
  });
  // count 3, tag 0, size 8, ...
  assert.equal(hex(buffer.subarray(0, 3)), '030008');

  const seen: number[] = [];
  const r = new Reader(buffer);
  let value = 0;
  r.taggedFields((tag, field) => {
    seen.push(tag);
    if (tag === 3) {
      value = field.int32();
      return true;
    }
    return false;
  });
  assert.deepEqual(seen, [0, 3, 200]);
  assert.equal(value, 42);
  assert.equal(r.int8(), 7);
  assert.equal(r.remaining, 0);
  assert.ok(r.ok);

  const skipAll = new Reader(buffer);
  skipAll.taggedFields();
  assert.equal(skipAll.int8(), 7);
  assert.ok(skipAll.ok);

  assert.equal(hex(bytes((w) => w.taggedFields([]))), '00');
});

test('tagged fields: out-of-order tags, oversized fields and errors inside a field are recorded', () => {
  const outOfOrder = new Reader(Buffer.from('02 05 01 00 01 01 00'.replace(/ /g, ''), 'hex'));
  outOfOrder.taggedFields();
  assert.match(outOfOrder.error ?? '', /out of order/);

  const oversized = new Reader(Buffer.from('01 00 7f 00'.replace(/ /g, ''), 'hex'));
  oversized.taggedFields();
  assert.notEqual(oversized.error, null);

  const inner = new Reader(Buffer.from('01 00 01 00'.replace(/ /g, ''), 'hex'));
  inner.taggedFields((_tag, field) => {
    field.int32();
    return true;
  });
  assert.match(inner.error ?? '', /tagged field 0/);

  // A hostile count with no bytes behind it ends at the first failed read.
  const hostileCount = new Reader(Buffer.from('ffffffff0f', 'hex'));
  assert.doesNotThrow(() => hostileCount.taggedFields());
  assert.notEqual(hostileCount.error, null);
});

test('writer grows across many small writes and keeps byte order', () => {
  const w = new Writer(1);
  for (let i = 0; i < 1000; i++) w.int32(i);
  const buffer = w.toBuffer();
  assert.equal(buffer.length, 4000);
  const r = new Reader(buffer);
  for (let i = 0; i < 1000; i++) assert.equal(r.int32(), i);
  assert.ok(r.ok);
});
