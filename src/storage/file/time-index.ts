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
import { EntryBuffer } from './entry-buffer.js';

export const TIME_INDEX_ENTRY_SIZE = 12;

export interface TimeIndexEntry {
  timestamp: bigint;
  relativeOffset: number;
}

export class TimeIndex {
  private readonly entries: EntryBuffer;

  private constructor(entries: EntryBuffer) {
    this.entries = entries;
  }

  static empty(): TimeIndex {
    return new TimeIndex(new EntryBuffer(TIME_INDEX_ENTRY_SIZE));
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
    return new TimeIndex(new EntryBuffer(TIME_INDEX_ENTRY_SIZE, bytes, count));
  }

  get entryCount(): number {
    return this.entries.entryCount;
  }

  /** Adds an entry when `timestamp` is larger than the last one's. */
  maybeAppend(timestamp: bigint, relativeOffset: number): void {
    if (timestamp < 0n) return;
    const last = this.lastEntry();
    if (last !== null && (timestamp <= last.timestamp || relativeOffset < last.relativeOffset)) return;
    this.entries.append((buffer, at) => {
      buffer.writeBigInt64BE(timestamp, at);
      buffer.writeInt32BE(relativeOffset, at + 8);
    });
  }

  entry(index: number): TimeIndexEntry {
    const { buffer, at } = this.entries.at(index);
    return { timestamp: buffer.readBigInt64BE(at), relativeOffset: buffer.readInt32BE(at + 8) };
  }

  lastEntry(): TimeIndexEntry | null {
    const count = this.entries.entryCount;
    return count === 0 ? null : this.entry(count - 1);
  }

  /** The last entry whose timestamp is < `timestamp`, or null (search from the segment's start). */
  lookupBefore(timestamp: bigint): TimeIndexEntry | null {
    const found = this.entries.lastWhere((buffer, at) => buffer.readBigInt64BE(at) < timestamp);
    return found < 0 ? null : this.entry(found);
  }

  /** The file image: a view, valid until the next append. */
  bytes(): Buffer {
    return this.entries.bytes();
  }
}
