/**
 * The sparse time index of one segment, held in memory in exactly its file format and written to the
 * segment's `.timeindex` file when the segment is sealed (rolled) or the log is closed.
 *
 * `.timeindex` file format: a sequence of 12-byte entries, no header, big-endian:
 * ```
 * timestamp      int64   the largest batch maxTimestamp seen in the segment so far
 * relativeOffset int32   base offset (minus the segment's base offset) of the first batch that
 *                        reached that timestamp
 * ```
 * Timestamps strictly increase. Entries are added at the same sparse points as the offset index,
 * and once more when the segment is sealed or closed, so the last entry is always the segment's
 * largest timestamp and where it is (Kafka does the same). Reading `(T, O)`: every batch before the
 * one at O has maxTimestamp < T, so a search for the first timestamp >= X may start at the batch of
 * the last entry whose T < X.
 */
export const TIME_INDEX_ENTRY_SIZE = 12;

export interface TimeIndexEntry {
  timestamp: bigint;
  relativeOffset: number;
}

export class TimeIndex {
  private buffer: Buffer;
  private count = 0;

  private constructor(buffer: Buffer, count: number) {
    this.buffer = buffer;
    this.count = count;
  }

  static empty(): TimeIndex {
    return new TimeIndex(Buffer.alloc(16 * TIME_INDEX_ENTRY_SIZE), 0);
  }

  /**
   * Adopts the bytes of a `.timeindex` file, or returns null when they are not consistent: a size
   * that is not a multiple of 12, timestamps that do not strictly increase, or offsets that go back.
   */
  static fromFile(bytes: Buffer): TimeIndex | null {
    if (bytes.length % TIME_INDEX_ENTRY_SIZE !== 0) return null;
    const count = bytes.length / TIME_INDEX_ENTRY_SIZE;
    let previousTimestamp: bigint | null = null;
    let previousOffset = -1;
    for (let i = 0; i < count; i++) {
      const timestamp = bytes.readBigInt64BE(i * TIME_INDEX_ENTRY_SIZE);
      const relativeOffset = bytes.readInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
      if (timestamp < 0n || relativeOffset < previousOffset) return null;
      if (previousTimestamp !== null && timestamp <= previousTimestamp) return null;
      previousTimestamp = timestamp;
      previousOffset = relativeOffset;
    }
    return new TimeIndex(bytes, count);
  }

  get entryCount(): number {
    return this.count;
  }

  /** Adds an entry when `timestamp` is larger than the last one's. */
  maybeAppend(timestamp: bigint, relativeOffset: number): void {
    if (timestamp < 0n) return;
    const last = this.lastEntry();
    if (last !== null && (timestamp <= last.timestamp || relativeOffset < last.relativeOffset)) return;
    const at = this.count * TIME_INDEX_ENTRY_SIZE;
    if (at + TIME_INDEX_ENTRY_SIZE > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, 256));
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    this.buffer.writeBigInt64BE(timestamp, at);
    this.buffer.writeInt32BE(relativeOffset, at + 8);
    this.count++;
  }

  entry(index: number): TimeIndexEntry {
    const at = index * TIME_INDEX_ENTRY_SIZE;
    return { timestamp: this.buffer.readBigInt64BE(at), relativeOffset: this.buffer.readInt32BE(at + 8) };
  }

  lastEntry(): TimeIndexEntry | null {
    return this.count === 0 ? null : this.entry(this.count - 1);
  }

  /** The last entry whose timestamp is < `timestamp`, or null (search from the segment's start). */
  lookupBefore(timestamp: bigint): TimeIndexEntry | null {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.buffer.readBigInt64BE(middle * TIME_INDEX_ENTRY_SIZE) < timestamp) {
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
    return this.buffer.subarray(0, this.count * TIME_INDEX_ENTRY_SIZE);
  }
}
