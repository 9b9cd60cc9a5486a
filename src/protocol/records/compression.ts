/**
 * The four record-batch compression codecs, framed exactly as Kafka clients frame them:
 *
 * - gzip (1): a standard gzip stream (node:zlib).
 * - snappy (2): written in the Java client's xerial framing (`\x82SNAPPY\0`, int32 version 1, int32
 *   compatible version 1, then chunks of `int32 BE length | raw snappy block`, each block holding at
 *   most 32 KiB of input, as snappy-java's SnappyOutputStream writes them). Read: xerial framing or a
 *   single raw snappy block (librdkafka and KafkaJS may send either), told apart by the magic.
 * - lz4 (3): the LZ4 frame format (magic 0x184D2204) as Kafka >= 0.10 and librdkafka write it. Read:
 *   any valid frame whatever its block size, block independence and checksum flags; concatenated
 *   frames and skippable frames too.
 * - zstd (4): a standard zstd frame (also concatenated frames and skippable frames on read).
 *
 * Decompression is bounded by `maxOutputBytes` (default 64 MiB), so a small "bomb" inside a batch
 * cannot take the broker's memory:
 * - gzip: node:zlib inflates with `maxOutputLength` and stops as soon as the output passes it.
 * - snappy: every raw block states its length up front; the sum is checked before decompressing.
 * - lz4: the frames are walked before decompressing and each block's exact output size is added up
 *   from its sequence tokens (no copying); a declared content size must agree.
 * - zstd: the frames are walked before decompressing; a frame's bound is its declared content size,
 *   or else (zstd-jni streams, for instance) its number of blocks times 128 KiB, as zstd's own
 *   ZSTD_decompressBound computes it and as the one-shot decompressor then allocates. For frames
 *   without a content size the limit can therefore refuse output up to one block short of it.
 * An excess fails with DecompressionLimitError (before allocating, except gzip which stops early).
 * Every other failure (bad framing, corrupt data, a checksum mismatch, an unknown codec) is a
 * CompressionError: never a crash.
 *
 * gzip, snappy and lz4 run off the event loop (libuv thread pool); the zstd binding has only
 * synchronous one-shot calls, which take a few milliseconds per MiB.
 */
import { gzip as gzipCallback, gunzip as gunzipCallback, type InputType, type ZlibOptions } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { importPackage } from '../../util/import-package.js';
import { CompressionCodec } from './record-batch.js';

// The native codec libraries are loaded on first use: most brokers never decompress anything, and
// loading all three would add tens of milliseconds to start-up.
let snappyLibrary: Promise<typeof import('snappy')> | null = null;
let lz4Library: Promise<typeof import('lz4-napi')> | null = null;
let zstdLibrary: Promise<typeof import('@cloudpss/zstd')> | null = null;
const snappy = () => (snappyLibrary ??= importPackage<typeof import('snappy')>('snappy'));
const lz4 = () => (lz4Library ??= importPackage<typeof import('lz4-napi')>('lz4-napi'));
const zstd = () => (zstdLibrary ??= importPackage<typeof import('@cloudpss/zstd')>('@cloudpss/zstd'));

/** Default cap on what one compressed block may expand to (64 MiB). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** The xerial (snappy-java) stream header: `\x82SNAPPY\0`, then int32 version and compatible version. */
export const XERIAL_MAGIC: Buffer = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
export const XERIAL_HEADER_SIZE = 16;
/** snappy-java's SnappyOutputStream default block size: uncompressed bytes per chunk. */
export const XERIAL_BLOCK_SIZE = 32 * 1024;

const LZ4_FRAME_MAGIC = 0x184d2204;
const ZSTD_FRAME_MAGIC = 0xfd2fb528;
/** Skippable frames (shared by LZ4 and zstd): magic 0x184D2A50..0x184D2A5F, uint32 LE size, data. */
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const ZSTD_BLOCK_SIZE_MAX = 128 * 1024;

export interface CompressOptions {
  /** gzip: 0-9 (zlib default 6, as Java's Deflater); zstd: -131072..22 (default 3). Ignored by snappy and lz4. */
  level?: number;
}

export interface DecompressOptions {
  /** Fail with DecompressionLimitError when the output would exceed this many bytes. */
  maxOutputBytes?: number;
}

