/**
 * The sparse offset index of one segment, held in memory in exactly its file format and written to
 * the segment's `.index` file when the segment is sealed (rolled) or the log is closed.
 *
 * `.index` file format: a sequence of 8-byte entries, no header, big-endian:
 * ```
 * relativeOffset int32   base offset of an indexed batch minus the segment's base offset
 * position       int32   byte position of that batch in the segment's .log
 * ```
 * Both fields strictly increase from entry to entry. An entry is added for a batch when at least
 * `index.interval.bytes` of log were appended since the previous entry, so a lookup lands at most
 * about one interval (plus one batch) before the wanted batch. Unlike Kafka (which indexes a batch's
 * last offset) the entry names the batch's base offset, so the reader can verify an entry: the
 * batch found at `position` must start at exactly that offset.
 */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

export interface OffsetIndexEntry {
  relativeOffset: number;
  position: number;
}

export class OffsetIndex {
  private buffer: Buffer;
  private count = 0;

  private constructor(buffer: Buffer, count: number) {
    this.buffer = buffer;
    this.count = count;
  }

  static empty(): OffsetIndex {
    return new OffsetIndex(Buffer.alloc(16 * OFFSET_INDEX_ENTRY_SIZE), 0);
  }

  /**
   * Adopts the bytes of an `.index` file, or returns null when they are not a consistent index of a
   * log of `logSize` bytes: a size that is not a multiple of 8, entries that do not strictly
   * increase, or positions at or beyond the end of the log.
   */
  static fromFile(bytes: Buffer, logSize: number): OffsetIndex | null {
    if (bytes.length % OFFSET_INDEX_ENTRY_SIZE !== 0) return null;
    const count = bytes.length / OFFSET_INDEX_ENTRY_SIZE;
    let previousOffset = -1;
    let previousPosition = -1;
    for (let i = 0; i < count; i++) {
      const relativeOffset = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
      const position = bytes.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
      if (relativeOffset <= previousOffset || position <= previousPosition || position >= logSize) return null;
      previousOffset = relativeOffset;
      previousPosition = position;
    }
    return new OffsetIndex(bytes, count);
  }

  get entryCount(): number {
    return this.count;
  }

  /** Adds an entry; entries that would not strictly increase are ignored. */
  append(relativeOffset: number, position: number): void {
    const last = this.lastEntry();
    if (last !== null && (relativeOffset <= last.relativeOffset || position <= last.position)) return;
    const at = this.count * OFFSET_INDEX_ENTRY_SIZE;
    if (at + OFFSET_INDEX_ENTRY_SIZE > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, 256));
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    this.buffer.writeInt32BE(relativeOffset, at);
    this.buffer.writeInt32BE(position, at + 4);
    this.count++;
  }

  entry(index: number): OffsetIndexEntry {
    const at = index * OFFSET_INDEX_ENTRY_SIZE;
    return { relativeOffset: this.buffer.readInt32BE(at), position: this.buffer.readInt32BE(at + 4) };
  }

  lastEntry(): OffsetIndexEntry | null {
    return this.count === 0 ? null : this.entry(this.count - 1);
  }

  /** The entry with the largest relative offset <= `relativeOffset`, or null (start at position 0). */
  lookup(relativeOffset: number): OffsetIndexEntry | null {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.buffer.readInt32BE(middle * OFFSET_INDEX_ENTRY_SIZE) <= relativeOffset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? null : this.entry(found);
  }

  /** The file image: a view, valid until the next append. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.count * OFFSET_INDEX_ENTRY_SIZE);
  }
}
