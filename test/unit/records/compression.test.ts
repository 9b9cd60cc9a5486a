import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { compress as snappyRaw } from 'snappy';
import { compressFrame as lz4Frame } from 'lz4-napi';
import {
  CompressionError,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  DecompressionLimitError,
  XERIAL_BLOCK_SIZE,
  XERIAL_MAGIC,
  codecName,
  compress,
  decompress,
  decompressedSizeBound,
} from '../../../src/protocol/records/compression.js';
import { CompressionCodec } from '../../../src/protocol/records/record-batch.js';

const CODECS = [CompressionCodec.gzip, CompressionCodec.snappy, CompressionCodec.lz4, CompressionCodec.zstd] as const;

/** Deterministic pseudo-random bytes (xorshift), incompressible. */
function noise(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function text(length: number): Buffer {
  const out = Buffer.alloc(length);
  let at = 0;
  for (let i = 0; at < length; i++) at += out.write(`record ${i} says hello to kafka; `, at);
  return out;
}

const SAMPLES: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from([7])],
  ['short text', Buffer.from('hello, tributary')],
  ['240 KiB of text', text(240 * 1024)],
  ['100 KiB of noise', noise(100 * 1024)],
  ['1 MiB mixed', Buffer.concat([text(400 * 1024), noise(200 * 1024, 2), Buffer.alloc(424 * 1024, 0x61)])],
  ['exactly one xerial block', text(XERIAL_BLOCK_SIZE)],
  ['one xerial block plus one byte', text(XERIAL_BLOCK_SIZE + 1)],
];

async function rejectsWith(promise: Promise<unknown>, kind: typeof CompressionError | typeof DecompressionLimitError, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
    if (pattern !== undefined) assert.match((error as Error).message, pattern);
    return true;
  });
}

/** A zstd frame with no content size made of `blocks` RLE blocks of 128 KiB each (an easy bomb). */
function zstdRleFrame(blocks: number, byte = 0x41): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic, FHD (no FCS), window 2^17
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const header = ((128 * 1024) << 3) | (1 << 1) | last; // RLE block of 128 KiB
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, byte]));
  }
  return Buffer.concat(parts);
}

describe('compression codecs', () => {
  for (const codec of CODECS) {
    describe(codecName(codec), () => {
      for (const [name, data] of SAMPLES) {
        it(`round-trips ${name}`, async () => {
          const compressed = await compress(codec, data);
          const back = await decompress(codec, compressed);
          assert.ok(back.equals(data), 'decompressed bytes differ');
          // Exact for what we write (zstd: we declare the content size); gzip states no size.
          assert.equal(decompressedSizeBound(codec, compressed), codec === CompressionCodec.gzip ? null : data.length);
        });
      }

      it('allows output of exactly maxOutputBytes and refuses one byte less', async () => {
        const data = text(50_000);
        const compressed = await compress(codec, data);
        assert.equal((await decompress(codec, compressed, { maxOutputBytes: data.length })).length, data.length);
        await rejectsWith(decompress(codec, compressed, { maxOutputBytes: data.length - 1 }), DecompressionLimitError);
      });

      it('rejects garbage with a CompressionError', async () => {
        await rejectsWith(decompress(codec, noise(300, codec)), CompressionError);
        await rejectsWith(decompress(codec, Buffer.from('definitely not compressed data')), CompressionError);
      });

      it('rejects empty input with a CompressionError', async () => {
        await rejectsWith(decompress(codec, Buffer.alloc(0)), CompressionError);
      });

      it('rejects every truncation of a valid block with a CompressionError', async () => {
        const compressed = await compress(codec, text(100_000));
        // Cut at a spread of positions, including inside headers and right before the end.
        const cuts = new Set([1, 2, 4, 5, 7, 10, 15, 17, 20, 30, compressed.length >> 1, compressed.length - 4, compressed.length - 1]);
        for (const cut of cuts) {
          if (cut <= 0 || cut >= compressed.length) continue;
          await rejectsWith(decompress(codec, compressed.subarray(0, cut)), CompressionError);
        }
      });

      it('never crashes on corrupted bytes (each either decodes or fails with CompressionError)', async () => {
        const compressed = await compress(codec, text(60_000));
        for (let i = 0; i < compressed.length; i += Math.max(1, compressed.length >> 6)) {
          const damaged = Buffer.from(compressed);
          damaged[i] = damaged[i]! ^ 0x5a;
          try {
            const out = await decompress(codec, damaged, { maxOutputBytes: 1 << 20 });
            assert.ok(out.length <= 1 << 20);
          } catch (error) {
            assert.ok(error instanceof CompressionError, `byte ${i}: ${String(error)}`);
          }
        }
      });
    });
  }

  it('names codecs and refuses unknown ones', async () => {
    assert.deepEqual([0, 1, 2, 3, 4].map(codecName), ['none', 'gzip', 'snappy', 'lz4', 'zstd']);
    await rejectsWith(compress(5, Buffer.from('x')), CompressionError, /unknown compression codec/);
    await rejectsWith(decompress(7, Buffer.from('x')), CompressionError, /unknown compression codec/);
  });

  it('passes codec none through unchanged', async () => {
    const data = Buffer.from('as is');
    assert.equal(await compress(CompressionCodec.none, data), data);
    assert.equal(await decompress(CompressionCodec.none, data), data);
  });

  it('validates maxOutputBytes', async () => {
    await assert.rejects(decompress(CompressionCodec.gzip, gzipSync('x'), { maxOutputBytes: -1 }), RangeError);
    await assert.rejects(decompress(CompressionCodec.gzip, gzipSync('x'), { maxOutputBytes: 1.5 }), RangeError);
  });

  it('has a 64 MiB default limit', () => {
    assert.equal(DEFAULT_MAX_DECOMPRESSED_BYTES, 64 * 1024 * 1024);
  });
});

