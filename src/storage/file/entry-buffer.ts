/**
 * Fixed-size index entries held in memory exactly as their file stores them, growing by doubling.
 * The offset and time indexes are both such a sequence; this holds what they share (storage,
 * growth, binary search, the file image), and each index keeps its entry format and rules.
 */
export class EntryBuffer {
  readonly entrySize: number;
  private buffer: Buffer;
  private count: number;

  constructor(entrySize: number, buffer: Buffer = Buffer.alloc(16 * entrySize), count = 0) {
    this.entrySize = entrySize;
    this.buffer = buffer;
    this.count = count;
  }

  get entryCount(): number {
    return this.count;
  }

  /** The buffer and byte position entry `index` is stored at (valid until the next append). */
  at(index: number): { buffer: Buffer; at: number } {
    return { buffer: this.buffer, at: index * this.entrySize };
  }

  /** Appends one entry, written by `write` at byte position `at` of `buffer`. */
  append(write: (buffer: Buffer, at: number) => void): void {
    const at = this.count * this.entrySize;
    if (at + this.entrySize > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, 16 * this.entrySize));
      this.buffer.copy(grown, 0, 0, at);
      this.buffer = grown;
    }
    write(this.buffer, at);
    this.count++;
  }

  /**
   * The index of the last entry for which `before(buffer, at)` holds, or -1; entries must be sorted
   * so that `before` holds for a prefix of them.
   */
  lastWhere(before: (buffer: Buffer, at: number) => boolean): number {
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (before(this.buffer, middle * this.entrySize)) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** The file image: a view, valid until the next append. */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.count * this.entrySize);
  }
}