const CODEC_NAMES: ReadonlyArray<string> = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** `gzip`, `snappy`, ... for a codec id; `codec N` for an unknown one. */
export function codecName(codec: number): string {
  return CODEC_NAMES[codec] ?? `codec ${codec}`;
}

/** A compressed block could not be compressed or decompressed: bad framing, corrupt data, unknown codec. */
export class CompressionError extends Error {
  readonly codec: number;
  constructor(codec: number, message: string, options?: { cause?: unknown }) {
    super(`${codecName(codec)}: ${message}`, options);
    this.name = 'CompressionError';
    this.codec = codec;
  }
}

/** The compressed block would expand beyond `maxOutputBytes`. */
export class DecompressionLimitError extends CompressionError {
  readonly maxOutputBytes: number;
  constructor(codec: number, message: string, maxOutputBytes: number) {
    super(codec, message, undefined);
    this.name = 'DecompressionLimitError';
    this.maxOutputBytes = maxOutputBytes;
  }
}

/** Compresses `data` with `codec` in the framing Kafka clients expect. Codec 0 returns `data` itself. */
export async function compress(codec: number, data: Buffer, options: CompressOptions = {}): Promise<Buffer> {
  switch (codec) {
    case CompressionCodec.none:
      return data;
    case CompressionCodec.gzip:
      return zlibCall(codec, gzipCallback, data, options.level === undefined ? {} : { level: options.level });
    case CompressionCodec.snappy:
      return xerialCompress(data);
    case CompressionCodec.lz4:
      return wrapFailure(codec, 'compression failed', async () => (await lz4()).compressFrame(data));
    case CompressionCodec.zstd:
      return wrapFailure(codec, 'compression failed', async () => asBuffer((await zstd()).compress(data, options.level)));
    default:
      throw new CompressionError(codec, 'unknown compression codec');
  }
}

/**
 * Decompresses one compressed block. Fails with DecompressionLimitError when the output would exceed
 * `maxOutputBytes` (default DEFAULT_MAX_DECOMPRESSED_BYTES), with CompressionError on malformed input.
 * Codec 0 returns `data` itself.
 */
export async function decompress(codec: number, data: Buffer, options: DecompressOptions = {}): Promise<Buffer> {
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`maxOutputBytes must be a non-negative integer, got ${limit}`);
  }
  switch (codec) {
    case CompressionCodec.none:
      return data;
    case CompressionCodec.gzip:
      return gunzipBounded(data, limit);
    case CompressionCodec.snappy:
      return snappyDecompress(data, limit);
    case CompressionCodec.lz4:
      return lz4Decompress(data, limit);
    case CompressionCodec.zstd:
      return zstdDecompress(data, limit);
    default:
      throw new CompressionError(codec, 'unknown compression codec');
  }
}

/**
 * An upper bound of the decompressed size, read from the framing alone (no decompression), or null
 * for gzip, whose stream states no size (it is bounded while inflating instead). Throws
 * CompressionError when the framing is malformed.
 */
export function decompressedSizeBound(codec: number, data: Buffer): number | null {
  switch (codec) {
    case CompressionCodec.none:
      return data.length;
    case CompressionCodec.gzip:
      return null;
    case CompressionCodec.snappy:
      return isXerial(data) ? xerialChunks(data).total : snappyRawLength(data);
    case CompressionCodec.lz4:
      return lz4Frames(data).total;
    case CompressionCodec.zstd:
      return zstdFramesBound(data);
    default:
      throw new CompressionError(codec, 'unknown compression codec');
  }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function wrapFailure<T>(codec: number, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CompressionError) throw error;
    throw new CompressionError(codec, `${what}: ${messageOf(error)}`, { cause: error });
  }
}

function checkLimit(codec: number, bound: number, limit: number, what: string): void {
  if (bound > limit) {
    throw new DecompressionLimitError(codec, `${what} ${bound} bytes, more than the limit of ${limit}`, limit);
  }
}

