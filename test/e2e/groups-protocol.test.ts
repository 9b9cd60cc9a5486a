/**
 * Consumer group APIs on the wire, with the exact error codes Kafka answers: FindCoordinator (single
 * and batched), the JoinGroup/SyncGroup/Heartbeat/LeaveGroup cycle across old and new versions,
 * OffsetCommit/OffsetFetch (simple groups, metadata, unknown partitions, multi-group fetch), and the
 * administrative DescribeGroups, ListGroups, DeleteGroups and OffsetDelete.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { GROUP_OPERATIONS } from '../../src/cluster/authorized-operations.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';

let broker: TestBroker;
let client: WireClient;

before(async () => {
  broker = await startTestBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 1000 });
  client = await WireClient.connect(broker.port);
  for (const [name, partitions] of [['orders', 3], ['audit', 1]] as const) {
    const response = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assert.equal(response.topics[0].errorCode, ErrorCode.NONE);
  }
});

after(async () => {
  client.close();
  await broker.shutdown();
});

/** A consumer-protocol subscription (v0) to `topics`. */
function subscription(...topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1]!.writeInt32BE(topics.length);
  for (const topic of topics) {
    const name = Buffer.from(topic);
    const length = Buffer.alloc(2);
    length.writeInt16BE(name.length);
    parts.push(length, name);
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff])); // userData null
  return Buffer.concat(parts);
}

function joinBody(groupId: string, memberId = '', extra: Record<string, unknown> = {}) {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription('orders') }],
    reason: null,
    ...extra,
  };
}

async function joinAndSync(connection: WireClient, groupId: string, version = 7) {
  const first = await connection.request(ApiKey.JoinGroup, version, joinBody(groupId));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const joined = await connection.request(ApiKey.JoinGroup, version, joinBody(groupId, first.memberId));
  assert.equal(joined.errorCode, ErrorCode.NONE);
  const synced = await connection.request(ApiKey.SyncGroup, 5, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: joined.protocolName,
    assignments: joined.leader === joined.memberId ? [{ memberId: joined.memberId, assignment: Buffer.from('all-mine') }] : [],
  });
  assert.equal(synced.errorCode, ErrorCode.NONE);
  return { ...joined, assignment: synced.assignment as Buffer };
}

