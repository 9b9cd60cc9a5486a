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
import { EntryBuffer } from './entry-buffer.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;

export interface OffsetIndexEntry {
  relativeOffset: number;
  position: number;
}

export class OffsetIndex {
  private readonly entries: EntryBuffer;

  private constructor(entries: EntryBuffer) {
    this.entries = entries;
  }

  static empty(): OffsetIndex {
    return new OffsetIndex(new EntryBuffer(OFFSET_INDEX_ENTRY_SIZE));
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
    return new OffsetIndex(new EntryBuffer(OFFSET_INDEX_ENTRY_SIZE, bytes, count));
  }

  get entryCount(): number {
    return this.entries.entryCount;
  }

  /** Adds an entry; entries that would not strictly increase are ignored. */
  append(relativeOffset: number, position: number): void {
    const last = this.lastEntry();
    if (last !== null && (relativeOffset <= last.relativeOffset || position <= last.position)) return;
    this.entries.append((buffer, at) => {
      buffer.writeInt32BE(relativeOffset, at);
      buffer.writeInt32BE(position, at + 4);
    });
  }

  entry(index: number): OffsetIndexEntry {
    const { buffer, at } = this.entries.at(index);
    return { relativeOffset: buffer.readInt32BE(at), position: buffer.readInt32BE(at + 4) };
  }

  lastEntry(): OffsetIndexEntry | null {
    const count = this.entries.entryCount;
    return count === 0 ? null : this.entry(count - 1);
  }

  /** The entry with the largest relative offset <= `relativeOffset`, or null (start at position 0). */
  lookup(relativeOffset: number): OffsetIndexEntry | null {
    const found = this.entries.lastWhere((buffer, at) => buffer.readInt32BE(at) <= relativeOffset);
    return found < 0 ? null : this.entry(found);
  }

  /** The file image: a view, valid until the next append. */
  bytes(): Buffer {
    return this.entries.bytes();
  }
}
