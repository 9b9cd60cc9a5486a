/**
 * Reference values of the Java client's default partitioner, so keys provably land where Java,
 * librdkafka (murmur2_random) and kafka-python put them.
 *
 * - MURMUR2_VECTORS: the expected values of Kafka's own UtilsTest.testMurmur2 (Java ints).
 * - JAVA_PARTITIONS: `toPositive(murmur2(utf8(key))) % n` for several partition counts, generated
 *   once with kafka-python's `kafka.partitioner.default.murmur2` (Debian's python3-kafka, a port of
 *   Utils.murmur2) and committed here; tests never call Python.
 */
export const MURMUR2_VECTORS: ReadonlyArray<readonly [string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

/** Partition counts of JAVA_PARTITIONS' columns. */
export const PARTITION_COUNTS = [1, 2, 3, 6, 12, 100] as const;

export const JAVA_PARTITIONS: ReadonlyArray<{ key: string; murmur2: number; partitions: readonly number[] }> = [
  { key: 'alice', murmur2: 1951417749, partitions: [0, 1, 0, 3, 9, 49] },
  { key: 'bob', murmur2: -2048144690, partitions: [0, 0, 0, 0, 6, 58] },
  { key: 'carol', murmur2: 271431602, partitions: [0, 0, 2, 2, 2, 2] },
  { key: 'dave', murmur2: 1727131798, partitions: [0, 0, 1, 4, 10, 98] },
  { key: 'erin', murmur2: 708372308, partitions: [0, 0, 2, 2, 8, 8] },
  { key: 'frank', murmur2: -1883253241, partitions: [0, 1, 1, 1, 7, 7] },
  { key: 'grace', murmur2: -974197754, partitions: [0, 0, 0, 0, 6, 94] },
  { key: 'heidi', murmur2: -162548665, partitions: [0, 1, 1, 1, 7, 83] },
  { key: 'order-1', murmur2: 1221710326, partitions: [0, 0, 1, 4, 10, 26] },
  { key: 'order-2', murmur2: -1055499005, partitions: [0, 1, 0, 3, 3, 43] },
  { key: 'order-3', murmur2: -849583649, partitions: [0, 1, 0, 3, 3, 99] },
  { key: 'order-42', murmur2: 501153024, partitions: [0, 0, 0, 0, 0, 24] },
  { key: 'user:1001', murmur2: -1961883735, partitions: [0, 1, 2, 5, 5, 13] },
  { key: '日本', murmur2: -700811021, partitions: [0, 1, 0, 3, 3, 27] },
  { key: '', murmur2: 275646681, partitions: [0, 1, 0, 3, 9, 81] },
];

/** The partition Java picks for `key` among 6 partitions (the demo's topic). */
export function javaPartitionOf6(key: string): number {
  const entry = JAVA_PARTITIONS.find((e) => e.key === key);
  if (entry === undefined) throw new Error(`no fixture for key ${key}`);
  return entry.partitions[3]!;
}