describe('gzip framing', () => {
  it('writes a standard gzip stream that node:zlib and the level option agree with', async () => {
    const data = text(10_000);
    const stored = await compress(CompressionCodec.gzip, data, { level: 0 });
    const best = await compress(CompressionCodec.gzip, data, { level: 9 });
    for (const out of [stored, best]) {
      assert.deepEqual([...out.subarray(0, 3)], [0x1f, 0x8b, 0x08]);
      assert.ok((await decompress(CompressionCodec.gzip, out)).equals(data));
    }
    assert.ok(stored.length > data.length && best.length < data.length / 10);
  });

  it('reads concatenated gzip members as one stream', async () => {
    const both = Buffer.concat([gzipSync('first '), gzipSync('second')]);
    assert.equal((await decompress(CompressionCodec.gzip, both)).toString(), 'first second');
  });
});

describe('snappy framing', () => {
  it('writes xerial framing with 32 KiB blocks as snappy-java does', async () => {
    const data = text(100_000);
    const out = await compress(CompressionCodec.snappy, data);
    assert.ok(out.subarray(0, 8).equals(XERIAL_MAGIC));
    assert.equal(out.readInt32BE(8), 1, 'version');
    assert.equal(out.readInt32BE(12), 1, 'compatible version');
    let at = 16;
    let chunks = 0;
    while (at < out.length) {
      at += 4 + out.readInt32BE(at);
      chunks++;
    }
    assert.equal(at, out.length);
    assert.equal(chunks, Math.ceil(data.length / XERIAL_BLOCK_SIZE));
  });

  it('writes an empty input as a header and one empty chunk (readable by kafka-python, which wants > 16 bytes)', async () => {
    const out = await compress(CompressionCodec.snappy, Buffer.alloc(0));
    assert.ok(out.length > 16);
    assert.equal((await decompress(CompressionCodec.snappy, out)).length, 0);
  });

  it('reads a raw snappy block without xerial framing', async () => {
    const data = text(70_000);
    const raw = await snappyRaw(data);
    assert.ok(!raw.subarray(0, 8).equals(XERIAL_MAGIC));
    assert.ok((await decompress(CompressionCodec.snappy, raw)).equals(data));
    assert.equal(decompressedSizeBound(CompressionCodec.snappy, raw), data.length);
  });

  it('refuses a raw block whose preamble claims more than the limit, before decompressing', async () => {
    const liar = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01, 0x02]); // claims 4 GiB
    await rejectsWith(decompress(CompressionCodec.snappy, liar), DecompressionLimitError);
  });

  it('refuses xerial chunks adding up beyond the limit', async () => {
    const out = await compress(CompressionCodec.snappy, Buffer.alloc(10 * XERIAL_BLOCK_SIZE));
    await rejectsWith(decompress(CompressionCodec.snappy, out, { maxOutputBytes: 9 * XERIAL_BLOCK_SIZE }), DecompressionLimitError);
  });

  it('rejects a xerial chunk length that overruns the input, a negative one, and stray bytes', async () => {
    const good = await compress(CompressionCodec.snappy, text(1000));
    const overrun = Buffer.from(good);
    overrun.writeInt32BE(good.length, 16);
    await rejectsWith(decompress(CompressionCodec.snappy, overrun), CompressionError, /overruns/);
    const negative = Buffer.from(good);
    negative.writeInt32BE(-5, 16);
    await rejectsWith(decompress(CompressionCodec.snappy, negative), CompressionError);
    await rejectsWith(decompress(CompressionCodec.snappy, Buffer.concat([good, Buffer.from([0, 0])])), CompressionError, /stray/);
    await rejectsWith(decompress(CompressionCodec.snappy, XERIAL_MAGIC), CompressionError, /header is truncated/);
  });

  it('rejects a block whose content disagrees with its preamble', async () => {
    const raw = Buffer.from(await snappyRaw(text(1000)));
    raw[0] = 0x10; // claims 16 bytes
    await rejectsWith(decompress(CompressionCodec.snappy, raw), CompressionError);
  });
});

