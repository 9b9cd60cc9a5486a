/** One entry of a tagged-field section: the tag and a function writing the field's value. */
export interface TaggedFieldEncoder {
  readonly tag: number;
  readonly write: (w: Writer) => void;
}

/**
 * Big-endian writer for Kafka's wire types.
 *
 * Small fields are written into a scratch buffer; large byte payloads (record batches read from a
 * segment file, for instance) are not copied but kept by reference as their own chunk, so a response
 * leaves as a list of Buffers for one vectored socket write. `chunks()` returns that list.
 */
export class Writer {
  private readonly done: Buffer[] = [];
  private scratch: Buffer;
  private position = 0;
  private doneBytes = 0;

  constructor(initialSize = 256) {
    this.scratch = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.doneBytes + this.position;
  }

  private room(size: number): Buffer {
    if (this.scratch.length - this.position < size) this.grow(size);
    return this.scratch;
  }

  private grow(size: number): void {
    this.sealScratch();
    this.scratch = Buffer.allocUnsafe(Math.max(size, this.scratch.length * 2, 256));
  }

  private sealScratch(): void {
    if (this.position === 0) return;
    this.done.push(this.scratch.subarray(0, this.position));
    this.doneBytes += this.position;
    this.scratch = this.scratch.subarray(this.position);
    this.position = 0;
  }

  int8(value: number): this {
    this.room(1).writeInt8(value, this.position);
    this.position += 1;
    return this;
  }

  uint8(value: number): this {
    this.room(1)[this.position++] = value & 0xff;
    return this;
  }

  bool(value: boolean): this {
    return this.int8(value ? 1 : 0);
  }

  int16(value: number): this {
    this.room(2).writeInt16BE(value, this.position);
    this.position += 2;
    return this;
  }

  uint16(value: number): this {
    this.room(2).writeUInt16BE(value, this.position);
    this.position += 2;
    return this;
  }

  int32(value: number): this {
    this.room(4).writeInt32BE(value, this.position);
    this.position += 4;
    return this;
  }

  uint32(value: number): this {
    this.room(4).writeUInt32BE(value >>> 0, this.position);
    this.position += 4;
    return this;
  }

  int64(value: bigint): this {
    this.room(8).writeBigInt64BE(BigInt.asIntN(64, value), this.position);
    this.position += 8;
    return this;
  }

  float64(value: number): this {
    this.room(8).writeDoubleBE(value, this.position);
    this.position += 8;
    return this;
  }

  uvarint(value: number): this {
    const buffer = this.room(5);
    let remaining = value >>> 0;
    while (remaining >= 0x80) {
      buffer[this.position++] = (remaining & 0x7f) | 0x80;
      remaining >>>= 7;
    }
    buffer[this.position++] = remaining;
    return this;
  }

  varint(value: number): this {
    return this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  varlong(value: bigint): this {
    const buffer = this.room(10);
    let remaining = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    while (remaining >= 0x80n) {
      buffer[this.position++] = Number(remaining & 0x7fn) | 0x80;
      remaining >>= 7n;
    }
    buffer[this.position++] = Number(remaining);
    return this;
  }

  uuid(value: string): this {
    const hex = value.replace(/-/g, '');
    if (hex.length !== 32 || !/^[0-9a-fA-F]+$/.test(hex)) throw new TypeError(`not a UUID: ${value}`);
    this.room(16).write(hex, this.position, 16, 'hex');
    this.position += 16;
    return this;
  }

  /** Appends bytes; large ones are kept by reference rather than copied. */
  raw(bytes: Buffer): this {
    if (bytes.length >= REFERENCE_THRESHOLD) {
      this.sealScratch();
      this.done.push(bytes);
      this.doneBytes += bytes.length;
    } else if (bytes.length > 0) {
      bytes.copy(this.room(bytes.length), this.position);
      this.position += bytes.length;
    }
    return this;
  }

  private utf8(value: string, size: number): void {
    if (size === 0) return;
    this.room(size).write(value, this.position, size, 'utf8');
    this.position += size;
  }

  string(value: string): this {
    const size = Buffer.byteLength(value, 'utf8');
    if (size > 0x7fff) throw new RangeError(`string of ${size} bytes exceeds the int16 length limit`);
    this.int16(size);
    this.utf8(value, size);
    return this;
  }

  nullableString(value: string | null): this {
    return value === null ? this.int16(-1) : this.string(value);
  }

  compactString(value: string): this {
    const size = Buffer.byteLength(value, 'utf8');
    this.uvarint(size + 1);
    this.utf8(value, size);
    return this;
  }

  compactNullableString(value: string | null): this {
    return value === null ? this.uvarint(0) : this.compactString(value);
  }

  bytes(value: Buffer): this {
    this.int32(value.length);
    return this.raw(value);
  }

  nullableBytes(value: Buffer | null): this {
    return value === null ? this.int32(-1) : this.bytes(value);
  }

  compactBytes(value: Buffer): this {
    this.uvarint(value.length + 1);
    return this.raw(value);
  }

  compactNullableBytes(value: Buffer | null): this {
    return value === null ? this.uvarint(0) : this.compactBytes(value);
  }

  /** int32 array length; null is written as -1. */
  arrayLength(length: number | null): this {
    return this.int32(length === null ? -1 : length);
  }

  /** Compact array length (unsigned varint of length + 1); null is written as 0. */
  compactArrayLength(length: number | null): this {
    return this.uvarint(length === null ? 0 : length + 1);
  }

  /**
   * Writes a tagged-field section. Each entry's value is encoded by `write` into a nested writer so
   * its size can precede it. Entries must be in increasing tag order.
   */
  taggedFields(fields: readonly TaggedFieldEncoder[]): this {
    this.uvarint(fields.length);
    for (const field of fields) {
      const nested = new Writer(64);
      field.write(nested);
      this.uvarint(field.tag);
      this.uvarint(nested.length);
      for (const chunk of nested.chunks()) this.raw(chunk);
    }
    return this;
  }

  /** The bytes written so far, as a list for a vectored write. */
  chunks(): Buffer[] {
    this.sealScratch();
    return this.done;
  }

  /** The bytes written so far in one contiguous Buffer (copies when there is more than one chunk). */
  toBuffer(): Buffer {
    const chunks = this.chunks();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.doneBytes);
  }
}

/** Payloads at least this large are referenced, not copied, by `Writer.raw`. */
const REFERENCE_THRESHOLD = 1024;
