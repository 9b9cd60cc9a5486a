import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StickyPartitions, murmur2, partitionForKey, toPositive } from '../../../src/client/partitioner.js';
import { JAVA_PARTITIONS, MURMUR2_VECTORS, PARTITION_COUNTS } from './java-partitioner-fixtures.js';

test("murmur2 matches Kafka's own test vectors (Java ints)", () => {
  for (const [input, expected] of MURMUR2_VECTORS) assert.equal(murmur2(Buffer.from(input)), expected, input);
});

test("keyed records go to the partition Java's default partitioner picks", () => {
  for (const { key, murmur2: hash, partitions } of JAVA_PARTITIONS) {
    assert.equal(murmur2(Buffer.from(key, 'utf8')), hash, key);
    PARTITION_COUNTS.forEach((count, i) => assert.equal(partitionForKey(Buffer.from(key, 'utf8'), count), partitions[i], `${key} with ${count} partitions`));
  }
});

test('toPositive clears the sign bit like Java (not Math.abs)', () => {
  assert.equal(toPositive(-2147483648), 0);
  assert.equal(toPositive(-1), 2147483647);
  assert.equal(toPositive(5), 5);
});

test('sticky partitions stay until moved on, then take the next partition', () => {
  const sticky = new StickyPartitions(() => 0.5);
  assert.equal(sticky.partition('t', 4), 2);
  assert.equal(sticky.partition('t', 4), 2);
  sticky.next('t', 2, 4);
  assert.equal(sticky.partition('t', 4), 3);
  sticky.next('t', 2, 4); // not the current one: ignored
  assert.equal(sticky.partition('t', 4), 3);
  sticky.next('t', 3, 4);
  assert.equal(sticky.partition('t', 4), 0);
  assert.equal(sticky.partition('other', 1), 0);
});