describe('lz4 framing', () => {
  it('writes an LZ4 frame (magic 0x184D2204, version 01, independent blocks) as Kafka clients do', async () => {
    const out = await compress(CompressionCodec.lz4, text(200_000));
    assert.equal(out.readUInt32LE(0), 0x184d2204);
    const flg = out[4]!;
    assert.equal(flg >> 6, 1, 'version');
    assert.ok((flg & 0x20) !== 0, 'block independence');
    assert.equal(flg & 0x01, 0, 'no dictionary');
  });

  it('reads concatenated frames and skips skippable frames', async () => {
    const skippable = Buffer.alloc(8 + 5);
    skippable.writeUInt32LE(0x184d2a53, 0);
    skippable.writeUInt32LE(5, 4);
    const input = Buffer.concat([await lz4Frame(Buffer.from('first ')), skippable, await lz4Frame(Buffer.from('second'))]);
    assert.equal((await decompress(CompressionCodec.lz4, input)).toString(), 'first second');
  });

  it('refuses frames that can expand beyond the limit, before decompressing', async () => {
    const bomb = await compress(CompressionCodec.lz4, Buffer.alloc(16 * 1024 * 1024));
    assert.ok(bomb.length < 128 * 1024, `bomb is ${bomb.length} bytes`);
    await rejectsWith(decompress(CompressionCodec.lz4, bomb, { maxOutputBytes: 1024 * 1024 }), DecompressionLimitError);
  });

  it('rejects a frame declaring a content size its blocks cannot hold', async () => {
    // FLG: version 01, independent blocks, content size present; BD: 64 KiB blocks.
    const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0x00]);
    const block = Buffer.from([0x05, 0x00, 0x00, 0x80, 0x61, 0x62, 0x63, 0x64, 0x65]); // 5 uncompressed bytes
    const input = Buffer.concat([header, block, Buffer.alloc(4)]);
    await rejectsWith(decompress(CompressionCodec.lz4, input), CompressionError, /declares/);
  });

  it('rejects a wrong magic, a bad version and reserved bits', async () => {
    const good = await compress(CompressionCodec.lz4, text(1000));
    const legacy = Buffer.from(good);
    legacy.writeUInt32LE(0x184c2102, 0);
    await rejectsWith(decompress(CompressionCodec.lz4, legacy), CompressionError, /not an LZ4 frame/);
    const version = Buffer.from(good);
    version[4] = (version[4]! & 0x3f) | 0x80;
    await rejectsWith(decompress(CompressionCodec.lz4, version), CompressionError, /version/);
    const reserved = Buffer.from(good);
    reserved[5] = reserved[5]! | 0x01;
    await rejectsWith(decompress(CompressionCodec.lz4, reserved), CompressionError, /reserved/);
  });
});