function malformed(codec: number, message: string): CompressionError {
  return new CompressionError(codec, `malformed input: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// gzip

type ZlibFunction = (buffer: InputType, options: ZlibOptions, callback: (error: Error | null, result: Buffer) => void) => void;

function zlibCall(codec: number, fn: ZlibFunction, data: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    fn(data, options, (error, result) => {
      if (error === null) {
        resolve(result);
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        const limit = options.maxOutputLength ?? 0;
        reject(new DecompressionLimitError(codec, `stream inflates to more than the limit of ${limit} bytes`, limit));
        return;
      }
      reject(new CompressionError(codec, `${fn === gzipCallback ? 'compression' : 'decompression'} failed: ${error.message}`, { cause: error }));
    });
  });
}

function gunzipBounded(data: Buffer, limit: number): Promise<Buffer> {
  // zlib rejects a maxOutputLength of 0; an empty result is never valid for a batch anyway.
  const maxOutputLength = Math.max(1, Math.min(limit, bufferConstants.MAX_LENGTH));
  return zlibCall(CompressionCodec.gzip, gunzipCallback, data, { maxOutputLength }).then((out) => {
    checkLimit(CompressionCodec.gzip, out.length, limit, 'stream inflates to');
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// snappy

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_MAGIC.length && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** The uncompressed length a raw snappy block states in its preamble (an unsigned LEB128 of <= 32 bits). */
function snappyRawLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw malformed(CompressionCodec.snappy, 'raw snappy block has no valid length preamble');
}

/** Walks the chunks of a xerial stream; `total` is the exact uncompressed size they state. */
function xerialChunks(data: Buffer): { blocks: Buffer[]; lengths: number[]; total: number } {
  const codec = CompressionCodec.snappy;
  if (data.length < XERIAL_HEADER_SIZE) throw malformed(codec, 'xerial header is truncated');
  const blocks: Buffer[] = [];
  const lengths: number[] = [];
  let total = 0;
  let at = XERIAL_HEADER_SIZE;
  while (at < data.length) {
    if (data.length - at < 4) throw malformed(codec, `${data.length - at} stray bytes after the last xerial chunk`);
    const size = data.readInt32BE(at);
    at += 4;
    if (size <= 0 || size > data.length - at) throw malformed(codec, `xerial chunk of ${size} bytes at byte ${at - 4} overruns the input`);
    const block = data.subarray(at, at + size);
    at += size;
    const length = snappyRawLength(block);
    blocks.push(block);
    lengths.push(length);
    total += length;
  }
  return { blocks, lengths, total };
}

async function snappyBlock(block: Buffer, expected: number): Promise<Buffer> {
  const out = await wrapFailure(CompressionCodec.snappy, 'decompression failed', async () => {
    const result = await (await snappy()).uncompress(block, { asBuffer: true });
    return typeof result === 'string' ? Buffer.from(result, 'utf8') : result;
  });
  if (out.length !== expected) {
    throw malformed(CompressionCodec.snappy, `block decompressed to ${out.length} bytes, its preamble said ${expected}`);
  }
  return out;
}

async function snappyDecompress(data: Buffer, limit: number): Promise<Buffer> {
  const codec = CompressionCodec.snappy;
  if (!isXerial(data)) {
    const length = snappyRawLength(data);
    checkLimit(codec, length, limit, 'raw block states');
    return snappyBlock(data, length);
  }
  const { blocks, lengths, total } = xerialChunks(data);
  checkLimit(codec, total, limit, 'xerial chunks state');
  const out = Buffer.allocUnsafe(total);
  let position = 0;
  for (let i = 0; i < blocks.length; i++) {
    const plain = await snappyBlock(blocks[i]!, lengths[i]!);
    plain.copy(out, position);
    position += plain.length;
  }
  return out;
}

/** xerial framing as snappy-java writes it; an empty input still gets one (empty) chunk. */
async function xerialCompress(data: Buffer): Promise<Buffer> {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // compatible version
  const parts: Buffer[] = [header];
  let at = 0;
  do {
    const chunk = data.subarray(at, at + XERIAL_BLOCK_SIZE);
    const block = await wrapFailure(CompressionCodec.snappy, 'compression failed', async () => (await snappy()).compress(chunk));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
    at += XERIAL_BLOCK_SIZE;
  } while (at < data.length);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// lz4 (frame format: https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md)

interface Lz4Frame {
  bytes: Buffer;
  bound: number;
}

/**
 * Splits the input into LZ4 frames (skipping skippable frames) and computes each one's exact output
 * size without decompressing: an uncompressed block's size, a compressed block's sum of literal and
 * match lengths (walking its sequence tokens, no copying). A declared content size must agree.
 */
function lz4Frames(data: Buffer): { frames: Lz4Frame[]; total: number } {
  const codec = CompressionCodec.lz4;
  const frames: Lz4Frame[] = [];
  let total = 0;
  let at = 0;
  const need = (count: number, what: string): void => {
    if (data.length - at < count) throw malformed(codec, `${what} is truncated at byte ${at}`);
  };
  while (at < data.length) {
    need(4, 'frame magic');
    const magic = data.readUInt32LE(at);
    if (((magic & SKIPPABLE_MAGIC_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      need(8, 'skippable frame header');
      const size = data.readUInt32LE(at + 4);
      at += 8;
      need(size, 'skippable frame');
      at += size;
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) {
      throw malformed(codec, `not an LZ4 frame at byte ${at} (magic 0x${magic.toString(16).padStart(8, '0')})`);
    }
    const start = at;
    at += 4;
    need(2, 'frame descriptor');
    const flg = data[at]!;
    const bd = data[at + 1]!;
    if (flg >> 6 !== 1) throw malformed(codec, `unsupported frame version ${flg >> 6}`);
    if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw malformed(codec, 'reserved frame descriptor bits are set');
    const blockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const hasDictId = (flg & 0x01) !== 0;
    const blockSizeId = (bd >> 4) & 0x07;
    if (blockSizeId < 4) throw malformed(codec, `invalid block maximum size id ${blockSizeId}`);
    const blockMax = 2 ** (2 * blockSizeId + 8);
    const descriptorSize = 2 + (hasContentSize ? 8 : 0) + (hasDictId ? 4 : 0) + 1;
    need(descriptorSize, 'frame descriptor');
    const contentSize = hasContentSize ? data.readBigUInt64LE(at + 2) : null;
    at += descriptorSize;
    let blocksBound = 0;
    for (;;) {
      need(4, 'block size');
      const word = data.readUInt32LE(at);
      at += 4;
      if (word === 0) break; // EndMark
      const size = word & 0x7fffffff;
      const uncompressed = word >>> 31 === 1;
      if (size > blockMax) throw malformed(codec, `block of ${size} bytes exceeds the frame's block maximum ${blockMax}`);
      const extra = blockChecksum ? 4 : 0;
      need(size + extra, 'block');
      const decoded = uncompressed ? size : lz4BlockDecodedSize(data, at, at + size);
      if (decoded > blockMax) throw malformed(codec, `block decodes to ${decoded} bytes, more than the frame's block maximum ${blockMax}`);
      at += size + extra;
      blocksBound += decoded;
    }
    if (contentChecksum) {
      need(4, 'content checksum');
      at += 4;
    }
    if (contentSize !== null && contentSize !== BigInt(blocksBound)) {
      throw malformed(codec, `frame declares ${contentSize} bytes but its blocks hold ${blocksBound}`);
    }
    frames.push({ bytes: data.subarray(start, at), bound: blocksBound });
    total += blocksBound;
  }
  if (frames.length === 0) throw malformed(codec, 'no LZ4 frame in the input');
  return { frames, total };
}

