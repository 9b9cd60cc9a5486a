/**
 * The group coordinator over a real cluster and in-memory storage engine: offset commits written to
 * and replayed from `__consumer_offsets`, group metadata restored after a restart, tombstones of
 * deleted groups and offsets, offset expiry, validation errors, and lag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../../../src/cluster/cluster.js';
import { GroupCoordinator, type GroupCoordinatorConfig, type OffsetCommitEntry } from '../../../src/coordinator/group/group-coordinator.js';
import { OFFSETS_TOPIC } from '../../../src/coordinator/group/offsets-topic.js';
import { decodeOffsetsTopicKey } from '../../../src/coordinator/group/offsets-records.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { buildRecordBatch, decodeRecordBatches } from '../../../src/protocol/records/records.js';
import { readBatchHeader } from '../../../src/protocol/records/record-batch.js';
import { MemoryStorageEngine } from '../../../src/storage/memory/memory-engine.js';
import { silentLogger } from '../../../src/logger.js';
import { ManualClock, joinParams, settle } from './helpers.js';

const CONFIG: GroupCoordinatorConfig = {
  initialRebalanceDelayMs: 0,
  minSessionTimeoutMs: 1000,
  maxSessionTimeoutMs: 60_000,
  offsetsRetentionMs: 60 * 60_000,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetsTopicPartitions: 3,
};

/** A broker's worth of state: engine, cluster and coordinator; `restart` reopens them on the same engine. */
async function node(clock = new ManualClock(), engine = new MemoryStorageEngine()) {
  const stored = await engine.open();
  const logger = silentLogger();
  const cluster = new Cluster({ engine, logger, clusterId: stored.clusterId, messageMaxBytes: 1_048_588 });
  await cluster.load(stored.topics);
  const coordinator = new GroupCoordinator({ cluster, logger, config: CONFIG, clock });
  await coordinator.start();
  return {
    clock,
    engine,
    cluster,
    coordinator,
    async restart() {
      await coordinator.close();
      await cluster.close();
      return node(clock, engine);
    },
  };
}

function offsets(topic: string, ...entries: Array<[number, bigint, string?]>): OffsetCommitEntry[] {
  return entries.map(([partition, offset, metadata]) => ({ topic, partition, offset, leaderEpoch: -1, metadata: metadata ?? null, commitTimestamp: -1n }));
}

async function produce(cluster: Cluster, topic: string, partition: number, count: number): Promise<void> {
  const batch = buildRecordBatch(Array.from({ length: count }, (_, i) => ({ value: `v${i}` })));
  await cluster.partition(topic, partition)!.append(batch, readBatchHeader(batch, 0), true);
}

