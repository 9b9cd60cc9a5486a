/**
 * Big-endian reader for Kafka's wire types over one Buffer.
 *
 * The reader never throws mid-field: the first problem (a read past the end, a negative length where
 * none is allowed, a length larger than the bytes left) is recorded in `error`, the cursor jumps to
 * the end, and every later read returns a neutral value (0, '', an empty Buffer). Decoders therefore
 * run to completion on hostile input and the caller checks `error` once. Lengths are always checked
 * against the bytes actually present before anything is allocated, so a frame can never make us
 * allocate what it merely claims.
 */
export class Reader {
  readonly buffer: Buffer;
  offset: number;
  readonly end: number;
  error: string | null = null;

  constructor(buffer: Buffer, offset = 0, end = buffer.length) {
    this.buffer = buffer;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  get ok(): boolean {
    return this.error === null;
  }

  /** Records the first error and stops further reads from consuming anything. */
  fail(message: string): void {
    if (this.error === null) this.error = `${message} at byte ${this.offset}`;
    this.offset = this.end;
  }

  private take(size: number): number {
    const at = this.offset;
    if (size > this.end - at) {
      this.fail(`need ${size} bytes, ${this.end - at} left`);
      return -1;
    }
    this.offset = at + size;
    return at;
  }

  int8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buffer.readInt8(at);
  }

  uint8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buffer[at]!;
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buffer.readInt16BE(at);
  }

  uint16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buffer.readUInt16BE(at);
  }

  int32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buffer.readInt32BE(at);
  }

  uint32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buffer.readUInt32BE(at);
  }

  int64(): bigint {
    const at = this.take(8);
    return at < 0 ? 0n : this.buffer.readBigInt64BE(at);
  }

  float64(): number {
    const at = this.take(8);
    return at < 0 ? 0 : this.buffer.readDoubleBE(at);
  }

  /** Unsigned LEB128 of at most 5 bytes (32 bits), as used for compact lengths and tags. */
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const at = this.take(1);
      if (at < 0) return 0;
      const byte = this.buffer[at]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (result > 0xffffffff) break;
        return result;
      }
      shift += 7;
    }
    this.fail('unsigned varint longer than 32 bits');
    return 0;
  }

  /** Zig-zag encoded signed 32-bit varint. */
  varint(): number {
    const raw = this.uvarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Zig-zag encoded signed 64-bit varint. */
  varlong(): bigint {
    let raw = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const at = this.take(1);
      if (at < 0) return 0n;
      const byte = this.buffer[at]!;
      raw |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        // A 10th byte carries bits above 64; like Kafka, keep the low 64 so the result is an int64.
        raw = BigInt.asUintN(64, raw);
        return (raw >> 1n) ^ -(raw & 1n);
      }
      shift += 7n;
    }
    this.fail('varlong longer than 64 bits');
    return 0n;
  }

  uuid(): string {
    const at = this.take(16);
    if (at < 0) return ZERO_UUID;
    return formatUuid(this.buffer, at);
  }

  /** Reads `size` raw bytes as a view into the frame (no copy). */
  raw(size: number): Buffer {
    if (size < 0) {
      this.fail(`negative length ${size}`);
      return EMPTY;
    }
    const at = this.take(size);
    return at < 0 ? EMPTY : this.buffer.subarray(at, at + size);
  }

  private utf8(size: number): string {
    if (size === 0) return '';
    const at = this.take(size);
    return at < 0 ? '' : this.buffer.toString('utf8', at, at + size);
  }

  string(): string {
    const size = this.int16();
    if (size < 0) {
      this.fail('null where a string is required');
      return '';
    }
    return this.utf8(size);
  }

  nullableString(): string | null {
    const size = this.int16();
    if (size < -1) this.fail(`invalid string length ${size}`);
    return size < 0 ? null : this.utf8(size);
  }

  compactString(): string {
    const sizePlusOne = this.uvarint();
    if (sizePlusOne === 0) {
      this.fail('null where a compact string is required');
      return '';
    }
    return this.utf8(sizePlusOne - 1);
  }

  compactNullableString(): string | null {
    const sizePlusOne = this.uvarint();
    return sizePlusOne === 0 ? null : this.utf8(sizePlusOne - 1);
  }

  bytes(): Buffer {
    const size = this.int32();
    if (size < 0) {
      this.fail('null where bytes are required');
      return EMPTY;
    }
    return this.raw(size);
  }

  nullableBytes(): Buffer | null {
    const size = this.int32();
    if (size < -1) this.fail(`invalid bytes length ${size}`);
    return size < 0 ? null : this.raw(size);
  }

  compactBytes(): Buffer {
    const sizePlusOne = this.uvarint();
    if (sizePlusOne === 0) {
      this.fail('null where compact bytes are required');
      return EMPTY;
    }
    return this.raw(sizePlusOne - 1);
  }

  compactNullableBytes(): Buffer | null {
    const sizePlusOne = this.uvarint();
    return sizePlusOne === 0 ? null : this.raw(sizePlusOne - 1);
  }

  /**
   * An int32 array length; -1 means null. The length is checked against the bytes left, given the
   * smallest encoding of one element, so a claimed length can never drive a huge allocation.
   */
  arrayLength(minElementSize: number): number {
    const length = this.int32();
    if (length < -1) {
      this.fail(`invalid array length ${length}`);
      return -1;
    }
    return this.checkArrayLength(length, minElementSize);
  }

  /** A compact (unsigned varint, length + 1) array length; -1 means null. */
  compactArrayLength(minElementSize: number): number {
    const length = this.uvarint() - 1;
    return this.checkArrayLength(length, minElementSize);
  }

  private checkArrayLength(length: number, minElementSize: number): number {
    if (length > 0 && length * Math.max(minElementSize, 1) > this.remaining) {
      this.fail(`array of ${length} elements cannot fit in ${this.remaining} bytes`);
      return -1;
    }
    return length;
  }

  /**
   * Reads a tagged-field section. `onTag` is called for each tag with a reader bounded to that field's
   * bytes; it returns false for tags it does not know, which are skipped as the protocol requires.
   */
  taggedFields(onTag?: (tag: number, field: Reader) => boolean): void {
    const count = this.uvarint();
    let previousTag = -1;
    for (let i = 0; i < count && this.ok; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      if (tag <= previousTag) {
        this.fail(`tagged field ${tag} out of order`);
        return;
      }
      previousTag = tag;
      const at = this.take(size);
      if (at < 0) return;
      if (onTag) {
        const field = new Reader(this.buffer, at, at + size);
        onTag(tag, field);
        if (field.error !== null) this.fail(`tagged field ${tag}: ${field.error}`);
      }
    }
  }
}

const EMPTY = Buffer.alloc(0);

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Formats 16 bytes as the canonical 8-4-4-4-12 UUID string. */
export function formatUuid(buffer: Buffer, at: number): string {
  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += '-';
    out += HEX[buffer[at + i]!]!;
  }
  return out;
}