/**
 * The number of bytes the LZ4 block `data[start..end)` decodes to: each sequence is a token (high
 * nibble literal length, low nibble match length - 4, 15 meaning "add the following bytes until one
 * is not 255"), the literals, then (except in the last sequence) a 2-byte offset and the match.
 */
function lz4BlockDecodedSize(data: Buffer, start: number, end: number): number {
  const codec = CompressionCodec.lz4;
  let at = start;
  let size = 0;
  while (at < end) {
    const token = data[at++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (at >= end) throw malformed(codec, 'block ends inside a literal length');
        byte = data[at++]!;
        literals += byte;
      } while (byte === 255);
    }
    if (literals > end - at) throw malformed(codec, 'literals overrun the block');
    at += literals;
    size += literals;
    if (at === end) return size; // the last sequence has no match
    if (end - at < 2) throw malformed(codec, 'block ends inside a match offset');
    if (data[at] === 0 && data[at + 1] === 0) throw malformed(codec, 'match offset 0');
    at += 2;
    let match = token & 0x0f;
    if (match === 15) {
      let byte: number;
      do {
        if (at >= end) throw malformed(codec, 'block ends inside a match length');
        byte = data[at++]!;
        match += byte;
      } while (byte === 255);
    }
    size += match + 4;
  }
  throw malformed(codec, 'block ends after a match (the last sequence must be literals only)');
}