test('a simple group commits, reads back, and finds its offsets again after a restart', async () => {
  let broker = await node();
  await broker.cluster.createTopic('orders', 2, {});
  const errors = await broker.coordinator.commitOffsets({
    groupId: 'simple',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1n,
    offsets: [...offsets('orders', [0, 5n, 'meta-0'], [1, 7n]), ...offsets('missing', [0, 1n])],
  });
  assert.deepEqual(errors, [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.ok(broker.cluster.topic(OFFSETS_TOPIC)?.internal, 'the offsets topic was created, internal');
  assert.equal(broker.cluster.topic(OFFSETS_TOPIC)?.partitions.length, 3);
  assert.equal(broker.cluster.topic(OFFSETS_TOPIC)?.config('cleanup.policy'), 'compact');

  const fetched = broker.coordinator.fetchOffsets('simple', [{ name: 'orders', partitions: [0, 1, 2] }]);
  assert.deepEqual(fetched.topics[0]!.partitions.map((p) => [p.partition, p.offset, p.metadata]), [
    [0, 5n, 'meta-0'],
    [1, 7n, ''],
    [2, -1n, ''],
  ]);
  assert.deepEqual(broker.coordinator.fetchOffsets('nobody', [{ name: 'orders', partitions: [0] }]).topics[0]!.partitions[0]!.offset, -1n);
  assert.deepEqual(broker.coordinator.listGroups().groups, [{ groupId: 'simple', protocolType: '', state: 'Empty', groupType: 'classic' }]);

  broker = await broker.restart();
  const all = broker.coordinator.fetchOffsets('simple', null);
  assert.deepEqual(all.topics.map((t) => [t.name, t.partitions.map((p) => [p.partition, p.offset])]), [['orders', [[0, 5n], [1, 7n]]]]);
  assert.equal(broker.coordinator.describeGroup('simple')?.state, 'Empty');
  await broker.coordinator.close();
});

test('commit rules: unknown group with a generation, members only, metadata size, group id checks', async () => {
  const broker = await node();
  await broker.cluster.createTopic('t', 1, {});
  const commit = (groupId: string, generationId: number, memberId: string, metadata: string | null = null) =>
    broker.coordinator.commitOffsets({ groupId, generationId, memberId, groupInstanceId: null, retentionTimeMs: -1n, offsets: offsets('t', [0, 1n, metadata ?? undefined]) });
  assert.deepEqual(await commit('ghost', 3, 'm'), [ErrorCode.ILLEGAL_GENERATION]);
  assert.deepEqual(await commit('big', -1, '', 'x'.repeat(4097)), [ErrorCode.OFFSET_METADATA_TOO_LARGE]);
  assert.deepEqual(await commit('', -1, ''), [ErrorCode.NONE], 'the empty group id is allowed for commits, as in Kafka');

  const join = broker.coordinator.joinGroup('g', joinParams({ requireKnownMemberId: false, sessionTimeoutMs: 10_000 }));
  broker.clock.advance(0);
  const joined = await join;
  assert.deepEqual(await commit('g', joined.generationId, joined.memberId), [ErrorCode.REBALANCE_IN_PROGRESS]);
  const sync = broker.coordinator.syncGroup('g', { memberId: joined.memberId, groupInstanceId: null, generationId: joined.generationId, protocolType: null, protocolName: null, assignments: new Map() });
  await settle();
  assert.equal((await sync).errorCode, ErrorCode.NONE);
  assert.deepEqual(await commit('g', joined.generationId, joined.memberId), [ErrorCode.NONE]);
  assert.deepEqual(await commit('g', -1, ''), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.deepEqual(await commit('g', joined.generationId + 1, joined.memberId), [ErrorCode.ILLEGAL_GENERATION]);

  assert.equal((await broker.coordinator.joinGroup('', joinParams())).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await broker.coordinator.joinGroup('g', joinParams({ sessionTimeoutMs: 999 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await broker.coordinator.joinGroup('g', joinParams({ sessionTimeoutMs: 60_001 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await broker.coordinator.joinGroup('new', joinParams({ memberId: 'stale' }))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(broker.coordinator.heartbeat('', 'm', null, 1), ErrorCode.INVALID_GROUP_ID);
  assert.equal(broker.coordinator.heartbeat('none', 'm', null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await broker.coordinator.syncGroup('none', { memberId: 'm', groupInstanceId: null, generationId: 1, protocolType: null, protocolName: null, assignments: new Map() })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  assert.deepEqual(broker.coordinator.leaveGroup('none', [{ memberId: 'm', groupInstanceId: null, reason: null }]), { errorCode: ErrorCode.NONE, memberErrors: [ErrorCode.UNKNOWN_MEMBER_ID] });
  await broker.coordinator.close();
});

test('a Stable group comes back after a restart with its members, generation and assignment', async () => {
  let broker = await node();
  const join = broker.coordinator.joinGroup('g', joinParams({ requireKnownMemberId: false, sessionTimeoutMs: 10_000 }));
  broker.clock.advance(0);
  const joined = await join;
  const sync = broker.coordinator.syncGroup('g', {
    memberId: joined.memberId,
    groupInstanceId: null,
    generationId: joined.generationId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: new Map([[joined.memberId, Buffer.from('mine')]]),
  });
  await settle();
  await sync;
  broker = await broker.restart();
  const described = broker.coordinator.describeGroup('g')!;
  assert.equal(described.state, 'Stable');
  assert.equal(described.protocol, 'range');
  assert.equal(described.generationId, joined.generationId);
  assert.deepEqual(described.members.map((m) => [m.memberId, m.assignment.toString()]), [[joined.memberId, 'mine']]);
  // The member carries on where it was, without rebalancing...
  assert.equal(broker.coordinator.heartbeat('g', joined.memberId, null, joined.generationId), ErrorCode.NONE);
  // ...until it stops heartbeating: then the group empties (and is persisted so).
  broker.clock.advance(10_000);
  await settle();
  assert.equal(broker.coordinator.describeGroup('g')!.state, 'Empty');
  broker = await broker.restart();
  assert.equal(broker.coordinator.describeGroup('g')!.state, 'Empty');
  await broker.coordinator.close();
});

test('DeleteGroups and OffsetDelete write tombstones; replay honours them', async () => {
  let broker = await node();
  await broker.cluster.createTopic('t', 2, {});
  const commit = (groupId: string) =>
    broker.coordinator.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n, offsets: offsets('t', [0, 3n], [1, 4n]) });
  await commit('doomed');
  await commit('trimmed');
  assert.deepEqual(await broker.coordinator.deleteGroups(['doomed', 'unknown']), [ErrorCode.NONE, ErrorCode.GROUP_ID_NOT_FOUND]);
  const deleted = await broker.coordinator.deleteOffsets('trimmed', [
    { topic: 't', partition: 0 },
    { topic: 'gone', partition: 0 },
  ]);
  assert.deepEqual(deleted, {
    errorCode: ErrorCode.NONE,
    partitionErrors: [
      { topic: 'gone', partition: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
      { topic: 't', partition: 0, errorCode: ErrorCode.NONE },
    ],
  });
  assert.deepEqual(await broker.coordinator.deleteOffsets('unknown', []), { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitionErrors: [] });
  assert.deepEqual(await broker.coordinator.deleteOffsets('', []), { errorCode: ErrorCode.INVALID_GROUP_ID, partitionErrors: [] });

  // The log holds the tombstones (null values) with Kafka's keys.
  const partitionOf = broker.cluster.topic(OFFSETS_TOPIC)!.partitions;
  const tombstones: string[] = [];
  for (const partition of partitionOf) {
    const read = await partition.log.read(0n, 1 << 20);
    for (const batch of await decodeRecordBatches(read.records)) {
      for (const record of batch.records) {
        if (record.value !== null) continue;
        const key = decodeOffsetsTopicKey(record.key!)!;
        tombstones.push(key.kind === 'offset' ? `${key.group}/${key.topic}-${key.partition}` : `${key.group}/group`);
      }
    }
  }
  assert.deepEqual(tombstones.sort(), ['doomed/group', 'doomed/t-0', 'doomed/t-1', 'trimmed/t-0']);

  broker = await broker.restart();
  assert.equal(broker.coordinator.describeGroup('doomed'), null);
  assert.deepEqual(broker.coordinator.fetchOffsets('trimmed', null).topics[0]!.partitions.map((p) => p.partition), [1]);
  await broker.coordinator.close();
});

test('DeleteGroups refuses groups with members; OffsetDelete refuses subscribed topics', async () => {
  const broker = await node();
  await broker.cluster.createTopic('subscribed', 1, {});
  await broker.cluster.createTopic('other', 1, {});
  // A consumer-protocol subscription (v0) to "subscribed".
  const subscription = Buffer.from('0000' + '00000001' + '000a' + Buffer.from('subscribed').toString('hex') + '00000000', 'hex');
  const join = broker.coordinator.joinGroup('busy', joinParams({ requireKnownMemberId: false, protocols: [{ name: 'range', metadata: subscription }] }));
  broker.clock.advance(0);
  const joined = await join;
  const sync = broker.coordinator.syncGroup('busy', { memberId: joined.memberId, groupInstanceId: null, generationId: joined.generationId, protocolType: null, protocolName: null, assignments: new Map() });
  await settle();
  await sync;
  await broker.coordinator.commitOffsets({
    groupId: 'busy',
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    retentionTimeMs: -1n,
    offsets: [...offsets('subscribed', [0, 1n]), ...offsets('other', [0, 2n])],
  });
  assert.deepEqual(await broker.coordinator.deleteGroups(['busy']), [ErrorCode.NON_EMPTY_GROUP]);
  const result = await broker.coordinator.deleteOffsets('busy', [
    { topic: 'subscribed', partition: 0 },
    { topic: 'other', partition: 0 },
  ]);
  assert.deepEqual(
    result.partitionErrors.map((p) => [p.topic, p.errorCode]),
    [
      ['subscribed', ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
      ['other', ErrorCode.NONE],
    ],
  );
  assert.deepEqual(broker.coordinator.fetchOffsets('busy', null).topics.map((t) => t.name), ['subscribed']);
  assert.deepEqual(broker.coordinator.listGroups({ states: ['stable'] }).groups.map((g) => g.groupId), ['busy']);
  assert.deepEqual(broker.coordinator.listGroups({ states: ['Empty'] }).groups, []);
  assert.deepEqual(broker.coordinator.listGroups({ types: ['CLASSIC'] }).groups.length, 1);
  assert.deepEqual(broker.coordinator.listGroups({ types: ['consumer'] }).groups, []);
  await broker.coordinator.close();
});

test('offsets of an empty group expire after the retention; the group goes with them', async () => {
  let broker = await node();
  await broker.cluster.createTopic('t', 1, {});
  await broker.coordinator.commitOffsets({ groupId: 'old', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n, offsets: offsets('t', [0, 9n]) });
  broker.clock.advance(CONFIG.offsetsRetentionMs - 1);
  assert.equal(await broker.coordinator.expireOffsets(), 0);
  broker.clock.advance(1);
  assert.equal(await broker.coordinator.expireOffsets(), 1);
  assert.equal(broker.coordinator.describeGroup('old'), null);
  broker = await broker.restart();
  assert.equal(broker.coordinator.describeGroup('old'), null, 'the tombstones keep it deleted after a restart');
  // Old clients' explicit retention (OffsetCommit v2-v4) expires on its own schedule.
  await broker.coordinator.commitOffsets({ groupId: 'legacy', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: 1000n, offsets: offsets('t', [0, 1n]) });
  broker.clock.advance(1000);
  assert.equal(await broker.coordinator.expireOffsets(), 1);
  await broker.coordinator.close();
});

test('offsets of deleted topics are forgotten (call after DeleteTopics)', async () => {
  const broker = await node();
  await broker.cluster.createTopic('kept', 1, {});
  await broker.cluster.createTopic('dropped', 2, {});
  const commit = (groupId: string, entries: OffsetCommitEntry[]) =>
    broker.coordinator.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n, offsets: entries });
  await commit('both', [...offsets('kept', [0, 1n]), ...offsets('dropped', [0, 2n], [1, 3n])]);
  await commit('only-dropped', offsets('dropped', [0, 4n]));
  await broker.cluster.deleteTopic('dropped');
  assert.equal(await broker.coordinator.onTopicsDeleted(['dropped']), 3);
  assert.deepEqual(broker.coordinator.fetchOffsets('both', null).topics.map((t) => t.name), ['kept']);
  assert.equal(broker.coordinator.describeGroup('only-dropped'), null, 'an empty group left without offsets is deleted');
  await broker.coordinator.close();
});

test('lag: committed offsets against log end offsets, with the assigned member', async () => {
  const broker = await node();
  await broker.cluster.createTopic('t', 2, {});
  await produce(broker.cluster, 't', 0, 10);
  await produce(broker.cluster, 't', 1, 4);
  // ConsumerProtocolAssignment v0: t -> [0, 1].
  const assignment = Buffer.from('0000' + '00000001' + '0001' + '74' + '00000002' + '00000000' + '00000001' + '00000000', 'hex');
  const join = broker.coordinator.joinGroup('g', joinParams({ requireKnownMemberId: false, clientId: 'lagger' }));
  broker.clock.advance(0);
  const joined = await join;
  const sync = broker.coordinator.syncGroup('g', { memberId: joined.memberId, groupInstanceId: null, generationId: joined.generationId, protocolType: null, protocolName: null, assignments: new Map([[joined.memberId, assignment]]) });
  await settle();
  await sync;
  await broker.coordinator.commitOffsets({ groupId: 'g', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: null, retentionTimeMs: -1n, offsets: offsets('t', [0, 6n]) });
  const lag = broker.coordinator.describeLag('g')!;
  assert.equal(lag.state, 'Stable');
  assert.deepEqual(
    lag.partitions.map((p) => [p.partition, p.committedOffset, p.logEndOffset, p.lag, p.clientId]),
    [
      [0, 6n, 10n, 4n, 'lagger'],
      [1, null, 4n, null, 'lagger'],
    ],
  );
  assert.equal(lag.totalLag, 4n);
  assert.equal(broker.coordinator.describeLag('none'), null);
  await broker.coordinator.close();
});
