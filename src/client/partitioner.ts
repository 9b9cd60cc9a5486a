/**
 * Choosing a partition for a record, compatibly with the Java client's default partitioner (and
 * librdkafka's `murmur2_random`, franz-go's and KafkaJS's Java-compatible partitioners):
 *
 * - a record with a key goes to `toPositive(murmur2(keyBytes)) % numPartitions`, so a key lands on
 *   the same partition whichever of these clients produced it;
 * - a record without a key goes to a "sticky" partition (KIP-480): every keyless record goes to the
 *   same partition until its batch is closed, then the next partition is taken, so batches stay
 *   large and keyless load still spreads over every partition.
 */

/**
 * MurmurHash2 (32-bit) with the Java client's seed, exactly as `org.apache.kafka.common.utils.
 * Utils.murmur2`: little-endian 4-byte blocks, the tail mixed in, then the final avalanche. Returns
 * the hash as a signed 32-bit integer, as Java does.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const blocks = length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const at = i * 4;
    let k = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  // The 1-3 bytes after the last block (Java's switch falls through the same way).
  const tail = blocks * 4;
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for MIN_VALUE). */
export function toPositive(value: number): number {
  return value & 0x7fffffff;
}

/** The partition the Java client's default partitioner picks for a keyed record. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

/**
 * Keeps the sticky partition of each topic for keyless records. `next` moves a topic on to
 * another partition (called when the sticky partition's batch is closed).
 */
export class StickyPartitions {
  private readonly current = new Map<string, number>();
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
  }

  partition(topic: string, numPartitions: number): number {
    let partition = this.current.get(topic);
    if (partition === undefined || partition >= numPartitions) {
      partition = Math.floor(this.random() * numPartitions);
      this.current.set(topic, partition);
    }
    return partition;
  }

  /** Moves on from `partition` (if it is still the topic's sticky one) to the next partition. */
  next(topic: string, partition: number, numPartitions: number): void {
    if (this.current.get(topic) !== partition) return;
    this.current.set(topic, numPartitions <= 1 ? 0 : (partition + 1) % numPartitions);
  }
}