async function lz4Decompress(data: Buffer, limit: number): Promise<Buffer> {
  const codec = CompressionCodec.lz4;
  const { frames, total } = lz4Frames(data);
  checkLimit(codec, total, limit, 'frames can expand to');
  const parts: Buffer[] = [];
  let length = 0;
  for (const frame of frames) {
    // lz4-napi decodes one frame per call (it ignores anything after the first).
    const out = await wrapFailure(codec, 'decompression failed', async () => (await lz4()).decompressFrame(frame.bytes));
    if (out.length > frame.bound) throw malformed(codec, `frame expanded beyond its bound of ${frame.bound} bytes`);
    parts.push(out);
    length += out.length;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
}

// ---------------------------------------------------------------------------------------------
// zstd (frame format: RFC 8878)

/**
 * Walks zstd frames (and skippable frames) and returns an upper bound of their decompressed size,
 * computed as zstd's ZSTD_decompressBound does (declared content size, else number of blocks times
 * the 128 KiB block maximum), which is also what the decompressor allocates.
 */
function zstdFramesBound(data: Buffer): number {
  const codec = CompressionCodec.zstd;
  let total = 0;
  let frames = 0;
  let at = 0;
  const need = (count: number, what: string): void => {
    if (data.length - at < count) throw malformed(codec, `${what} is truncated at byte ${at}`);
  };
  while (at < data.length) {
    need(4, 'frame magic');
    const magic = data.readUInt32LE(at);
    if (((magic & SKIPPABLE_MAGIC_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      need(8, 'skippable frame header');
      const size = data.readUInt32LE(at + 4);
      at += 8;
      need(size, 'skippable frame');
      at += size;
      continue;
    }
    if (magic !== ZSTD_FRAME_MAGIC) {
      throw malformed(codec, `not a zstd frame at byte ${at} (magic 0x${magic.toString(16).padStart(8, '0')})`);
    }
    at += 4;
    need(1, 'frame header');
    const descriptor = data[at]!;
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    if ((descriptor & 0x08) !== 0) throw malformed(codec, 'reserved frame header bit is set');
    const checksum = (descriptor & 0x04) !== 0;
    const dictIdSize = [0, 1, 2, 4][descriptor & 0x03]!;
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    const headerSize = 1 + (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    need(headerSize, 'frame header');
    const fcsAt = at + headerSize - fcsSize;
    let contentSize: bigint | null = null;
    if (fcsSize === 1) contentSize = BigInt(data[fcsAt]!);
    else if (fcsSize === 2) contentSize = BigInt(data.readUInt16LE(fcsAt) + 256);
    else if (fcsSize === 4) contentSize = BigInt(data.readUInt32LE(fcsAt));
    else if (fcsSize === 8) contentSize = data.readBigUInt64LE(fcsAt);
    at += headerSize;
    let blocks = 0;
    for (;;) {
      need(3, 'block header');
      const header = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16);
      at += 3;
      const last = (header & 1) === 1;
      const type = (header >> 1) & 0x03;
      const size = header >>> 3;
      if (type === 3) throw malformed(codec, 'reserved block type');
      if (size > ZSTD_BLOCK_SIZE_MAX) throw malformed(codec, `block of ${size} bytes exceeds 128 KiB`);
      const stored = type === 1 ? 1 : size; // an RLE block stores one byte
      need(stored, 'block');
      at += stored;
      blocks++;
      if (last) break;
    }
    if (checksum) {
      need(4, 'content checksum');
      at += 4;
    }
    frames++;
    const bound = contentSize ?? BigInt(blocks) * BigInt(ZSTD_BLOCK_SIZE_MAX);
    total += bound > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(bound);
  }
  if (frames === 0) throw malformed(codec, 'no zstd frame in the input');
  return Math.min(total, Number.MAX_SAFE_INTEGER);
}

async function zstdDecompress(data: Buffer, limit: number): Promise<Buffer> {
  const codec = CompressionCodec.zstd;
  const bound = zstdFramesBound(data);
  checkLimit(codec, bound, limit, 'frames can expand to');
  const out = await wrapFailure(codec, 'decompression failed', async () => asBuffer((await zstd()).decompress(data)));
  checkLimit(codec, out.length, limit, 'frames expanded to');
  return out;
}