describe('zstd framing', () => {
  it('writes a standard zstd frame', async () => {
    const out = await compress(CompressionCodec.zstd, text(10_000), { level: 5 });
    assert.equal(out.readUInt32LE(0), 0xfd2fb528);
  });

  it('reads concatenated frames and skips skippable frames', async () => {
    const skippable = Buffer.alloc(8 + 3);
    skippable.writeUInt32LE(0x184d2a50, 0);
    skippable.writeUInt32LE(3, 4);
    const input = Buffer.concat([
      await compress(CompressionCodec.zstd, Buffer.from('first ')),
      skippable,
      await compress(CompressionCodec.zstd, Buffer.from('second')),
    ]);
    assert.equal((await decompress(CompressionCodec.zstd, input)).toString(), 'first second');
  });

  it('reads a frame without content size (as zstd-jni streams) and bounds it by its blocks', async () => {
    const frame = zstdRleFrame(3, 0x42);
    assert.equal(decompressedSizeBound(CompressionCodec.zstd, frame), 3 * 128 * 1024);
    const out = await decompress(CompressionCodec.zstd, frame);
    assert.equal(out.length, 3 * 128 * 1024);
    assert.ok(out.every((b) => b === 0x42));
  });

  it('refuses a 4 KB frame of RLE blocks expanding to 128 MB, before decompressing', async () => {
    const bomb = zstdRleFrame(1000);
    assert.ok(bomb.length < 4100);
    await rejectsWith(decompress(CompressionCodec.zstd, bomb), DecompressionLimitError, /more than the limit of 67108864/);
  });

  it('refuses a frame whose declared content size exceeds the limit', async () => {
    const bomb = await compress(CompressionCodec.zstd, Buffer.alloc(8 * 1024 * 1024));
    assert.ok(bomb.length < 2048, `bomb is ${bomb.length} bytes`);
    await rejectsWith(decompress(CompressionCodec.zstd, bomb, { maxOutputBytes: 1024 * 1024 }), DecompressionLimitError);
  });

  it('rejects a reserved block type and a reserved header bit', async () => {
    const reservedType = zstdRleFrame(1);
    reservedType[6] = reservedType[6]! | 0x06; // block type 3
    await rejectsWith(decompress(CompressionCodec.zstd, reservedType), CompressionError, /reserved block type/);
    const reservedBit = zstdRleFrame(1);
    reservedBit[4] = 0x08;
    await rejectsWith(decompress(CompressionCodec.zstd, reservedBit), CompressionError, /reserved/);
  });
});

describe('decompression bombs', () => {
  it('gzip: a 16 KB stream inflating to 16 MB fails cleanly beyond maxOutputBytes', async () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    assert.ok(bomb.length < 20_000, `bomb is ${bomb.length} bytes`);
    await rejectsWith(decompress(CompressionCodec.gzip, bomb, { maxOutputBytes: 1024 * 1024 }), DecompressionLimitError);
    // and still decodes when allowed
    assert.equal((await decompress(CompressionCodec.gzip, bomb, { maxOutputBytes: 16 * 1024 * 1024 })).length, 16 * 1024 * 1024);
  });

  it('gzip: the default limit applies when no option is given', async () => {
    const bomb = gzipSync(Buffer.alloc(DEFAULT_MAX_DECOMPRESSED_BYTES + 1));
    await rejectsWith(decompress(CompressionCodec.gzip, bomb), DecompressionLimitError);
  });

  it('every codec: 8 MB of zeros refused at a 1 MB limit', async () => {
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    for (const codec of CODECS) {
      const compressed = await compress(codec, zeros);
      const error = await decompress(codec, compressed, { maxOutputBytes: 1024 * 1024 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(error instanceof DecompressionLimitError, `${codecName(codec)}: ${String(error)}`);
      assert.equal(error.codec, codec);
      assert.equal(error.maxOutputBytes, 1024 * 1024);
    }
  });
});