test('FindCoordinator: this broker for groups, batched keys, no transaction coordinator yet', async () => {
  const v0 = await client.request(ApiKey.FindCoordinator, 0, { key: 'any-group' });
  assert.deepEqual([v0.errorCode, v0.nodeId, v0.host, v0.port], [ErrorCode.NONE, broker.nodeId, '127.0.0.1', broker.port]);
  const txn = await client.request(ApiKey.FindCoordinator, 3, { key: 'txn-1', keyType: 1 });
  assert.equal(txn.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.match(txn.errorMessage, /transactions/);
  const batched = await client.request(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b', ''] });
  assert.deepEqual(
    batched.coordinators.map((c: { key: string; nodeId: number; port: number; errorCode: number }) => [c.key, c.nodeId, c.port, c.errorCode]),
    [
      ['a', broker.nodeId, broker.port, ErrorCode.NONE],
      ['b', broker.nodeId, broker.port, ErrorCode.NONE],
      ['', broker.nodeId, broker.port, ErrorCode.NONE],
    ],
  );
  const unknownType = await client.request(ApiKey.FindCoordinator, 6, { keyType: 7, coordinatorKeys: ['x'] });
  assert.equal(unknownType.coordinators[0].errorCode, ErrorCode.INVALID_REQUEST);

  // The offsets topic now exists, flagged internal in Metadata.
  const metadata = await client.request(ApiKey.Metadata, 12, { topics: [{ name: '__consumer_offsets', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.equal(metadata.topics[0].errorCode, ErrorCode.NONE);
  assert.equal(metadata.topics[0].isInternal, true);
});

test('JoinGroup v4+: MEMBER_ID_REQUIRED first, then the rejoin with the given id joins', async () => {
  const first = await client.request(ApiKey.JoinGroup, 5, joinBody('mir', '', { groupInstanceId: null }));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^wire-test-[0-9a-f-]{36}$/, 'the member id starts with the client id');
  assert.equal(first.generationId, -1);
  const joined = await client.request(ApiKey.JoinGroup, 5, joinBody('mir', first.memberId));
  assert.equal(joined.errorCode, ErrorCode.NONE);
  assert.equal(joined.memberId, first.memberId);
  assert.equal(joined.leader, first.memberId);
  assert.equal(joined.generationId, 1);
  assert.equal(joined.protocolName, 'range');
  assert.deepEqual(joined.members.map((m: { memberId: string }) => m.memberId), [first.memberId]);
  assert.deepEqual(joined.members[0].metadata, subscription('orders'));
});

test('old JoinGroup versions (v0-v3, as kafka-python) join without MEMBER_ID_REQUIRED', async () => {
  for (const version of [0, 1, 2, 3]) {
    const groupId = `old-join-v${version}`;
    const joined = await client.request(ApiKey.JoinGroup, version, joinBody(groupId));
    assert.equal(joined.errorCode, ErrorCode.NONE, `v${version}`);
    assert.equal(joined.leader, joined.memberId);
    const synced = await client.request(ApiKey.SyncGroup, version >= 1 ? 1 : 0, {
      groupId,
      generationId: joined.generationId,
      memberId: joined.memberId,
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from('x') }],
    });
    assert.deepEqual(synced.assignment, Buffer.from('x'));
    const heartbeat = await client.request(ApiKey.Heartbeat, version >= 1 ? 1 : 0, { groupId, generationId: joined.generationId, memberId: joined.memberId });
    assert.equal(heartbeat.errorCode, ErrorCode.NONE);
    const left = await client.request(ApiKey.LeaveGroup, version >= 1 ? 1 : 0, { groupId, memberId: joined.memberId });
    assert.equal(left.errorCode, ErrorCode.NONE);
  }
});

test('heartbeat and sync checks: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS', async () => {
  const other = await WireClient.connect(broker.port);
  try {
    const a = await joinAndSync(client, 'checks');
    assert.deepEqual(a.assignment, Buffer.from('all-mine'));
    const heartbeat = (generationId: number, memberId: string, connection = client) =>
      connection.request(ApiKey.Heartbeat, 4, { groupId: 'checks', generationId, memberId, groupInstanceId: null }).then((r) => r.errorCode);
    assert.equal(await heartbeat(a.generationId, a.memberId), ErrorCode.NONE);
    assert.equal(await heartbeat(a.generationId + 1, a.memberId), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(await heartbeat(a.generationId, 'nobody'), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(
      (await client.request(ApiKey.Heartbeat, 4, { groupId: '', generationId: 1, memberId: 'x', groupInstanceId: null })).errorCode,
      ErrorCode.INVALID_GROUP_ID,
    );
    const staleSync = await client.request(ApiKey.SyncGroup, 5, { groupId: 'checks', generationId: a.generationId - 1, memberId: a.memberId, assignments: [] });
    assert.equal(staleSync.errorCode, ErrorCode.ILLEGAL_GENERATION);

    // A second member arrives (on its own connection): the first learns from its heartbeat.
    const firstB = await other.request(ApiKey.JoinGroup, 9, joinBody('checks'));
    const joinB = other.request(ApiKey.JoinGroup, 9, joinBody('checks', firstB.memberId));
    let seen: number = ErrorCode.NONE;
    for (let i = 0; i < 100 && seen !== ErrorCode.REBALANCE_IN_PROGRESS; i++) {
      seen = await heartbeat(a.generationId, a.memberId);
      if (seen !== ErrorCode.REBALANCE_IN_PROGRESS) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(seen, ErrorCode.REBALANCE_IN_PROGRESS);
    const syncDuringRebalance = await client.request(ApiKey.SyncGroup, 5, { groupId: 'checks', generationId: a.generationId, memberId: a.memberId, assignments: [] });
    assert.equal(syncDuringRebalance.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoinA = await client.request(ApiKey.JoinGroup, 7, joinBody('checks', a.memberId));
    const joinedB = await joinB;
    assert.equal(rejoinA.generationId, a.generationId + 1);
    assert.equal(joinedB.generationId, a.generationId + 1);
    assert.equal(rejoinA.leader, a.memberId, 'the leader stays the leader');
    assert.equal(rejoinA.members.length, 2);
    assert.equal(joinedB.members.length, 0);
    assert.equal(joinedB.protocolType, 'consumer', 'v7+ names the protocol type');

    // LeaveGroup v3+ batches members and reports each.
    const left = await client.request(ApiKey.LeaveGroup, 5, {
      groupId: 'checks',
      members: [
        { memberId: a.memberId, groupInstanceId: null, reason: 'test' },
        { memberId: joinedB.memberId, groupInstanceId: null, reason: null },
        { memberId: 'ghost', groupInstanceId: null, reason: null },
      ],
    });
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.deepEqual(left.members.map((m: { errorCode: number }) => m.errorCode), [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  } finally {
    other.close();
  }
});

test('JoinGroup errors: INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID, UNKNOWN_MEMBER_ID, INCONSISTENT_GROUP_PROTOCOL', async () => {
  assert.equal((await client.request(ApiKey.JoinGroup, 7, joinBody('timeouts', '', { sessionTimeoutMs: 999 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await client.request(ApiKey.JoinGroup, 7, joinBody('timeouts', '', { sessionTimeoutMs: 1_800_001 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  assert.equal((await client.request(ApiKey.JoinGroup, 7, joinBody(''))).errorCode, ErrorCode.INVALID_GROUP_ID);
  assert.equal((await client.request(ApiKey.JoinGroup, 7, joinBody('never-seen', 'made-up'))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  await joinAndSync(client, 'protocols');
  // A member sharing no protocol with the group is refused before it gets a member id.
  const refused = await client.request(ApiKey.JoinGroup, 5, joinBody('protocols', '', { protocols: [{ name: 'roundrobin', metadata: subscription('orders') }] }));
  assert.equal(refused.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const otherType = await client.request(ApiKey.JoinGroup, 5, joinBody('protocols', '', { protocolType: 'connect' }));
  assert.equal(otherType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('OffsetCommit / OffsetFetch: simple groups, metadata round trip, unknown partitions, every version', async () => {
  // v0 (no generation, no member): a simple group.
  const v0 = await client.request(ApiKey.OffsetCommit, 0, {
    groupId: 'simple',
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 11n, committedMetadata: 'from v0' }] }],
  });
  assert.equal(v0.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  // v2 with a retention time, v8 with generation -1 and an empty member id, and unknown partitions.
  const v2 = await client.request(ApiKey.OffsetCommit, 2, {
    groupId: 'simple',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    retentionTimeMs: 86_400_000n,
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, committedOffset: 22n, committedMetadata: null }] }],
  });
  assert.equal(v2.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  const v8 = await client.request(ApiKey.OffsetCommit, 8, {
    groupId: 'simple',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      { name: 'orders', partitions: [{ partitionIndex: 2, committedOffset: 33n, committedLeaderEpoch: 0, committedMetadata: '{"host":"a"}' }, { partitionIndex: 9, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] },
      { name: 'no-such-topic', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] },
    ],
  });
  assert.deepEqual(
    v8.topics.map((t: { partitions: Array<{ errorCode: number }> }) => t.partitions.map((p) => p.errorCode)),
    [[ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
  );
  const tooLong = await client.request(ApiKey.OffsetCommit, 8, {
    groupId: 'simple',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: 'x'.repeat(5000) }] }],
  });
  assert.equal(tooLong.topics[0].partitions[0].errorCode, ErrorCode.OFFSET_METADATA_TOO_LARGE);

  // v1 fetch (kafka-python): committed offsets, -1 for a partition without one and for unknown topics.
  const v1 = await client.request(ApiKey.OffsetFetch, 1, {
    groupId: 'simple',
    topics: [{ name: 'orders', partitionIndexes: [0, 1, 2] }, { name: 'no-such-topic', partitionIndexes: [0] }],
  });
  assert.deepEqual(
    v1.topics.map((t: { name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; metadata: string; errorCode: number }> }) => [
      t.name,
      t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode]),
    ]),
    [
      ['orders', [[0, 11n, 'from v0', 0], [1, 22n, '', 0], [2, 33n, '{"host":"a"}', 0]]],
      ['no-such-topic', [[0, -1n, '', 0]]],
    ],
  );
  // v5 carries the leader epoch; v2+ with topics null lists everything committed.
  const all = await client.request(ApiKey.OffsetFetch, 5, { groupId: 'simple', topics: null });
  assert.equal(all.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    all.topics[0].partitions.map((p: { partitionIndex: number; committedLeaderEpoch: number }) => [p.partitionIndex, p.committedLeaderEpoch]),
    [[0, -1], [1, -1], [2, 0]],
  );
  // v8+ fetches several groups at once; an unknown group has nothing committed.
  const multi = await client.request(ApiKey.OffsetFetch, 8, {
    groups: [
      { groupId: 'simple', topics: [{ name: 'orders', partitionIndexes: [2] }] },
      { groupId: 'unknown-group', topics: [{ name: 'orders', partitionIndexes: [0] }] },
      { groupId: 'simple', topics: null },
    ],
    requireStable: true,
  });
  assert.deepEqual(
    multi.groups.map((g: { groupId: string; errorCode: number; topics: Array<{ partitions: Array<{ committedOffset: bigint }> }> }) => [
      g.groupId,
      g.errorCode,
      g.topics.flatMap((t) => t.partitions.map((p) => p.committedOffset)),
    ]),
    [
      ['simple', 0, [33n]],
      ['unknown-group', 0, [-1n]],
      ['simple', 0, [11n, 22n, 33n]],
    ],
  );
});

test('OffsetCommit by group members: generation and member checks', async () => {
  const member = await joinAndSync(client, 'committers');
  const commit = (generationIdOrMemberEpoch: number, memberId: string) =>
    client
      .request(ApiKey.OffsetCommit, 7, {
        groupId: 'committers',
        generationIdOrMemberEpoch,
        memberId,
        groupInstanceId: null,
        topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedLeaderEpoch: -1, committedMetadata: null }] }],
      })
      .then((r) => r.topics[0].partitions[0].errorCode);
  assert.equal(await commit(member.generationId, member.memberId), ErrorCode.NONE);
  assert.equal(await commit(member.generationId + 1, member.memberId), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(await commit(member.generationId, 'intruder'), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(await commit(-1, ''), ErrorCode.UNKNOWN_MEMBER_ID, 'a group with members takes commits from members only');
  const noGroup = await client.request(ApiKey.OffsetCommit, 7, {
    groupId: 'group-that-never-was',
    generationIdOrMemberEpoch: 4,
    memberId: 'm',
    topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: null }] }],
  });
  assert.equal(noGroup.topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
});

test('DescribeGroups, ListGroups (state and type filters), DeleteGroups, OffsetDelete', async () => {
  const member = await joinAndSync(client, 'admin-busy');
  await client.request(ApiKey.OffsetCommit, 8, {
    groupId: 'admin-busy',
    generationIdOrMemberEpoch: member.generationId,
    memberId: member.memberId,
    topics: [
      { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] },
      { name: 'audit', partitions: [{ partitionIndex: 0, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: null }] },
    ],
  });
  await client.request(ApiKey.OffsetCommit, 8, {
    groupId: 'admin-simple',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    topics: [{ name: 'audit', partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });

  const described = await client.request(ApiKey.DescribeGroups, 5, { groups: ['admin-busy', 'admin-simple', 'admin-unknown'], includeAuthorizedOperations: true });
  const [busy, simple, unknown] = described.groups;
  assert.deepEqual([busy.errorCode, busy.groupState, busy.protocolType, busy.protocolData], [ErrorCode.NONE, 'Stable', 'consumer', 'range']);
  assert.equal(busy.members.length, 1);
  assert.equal(busy.members[0].memberId, member.memberId);
  assert.equal(busy.members[0].clientId, 'wire-test');
  assert.equal(busy.members[0].clientHost, '/127.0.0.1');
  assert.deepEqual(busy.members[0].memberMetadata, subscription('orders'));
  assert.deepEqual(busy.members[0].memberAssignment, Buffer.from('all-mine'));
  assert.equal(busy.authorizedOperations, GROUP_OPERATIONS);
  assert.deepEqual([simple.groupState, simple.protocolType, simple.members.length], ['Empty', '', 0]);
  assert.deepEqual([unknown.errorCode, unknown.groupState], [ErrorCode.NONE, 'Dead']);

  const listed = await client.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
  const byId = new Map(listed.groups.map((g: { groupId: string }) => [g.groupId, g]));
  assert.deepEqual(byId.get('admin-busy'), { groupId: 'admin-busy', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' });
  assert.deepEqual(byId.get('admin-simple'), { groupId: 'admin-simple', protocolType: '', groupState: 'Empty', groupType: 'classic' });
  const stable = await client.request(ApiKey.ListGroups, 4, { statesFilter: ['STABLE'] });
  assert.ok(stable.groups.every((g: { groupState: string }) => g.groupState === 'Stable'));
  assert.ok(stable.groups.some((g: { groupId: string }) => g.groupId === 'admin-busy'));
  assert.deepEqual((await client.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] })).groups, []);
  const v0 = await client.request(ApiKey.ListGroups, 0, {});
  assert.ok(v0.groups.some((g: { groupId: string; protocolType: string }) => g.groupId === 'admin-simple' && g.protocolType === ''));

  const deleted = await client.request(ApiKey.DeleteGroups, 2, { groupsNames: ['admin-busy', 'admin-simple', 'admin-unknown'] });
  assert.deepEqual(
    deleted.results.map((r: { groupId: string; errorCode: number }) => [r.groupId, r.errorCode]),
    [
      ['admin-busy', ErrorCode.NON_EMPTY_GROUP],
      ['admin-simple', ErrorCode.NONE],
      ['admin-unknown', ErrorCode.GROUP_ID_NOT_FOUND],
    ],
  );
  const afterDelete = await client.request(ApiKey.OffsetFetch, 5, { groupId: 'admin-simple', topics: null });
  assert.deepEqual(afterDelete.topics, []);

  const offsetDelete = await client.request(ApiKey.OffsetDelete, 0, {
    groupId: 'admin-busy',
    topics: [
      { name: 'orders', partitions: [{ partitionIndex: 0 }] },
      { name: 'audit', partitions: [{ partitionIndex: 0 }] },
      { name: 'no-such-topic', partitions: [{ partitionIndex: 0 }] },
    ],
  });
  assert.equal(offsetDelete.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    offsetDelete.topics.map((t: { name: string; partitions: Array<{ errorCode: number }> }) => [t.name, t.partitions[0]!.errorCode]),
    [
      ['orders', ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
      ['audit', ErrorCode.NONE],
      ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ],
  );
  const remaining = await client.request(ApiKey.OffsetFetch, 5, { groupId: 'admin-busy', topics: null });
  assert.deepEqual(remaining.topics.map((t: { name: string }) => t.name), ['orders']);
  assert.equal((await client.request(ApiKey.OffsetDelete, 0, { groupId: 'admin-unknown', topics: [] })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  assert.equal((await client.request(ApiKey.OffsetDelete, 0, { groupId: '', topics: [] })).errorCode, ErrorCode.INVALID_GROUP_ID);

  // Once the member leaves the group is Empty and can be deleted.
  await client.request(ApiKey.LeaveGroup, 2, { groupId: 'admin-busy', memberId: member.memberId });
  const emptied = await client.request(ApiKey.DescribeGroups, 0, { groups: ['admin-busy'] });
  assert.equal(emptied.groups[0].groupState, 'Empty');
  const deleteAgain = await client.request(ApiKey.DeleteGroups, 0, { groupsNames: ['admin-busy'] });
  assert.equal(deleteAgain.results[0].errorCode, ErrorCode.NONE);
  assert.equal((await client.request(ApiKey.DescribeGroups, 1, { groups: ['admin-busy'] })).groups[0].groupState, 'Dead');
});

test('static membership on the wire: a restarted instance keeps its assignment without a rebalance', async () => {
  const body = (memberId = '') => joinBody('statics', memberId, { groupInstanceId: 'instance-1' });
  const joined = await client.request(ApiKey.JoinGroup, 7, body());
  assert.equal(joined.errorCode, ErrorCode.NONE);
  await client.request(ApiKey.SyncGroup, 5, {
    groupId: 'statics',
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: 'instance-1',
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from('kept') }],
  });
  const restarted = await client.request(ApiKey.JoinGroup, 7, body());
  assert.equal(restarted.errorCode, ErrorCode.NONE);
  assert.notEqual(restarted.memberId, joined.memberId);
  assert.equal(restarted.generationId, joined.generationId);
  const synced = await client.request(ApiKey.SyncGroup, 5, {
    groupId: 'statics',
    generationId: restarted.generationId,
    memberId: restarted.memberId,
    groupInstanceId: 'instance-1',
    assignments: [],
  });
  assert.deepEqual(synced.assignment, Buffer.from('kept'));
  const fenced = await client.request(ApiKey.Heartbeat, 4, { groupId: 'statics', generationId: joined.generationId, memberId: joined.memberId, groupInstanceId: 'instance-1' });
  assert.equal(fenced.errorCode, ErrorCode.FENCED_INSTANCE_ID);
});

test('deleting a topic removes its committed offsets, so a topic recreated under the name starts clean', async () => {
  const create = () =>
    client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'recreated', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
  const fetchCommitted = async () => {
    const response = await client.request(ApiKey.OffsetFetch, 5, { groupId: 'recreator', topics: [{ name: 'recreated', partitionIndexes: [0] }] });
    return response.topics[0].partitions[0].committedOffset as bigint;
  };
  assert.equal((await create()).topics[0].errorCode, ErrorCode.NONE);
  const committed = await client.request(ApiKey.OffsetCommit, 8, {
    groupId: 'recreator',
    generationIdOrMemberEpoch: -1,
    memberId: '',
    topics: [{ name: 'recreated', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
  assert.equal(committed.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.equal(await fetchCommitted(), 42n);

  const deleted = await client.request(ApiKey.DeleteTopics, 6, { topics: [{ name: 'recreated', topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 5000 });
  assert.equal(deleted.responses[0].errorCode, ErrorCode.NONE);
  assert.equal((await create()).topics[0].errorCode, ErrorCode.NONE);
  assert.equal(await fetchCommitted(), -1n);
});

test('the partitions of __consumer_offsets cannot be changed, nor the topic deleted or written by clients', async () => {
  const grow = await client.request(ApiKey.CreatePartitions, 3, {
    topics: [{ name: '__consumer_offsets', count: 10, assignments: null }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  assert.equal(grow.results[0].errorCode, ErrorCode.INVALID_REQUEST);
  const deleted = await client.request(ApiKey.DeleteTopics, 5, { topicNames: ['__consumer_offsets'], timeoutMs: 5000 });
  assert.equal(deleted.responses[0].errorCode, ErrorCode.TOPIC_DELETION_DISABLED);
  const produced = await client.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: '__consumer_offsets', partitionData: [{ index: 0, records: Buffer.alloc(0) }] }],
  });
  assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
});
