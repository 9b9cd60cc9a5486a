/**
 * `__consumer_offsets` record formats against hand-written bytes of Kafka's layouts, the consumer
 * protocol prefix parsing, group placement (Java's String.hashCode) and the offset store's
 * ordering rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  OffsetsRecordError,
  type GroupMetadataValue,
} from '../../../src/coordinator/group/offsets-records.js';
import { assignedPartitionsOf, subscribedTopicsOf } from '../../../src/coordinator/group/consumer-protocol.js';
import { javaStringHashCode } from '../../../src/coordinator/group/offsets-topic.js';
import { OffsetStore } from '../../../src/coordinator/group/offset-store.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

test('OffsetCommitKey (key version 1): group, topic, partition', () => {
  const bytes = hex('0001 0002 6731 0001 74 00000003');
  assert.deepEqual(encodeOffsetCommitKey('g1', 't', 3), bytes);
  assert.deepEqual(decodeOffsetsTopicKey(bytes), { kind: 'offset', group: 'g1', topic: 't', partition: 3 });
  // Key version 0 (written by Kafka before 0.10) has the same layout.
  assert.deepEqual(decodeOffsetsTopicKey(hex('0000 0002 6731 0001 74 00000003')), { kind: 'offset', group: 'g1', topic: 't', partition: 3 });
});

test('GroupMetadataKey (key version 2): group; unknown key versions are skipped', () => {
  const bytes = hex('0002 0002 6731');
  assert.deepEqual(encodeGroupMetadataKey('g1'), bytes);
  assert.deepEqual(decodeOffsetsTopicKey(bytes), { kind: 'group', group: 'g1' });
  assert.equal(decodeOffsetsTopicKey(hex('0003 0002 6731')), null, 'newer record types (KIP-848 groups) are not ours');
  assert.throws(() => decodeOffsetsTopicKey(hex('0001 0002 67')), OffsetsRecordError);
});

test('OffsetCommitValue v3 (no expire timestamp) and v1 (with one), byte for byte', () => {
  const v3 = hex('0003 000000000000002a 00000005 0001 6d 00000000000003e8');
  const value = { offset: 42n, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1000n, expireTimestamp: null };
  assert.deepEqual(encodeOffsetCommitValue(value), v3);
  assert.deepEqual(decodeOffsetCommitValue(v3), value);

  const v1 = hex('0001 000000000000002a 0000 00000000000003e8 00000000000007d0');
  const old = { offset: 42n, leaderEpoch: -1, metadata: '', commitTimestamp: 1000n, expireTimestamp: 2000n };
  assert.deepEqual(encodeOffsetCommitValue(old), v1);
  assert.deepEqual(decodeOffsetCommitValue(v1), old);
});

test('OffsetCommitValue v0, v2 and the flexible v4 decode', () => {
  const expected = { offset: 42n, leaderEpoch: -1, metadata: 'm', commitTimestamp: 1000n, expireTimestamp: null };
  assert.deepEqual(decodeOffsetCommitValue(hex('0000 000000000000002a 0001 6d 00000000000003e8')), expected);
  assert.deepEqual(decodeOffsetCommitValue(hex('0002 000000000000002a 0001 6d 00000000000003e8')), expected);
  assert.deepEqual(decodeOffsetCommitValue(hex('0004 000000000000002a 00000007 02 6d 00000000000003e8 00')), { ...expected, leaderEpoch: 7 });
  assert.throws(() => decodeOffsetCommitValue(hex('0005 00')), OffsetsRecordError);
  assert.throws(() => decodeOffsetCommitValue(hex('0003 0000')), OffsetsRecordError);
});

const GROUP: GroupMetadataValue = {
  protocolType: 'consumer',
  generation: 1,
  protocol: 'range',
  leader: 'm1',
  currentStateTimestamp: 1000n,
  members: [
    {
      memberId: 'm1',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: '/h',
      rebalanceTimeoutMs: 300_000,
      sessionTimeoutMs: 10_000,
      subscription: Buffer.from([1, 2]),
      assignment: Buffer.from([3]),
    },
  ],
};

test('GroupMetadataValue v3, byte for byte', () => {
  const bytes = hex(`
    0003
    0008 636f6e73756d6572
    00000001
    0005 72616e6765
    0002 6d31
    00000000000003e8
    00000001
      0002 6d31
      ffff
      0001 63
      0002 2f68
      000493e0
      00002710
      00000002 0102
      00000001 03`);
  assert.deepEqual(encodeGroupMetadataValue(GROUP), bytes);
  assert.deepEqual(decodeGroupMetadataValue(bytes), GROUP);
});

test('GroupMetadataValue v0 (session timeout only) and flexible v4 decode; an empty group', () => {
  const v0 = hex(`
    0000 0008 636f6e73756d6572 00000001 0005 72616e6765 0002 6d31
    00000001 0002 6d31 0001 63 0002 2f68 00002710 00000002 0102 00000001 03`);
  assert.deepEqual(decodeGroupMetadataValue(v0), {
    ...GROUP,
    currentStateTimestamp: -1n,
    members: [{ ...GROUP.members[0]!, rebalanceTimeoutMs: 10_000 }],
  });
  const withInstance = { ...GROUP, members: [{ ...GROUP.members[0]!, groupInstanceId: 'static-1' }] };
  assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(withInstance, 4)), withInstance);
  const v4 = encodeGroupMetadataValue(GROUP, 4);
  assert.equal(v4.readInt16BE(0), 4);
  assert.equal(v4[2], 9, 'compact string length + 1');
  const empty: GroupMetadataValue = { protocolType: 'consumer', generation: 7, protocol: null, leader: null, currentStateTimestamp: 5n, members: [] };
  assert.deepEqual(encodeGroupMetadataValue(empty), hex('0003 0008 636f6e73756d6572 00000007 ffff ffff 0000000000000005 00000000'));
  assert.deepEqual(decodeGroupMetadataValue(encodeGroupMetadataValue(empty)), empty);
  assert.throws(() => decodeGroupMetadataValue(hex('0003 0008 636f')), OffsetsRecordError);
});

test('consumer protocol: subscribed topics and assigned partitions from the shared prefix', () => {
  // ConsumerProtocolSubscription v1: topics [a, b], userData null, ownedPartitions [].
  const subscription = hex('0001 00000002 0001 61 0001 62 ffffffff 00000000');
  assert.deepEqual(subscribedTopicsOf(subscription), ['a', 'b']);
  // KafkaJS writes a v0 body whatever the version says; the prefix is the same.
  assert.deepEqual(subscribedTopicsOf(hex('0003 00000001 0001 61 00000000')), ['a']);
  assert.equal(subscribedTopicsOf(hex('00')), null);
  // ConsumerProtocolAssignment v0: [(a, [0, 2])], userData empty.
  assert.deepEqual(assignedPartitionsOf(hex('0000 00000001 0001 61 00000002 00000000 00000002 00000000')), [{ topic: 'a', partitions: [0, 2] }]);
  assert.deepEqual(assignedPartitionsOf(Buffer.alloc(0)), []);
  assert.equal(assignedPartitionsOf(hex('0000 00000005')), null);
});

test('groups are placed by Java\'s String.hashCode, like Kafka', () => {
  assert.equal(javaStringHashCode(''), 0);
  assert.equal(javaStringHashCode('hello'), 99162322);
  assert.equal(javaStringHashCode('console-consumer-12345'), 158455506);
  assert.equal(javaStringHashCode('polygenelubricants'), -2147483648);
});

test('offset store: the later record wins, deletions void commits in flight, expiry skips them', () => {
  const store = new OffsetStore();
  const value = (offset: bigint, commitTimestamp = 0) => ({ offset, leaderEpoch: -1, metadata: '', commitTimestamp, expireTimestamp: null });
  store.load('t', 0, value(10n), 5n);
  store.load('t', 0, value(7n), 3n); // an older record completing late does not win
  assert.equal(store.get('t', 0)?.offset, 10n);

  const ticket = store.beginCommit('t', 0);
  assert.equal(store.remove('t', 0), true);
  store.finishCommit(ticket, value(20n), 9n);
  assert.equal(store.get('t', 0), undefined, 'a commit written before the tombstone does not come back');

  const inFlight = store.beginCommit('t', 1);
  store.load('t', 2, value(1n, 0), 10n);
  store.load('t', 3, { ...value(1n, 0), expireTimestamp: 500 }, 11n);
  assert.deepEqual(store.expired(100, 1000, (o) => o.commitTimestamp), []);
  assert.deepEqual(store.expired(600, 1000, (o) => o.commitTimestamp), [{ topic: 't', partition: 3 }], 'explicit expire timestamps win');
  assert.deepEqual(store.expired(1000, 1000, (o) => o.commitTimestamp), [{ topic: 't', partition: 2 }, { topic: 't', partition: 3 }]);
  assert.deepEqual(store.expired(1000, 1000, (o) => o.commitTimestamp, new Set(['t'])), [], 'subscribed topics are kept');
  store.finishCommit(inFlight, value(4n), 12n);
  assert.equal(store.get('t', 1)?.offset, 4n);
  assert.equal(store.hasCommitsInFlight(), false);
  assert.deepEqual(store.removeAll(), [{ topic: 't', partition: 1 }, { topic: 't', partition: 2 }, { topic: 't', partition: 3 }]);
  assert.equal(store.size, 0);
});
