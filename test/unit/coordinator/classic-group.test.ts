/**
 * The classic group state machine, driven with a manual clock: joins and MEMBER_ID_REQUIRED,
 * protocol selection, generation and member checks, the initial delay, session and rebalance
 * timeouts, SyncGroup deadlines, static membership, leaving, and offset commit rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClassicGroup, type JoinGroupResult, type SyncGroupResult } from '../../../src/coordinator/group/classic-group.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { joinParams, protocols, settle, testEnv, type TestEnv } from './helpers.js';

/** Tracks whether a promise settled, so tests can assert that a request is still waiting. */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; done: () => boolean } {
  let settled = false;
  void promise.then(() => (settled = true));
  return { promise, done: () => settled };
}

async function advance(env: TestEnv, ms: number): Promise<void> {
  env.clock.advance(ms);
  await settle();
}

function sync(group: ClassicGroup, join: JoinGroupResult, assignments = new Map<string, Buffer>(), instanceId: string | null = null): Promise<SyncGroupResult> {
  return group.sync({
    memberId: join.memberId,
    groupInstanceId: instanceId,
    generationId: join.generationId,
    protocolType: null,
    protocolName: null,
    assignments,
  });
}

/** Brings `clients` (dynamic members, in order) into a Stable group; the leader assigns `assign-<clientId>`. */
async function stableGroup(env: TestEnv, clients: string[], overrides: Parameters<typeof joinParams>[0] = {}) {
  const group = new ClassicGroup('g', env);
  const joins: Array<Promise<JoinGroupResult>> = [];
  for (const clientId of clients) {
    const first = await group.join(joinParams({ clientId, ...overrides }));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    joins.push(group.join(joinParams({ clientId, memberId: first.memberId, ...overrides })));
  }
  const all = watch(Promise.all(joins));
  for (let i = 0; i < 10 && !all.done(); i++) await advance(env, env.initialRebalanceDelayMs);
  const results = await all.promise;
  const leader = results[0]!.leaderId;
  const assignments = new Map(results.map((r, i) => [r.memberId, Buffer.from(`assign-${clients[i]}`)] as const));
  const syncs = results.map((r) => sync(group, r, r.memberId === leader ? assignments : new Map()));
  await settle();
  const synced = await Promise.all(syncs);
  assert.equal(group.state, 'Stable');
  return { group, results, synced, leader, ids: results.map((r) => r.memberId), generation: results[0]!.generationId };
}

test('first join without member id gets MEMBER_ID_REQUIRED, the rejoin completes after the initial delay', async () => {
  const env = testEnv(3000);
  const group = new ClassicGroup('g', env);
  const first = await group.join(joinParams({ clientId: 'app' }));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.match(first.memberId, /^app-[0-9a-f-]{36}$/);
  assert.equal(first.generationId, -1);
  assert.equal(group.state, 'Empty');
  assert.equal(group.isPendingMember(first.memberId), true);

  const join = watch(group.join(joinParams({ clientId: 'app', memberId: first.memberId })));
  assert.equal(group.state, 'PreparingRebalance');
  await advance(env, 2999);
  assert.equal(join.done(), false, 'the initial delay has not passed');
  await advance(env, 1);
  const result = await join.promise;
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.equal(result.generationId, 1);
  assert.equal(result.leaderId, first.memberId);
  assert.equal(result.protocolName, 'range');
  assert.equal(result.protocolType, 'consumer');
  assert.deepEqual(result.members.map((m) => m.memberId), [first.memberId]);
  assert.deepEqual(result.members[0]!.metadata, Buffer.from('meta-range'));
  assert.equal(group.state, 'CompletingRebalance');

  const synced = sync(group, result, new Map([[first.memberId, Buffer.from('A')]]));
  await settle();
  assert.deepEqual(await synced, { errorCode: ErrorCode.NONE, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('A') });
  assert.equal(group.state, 'Stable');
  assert.equal(env.stored.length, 1, 'the completed rebalance is persisted');
  assert.equal(env.stored[0]!.members[0]!.memberId, first.memberId);
  assert.deepEqual(env.stored[0]!.members[0]!.assignment, Buffer.from('A'));
});

test('JoinGroup before v4 joins directly without MEMBER_ID_REQUIRED', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const join = group.join(joinParams({ requireKnownMemberId: false }));
  await advance(env, 0);
  const result = await join;
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.equal(result.leaderId, result.memberId);
});

test('the initial delay is extended while new members keep arriving, up to the rebalance timeout', async () => {
  const env = testEnv(3000);
  const group = new ClassicGroup('g', env);
  const a = await group.join(joinParams({ clientId: 'a' }));
  const joinA = watch(group.join(joinParams({ clientId: 'a', memberId: a.memberId })));
  await advance(env, 2000);
  const b = await group.join(joinParams({ clientId: 'b' }));
  const joinB = watch(group.join(joinParams({ clientId: 'b', memberId: b.memberId })));
  await advance(env, 1000); // t=3000: b arrived during the delay, so it is extended by 3000
  assert.equal(joinA.done(), false);
  await advance(env, 3000); // t=6000
  const [resultA, resultB] = await Promise.all([joinA.promise, joinB.promise]);
  assert.equal(resultA.generationId, 1);
  assert.equal(resultB.generationId, 1);
  assert.equal(resultA.members.length, 2, 'the leader sees both members');
  assert.equal(resultB.members.length, 0, 'followers get no member list');
  assert.equal(resultB.leaderId, a.memberId);
});

test('protocol selection: only protocols every member supports, by the members\' preference votes', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const joins = [
    group.join(joinParams({ requireKnownMemberId: false, protocols: protocols('range', 'roundrobin', 'sticky') })),
    group.join(joinParams({ requireKnownMemberId: false, protocols: protocols('roundrobin', 'range') })),
    group.join(joinParams({ requireKnownMemberId: false, protocols: protocols('sticky', 'roundrobin', 'range') })),
  ];
  // sticky is not supported by the second member: candidates are range and roundrobin; votes
  // range 1 (first), roundrobin 2 (second, and third whose favourite is not a candidate).
  await advance(env, 0);
  const results = await Promise.all(joins);
  for (const result of results) assert.equal(result.protocolName, 'roundrobin');
  const leader = results.find((r) => r.memberId === r.leaderId)!;
  assert.deepEqual(
    leader.members.map((m) => m.metadata.toString()),
    ['meta-roundrobin', 'meta-roundrobin', 'meta-roundrobin'],
    'the leader receives every member\'s metadata for the selected protocol',
  );

  // A member sharing no protocol with the group, or of another protocol type, is refused.
  const stranger = await group.join(joinParams({ requireKnownMemberId: false, protocols: protocols('cooperative-sticky') }));
  assert.equal(stranger.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const connect = await group.join(joinParams({ requireKnownMemberId: false, protocolType: 'connect', protocols: protocols('range') }));
  assert.equal(connect.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  // An empty group refuses an empty protocol type or protocol list.
  const empty = new ClassicGroup('e', env);
  assert.equal((await empty.join(joinParams({ protocolType: '' }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await empty.join(joinParams({ protocols: [] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
});

test('generation and member checks: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS', async () => {
  const env = testEnv(0);
  const { group, ids, generation } = await stableGroup(env, ['a', 'b']);
  const [a, b] = ids as [string, string];
  assert.equal(group.heartbeat(a, null, generation), ErrorCode.NONE);
  assert.equal(group.heartbeat(a, null, generation - 1), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(group.heartbeat('nobody', null, generation), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal((await group.sync({ memberId: a, groupInstanceId: null, generationId: generation + 1, protocolType: null, protocolName: null, assignments: new Map() })).errorCode, ErrorCode.ILLEGAL_GENERATION);
  assert.equal((await group.sync({ memberId: a, groupInstanceId: null, generationId: generation, protocolType: 'connect', protocolName: null, assignments: new Map() })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  assert.equal((await group.sync({ memberId: a, groupInstanceId: null, generationId: generation, protocolType: 'consumer', protocolName: 'other', assignments: new Map() })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  // A Stable follower syncing again gets its assignment back.
  const again = await group.sync({ memberId: b, groupInstanceId: null, generationId: generation, protocolType: 'consumer', protocolName: 'range', assignments: new Map() });
  assert.deepEqual(again.assignment, Buffer.from('assign-b'));

  // A follower rejoining with the same metadata in Stable does not start a rebalance...
  const same = await group.join(joinParams({ clientId: 'b', memberId: b }));
  assert.equal(same.errorCode, ErrorCode.NONE);
  assert.equal(same.generationId, generation);
  assert.equal(group.state, 'Stable');
  // ...with changed metadata it does; heartbeats then say REBALANCE_IN_PROGRESS.
  const changed = watch(group.join(joinParams({ clientId: 'b', memberId: b, protocols: [{ name: 'range', metadata: Buffer.from('new') }] })));
  assert.equal(group.state, 'PreparingRebalance');
  assert.equal(group.heartbeat(a, null, generation), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal((await sync(group, { ...same, memberId: a })).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  const rejoinA = group.join(joinParams({ clientId: 'a', memberId: a }));
  const [resultB, resultA] = await Promise.all([changed.promise, rejoinA]);
  assert.equal(resultA.generationId, generation + 1);
  assert.equal(resultB.generationId, generation + 1);
  assert.equal(group.heartbeat(a, null, generation), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(group.heartbeat(a, null, generation + 1), ErrorCode.NONE, 'heartbeats are fine while completing the rebalance');
});

test('a member whose session expires is removed and the others rebalance without it', async () => {
  const env = testEnv(0);
  const { group, ids, generation } = await stableGroup(env, ['a', 'b']);
  const [a, b] = ids as [string, string];
  for (let t = 0; t < 2; t++) {
    await advance(env, 2000);
    assert.equal(group.heartbeat(a, null, generation), ErrorCode.NONE);
  }
  await advance(env, 3000);
  // 7 s without a heartbeat from b (session timeout 6 s): b is gone.
  assert.equal(group.has(b), false);
  assert.equal(group.state, 'PreparingRebalance');
  assert.equal(group.heartbeat(a, null, generation), ErrorCode.REBALANCE_IN_PROGRESS);
  assert.equal(group.heartbeat(b, null, generation), ErrorCode.UNKNOWN_MEMBER_ID);
  // a is the only member left, so its rejoin completes the rebalance at once.
  const result = await group.join(joinParams({ clientId: 'a', memberId: a }));
  assert.equal(result.generationId, generation + 1);
  assert.deepEqual(result.members.map((m) => m.memberId), [a]);
});

test('the rebalance timeout removes dynamic members that did not rejoin', async () => {
  const env = testEnv(0);
  const { group, ids, generation } = await stableGroup(env, ['a', 'b'], { rebalanceTimeoutMs: 8000 });
  const [a, b] = ids as [string, string];
  const rejoin = watch(group.join(joinParams({ clientId: 'a', memberId: a, rebalanceTimeoutMs: 8000, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] })));
  // b keeps heartbeating but never rejoins.
  for (let t = 0; t < 2; t++) {
    await advance(env, 3000);
    assert.equal(group.heartbeat(b, null, generation), ErrorCode.REBALANCE_IN_PROGRESS);
  }
  assert.equal(rejoin.done(), false);
  await advance(env, 2000);
  const result = await rejoin.promise;
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.equal(result.generationId, generation + 1);
  assert.deepEqual(result.members.map((m) => m.memberId), [a]);
  assert.equal(group.has(b), false);
  assert.equal(group.heartbeat(b, null, generation), ErrorCode.UNKNOWN_MEMBER_ID);
});

test('when the leader does not rejoin, a member that did becomes leader', async () => {
  const env = testEnv(0);
  const { group, ids, leader } = await stableGroup(env, ['a', 'b']);
  const follower = ids.find((id) => id !== leader)!;
  const rejoin = group.join(joinParams({ clientId: 'b', memberId: follower, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] }));
  await advance(env, 10_000);
  const result = await rejoin;
  assert.equal(result.leaderId, follower);
  assert.equal(result.members.length, 1);
});

test('members that do not send SyncGroup in time are removed and the group rebalances', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const joins = [
    group.join(joinParams({ clientId: 'a', requireKnownMemberId: false, rebalanceTimeoutMs: 5000 })),
    group.join(joinParams({ clientId: 'b', requireKnownMemberId: false, rebalanceTimeoutMs: 5000 })),
  ];
  await advance(env, 0);
  const [a, b] = await Promise.all(joins);
  const leaderResult = [a!, b!].find((r) => r.memberId === r.leaderId)!;
  const lazy = [a!, b!].find((r) => r !== leaderResult)!;
  const leaderSync = sync(group, leaderResult, new Map([[leaderResult.memberId, Buffer.from('L')], [lazy.memberId, Buffer.from('F')]]));
  await settle();
  assert.equal((await leaderSync).errorCode, ErrorCode.NONE);
  assert.equal(group.state, 'Stable');
  await advance(env, 5000); // the rebalance timeout passes without the follower's SyncGroup
  assert.equal(group.has(lazy.memberId), false);
  assert.equal(group.state, 'PreparingRebalance');
});

test('LeaveGroup: a leaving member triggers a rebalance; the last one leaves the group Empty and persisted', async () => {
  const env = testEnv(0);
  const { group, ids, generation } = await stableGroup(env, ['a', 'b']);
  const [a, b] = ids as [string, string];
  assert.deepEqual(group.leave([{ memberId: 'nobody', groupInstanceId: null, reason: null }]), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.deepEqual(group.leave([{ memberId: b, groupInstanceId: null, reason: 'shutting down' }]), [ErrorCode.NONE]);
  assert.equal(group.state, 'PreparingRebalance');
  const rejoin = await group.join(joinParams({ clientId: 'a', memberId: a }));
  assert.equal(rejoin.generationId, generation + 1);
  const storedBefore = env.stored.length;
  assert.deepEqual(group.leave([{ memberId: a, groupInstanceId: null, reason: null }]), [ErrorCode.NONE]);
  assert.equal(group.state, 'Empty');
  assert.equal(group.generationId, generation + 2);
  await settle();
  const last = env.stored[env.stored.length - 1]!;
  assert.equal(env.stored.length, storedBefore + 1);
  assert.deepEqual(last.members, []);
  assert.equal(last.protocol, null);
  assert.equal(last.protocolType, 'consumer', 'an empty group keeps its protocol type');
  assert.equal(group.heartbeat(a, null, generation + 1), ErrorCode.UNKNOWN_MEMBER_ID);
});

test('a pending member (MEMBER_ID_REQUIRED) that never rejoins does not hold up the rebalance beyond its session', async () => {
  const env = testEnv(0);
  const { group, ids, generation } = await stableGroup(env, ['a']);
  const newcomer = await group.join(joinParams({ clientId: 'late' }));
  assert.equal(newcomer.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const rejoin = watch(group.join(joinParams({ clientId: 'a', memberId: ids[0]!, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] })));
  await advance(env, 0);
  assert.equal(rejoin.done(), false, 'waiting for the pending member');
  await advance(env, 6000); // its session timeout
  const result = await rejoin.promise;
  assert.equal(result.generationId, generation + 1);
  assert.equal(group.isPendingMember(newcomer.memberId), false);
});

test('static membership: a restarted instance gets its assignment back without a rebalance; the old id is fenced', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const joins = [
    group.join(joinParams({ clientId: 'a', groupInstanceId: 'instance-a' })),
    group.join(joinParams({ clientId: 'b', groupInstanceId: 'instance-b' })),
  ];
  await advance(env, 0);
  const [a, b] = (await Promise.all(joins)) as [JoinGroupResult, JoinGroupResult];
  assert.equal(a.errorCode, ErrorCode.NONE, 'static members skip MEMBER_ID_REQUIRED');
  assert.match(a.memberId, /^instance-a-/);
  const leaderSync = sync(group, a, new Map([[a.memberId, Buffer.from('A')], [b.memberId, Buffer.from('B')]]), 'instance-a');
  const followerSync = sync(group, b, new Map(), 'instance-b');
  await settle();
  assert.deepEqual((await followerSync).assignment, Buffer.from('B'));
  assert.equal((await leaderSync).errorCode, ErrorCode.NONE);
  const generation = group.generationId;

  // instance-b restarts: same instance id, no member id.
  const storedBefore = env.stored.length;
  const restarted = group.join(joinParams({ clientId: 'b', groupInstanceId: 'instance-b' }));
  await settle();
  const rejoined = await restarted;
  assert.equal(rejoined.errorCode, ErrorCode.NONE);
  assert.notEqual(rejoined.memberId, b.memberId);
  assert.equal(rejoined.generationId, generation, 'no new generation');
  assert.equal(rejoined.leaderId, a.memberId);
  assert.equal(group.state, 'Stable');
  assert.equal(env.stored.length, storedBefore + 1, 'the new member id is persisted');
  const reSync = await sync(group, rejoined, new Map(), 'instance-b');
  assert.deepEqual(reSync.assignment, Buffer.from('B'), 'the stored assignment comes back');

  // The old instance is fenced everywhere.
  assert.equal(group.heartbeat(b.memberId, 'instance-b', generation), ErrorCode.FENCED_INSTANCE_ID);
  assert.equal((await sync(group, b, new Map(), 'instance-b')).errorCode, ErrorCode.FENCED_INSTANCE_ID);
  assert.equal(group.checkOffsetCommit(generation, b.memberId, 'instance-b'), ErrorCode.FENCED_INSTANCE_ID);
  assert.deepEqual(group.leave([{ memberId: b.memberId, groupInstanceId: 'instance-b', reason: null }]), [ErrorCode.FENCED_INSTANCE_ID]);
  assert.equal(group.heartbeat(rejoined.memberId, 'instance-b', generation), ErrorCode.NONE);
  assert.equal(group.heartbeat(rejoined.memberId, 'instance-x', generation), ErrorCode.UNKNOWN_MEMBER_ID);
});

test('static membership: a rejoining static leader learns it leads but skips the assignment (v9)', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const join = group.join(joinParams({ groupInstanceId: 'solo', supportSkippingAssignment: true }));
  await advance(env, 0);
  const first = await join;
  const synced = sync(group, first, new Map([[first.memberId, Buffer.from('S')]]), 'solo');
  await settle();
  await synced;
  const again = group.join(joinParams({ groupInstanceId: 'solo', supportSkippingAssignment: true }));
  await settle();
  const result = await again;
  assert.equal(result.skipAssignment, true);
  assert.equal(result.leaderId, result.memberId);
  assert.equal(result.members.length, 1);
  assert.equal(group.generationId, first.generationId);
});

test('static members are not removed by the rebalance timeout, only by their session', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const joins = [
    group.join(joinParams({ clientId: 'a', groupInstanceId: 'ia', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 5000 })),
    group.join(joinParams({ clientId: 'b', groupInstanceId: 'ib', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 5000 })),
  ];
  await advance(env, 0);
  const [a, b] = (await Promise.all(joins)) as [JoinGroupResult, JoinGroupResult];
  const syncs = [sync(group, a, new Map([[a.memberId, Buffer.from('A')], [b.memberId, Buffer.from('B')]]), 'ia'), sync(group, b, new Map(), 'ib')];
  await settle();
  await Promise.all(syncs);
  // a rejoins with new metadata; b is down (no heartbeats, no rejoin).
  const rejoin = group.join(joinParams({ clientId: 'a', groupInstanceId: 'ia', memberId: a.memberId, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 5000, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] }));
  await advance(env, 5000);
  const result = await rejoin;
  assert.equal(result.errorCode, ErrorCode.NONE);
  assert.equal(group.has(b.memberId), true, 'the static member keeps its place');
  assert.deepEqual(new Set(result.members.map((m) => m.memberId)), new Set([a.memberId, b.memberId]));
});

test('LeaveGroup by group.instance.id alone removes a static member (administrative removal)', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const join = group.join(joinParams({ groupInstanceId: 'ix' }));
  await advance(env, 0);
  await join;
  assert.deepEqual(group.leave([{ memberId: '', groupInstanceId: 'unknown', reason: null }]), [ErrorCode.UNKNOWN_MEMBER_ID]);
  assert.deepEqual(group.leave([{ memberId: '', groupInstanceId: 'ix', reason: null }]), [ErrorCode.NONE]);
  assert.equal(group.size, 0);
  assert.equal(group.state, 'Empty');
});

test('offset commit rules by state, generation and member', async () => {
  const env = testEnv(0);
  const simple = new ClassicGroup('simple', env);
  assert.equal(simple.checkOffsetCommit(-1, '', null), ErrorCode.NONE, 'a simple group commits with generation -1');
  assert.equal(simple.checkOffsetCommit(3, 'someone', null), ErrorCode.UNKNOWN_MEMBER_ID);

  const group = new ClassicGroup('g', env);
  const joins = [group.join(joinParams({ clientId: 'a', requireKnownMemberId: false })), group.join(joinParams({ clientId: 'b', requireKnownMemberId: false }))];
  await advance(env, 0);
  const [a, b] = (await Promise.all(joins)) as [JoinGroupResult, JoinGroupResult];
  assert.equal(group.state, 'CompletingRebalance');
  assert.equal(group.checkOffsetCommit(a.generationId, a.memberId, null), ErrorCode.REBALANCE_IN_PROGRESS);
  const leader = a.memberId === a.leaderId ? a : b;
  const syncs = [sync(group, leader, new Map()), sync(group, leader === a ? b : a)];
  await settle();
  await Promise.all(syncs);
  assert.equal(group.checkOffsetCommit(a.generationId, a.memberId, null), ErrorCode.NONE);
  assert.equal(group.checkOffsetCommit(a.generationId - 1, a.memberId, null), ErrorCode.ILLEGAL_GENERATION);
  assert.equal(group.checkOffsetCommit(a.generationId, 'nobody', null), ErrorCode.UNKNOWN_MEMBER_ID);
  assert.equal(group.checkOffsetCommit(-1, '', null), ErrorCode.UNKNOWN_MEMBER_ID, 'only members commit for a group with members');
  // During PreparingRebalance members may still commit.
  void group.join(joinParams({ clientId: 'a', memberId: a.memberId, protocols: [{ name: 'range', metadata: Buffer.from('v2') }] }));
  assert.equal(group.state, 'PreparingRebalance');
  assert.equal(group.checkOffsetCommit(b.generationId, b.memberId, null), ErrorCode.NONE);
});

test('a failed store of the assignment makes the members rejoin', async () => {
  const env = testEnv(0);
  const group = new ClassicGroup('g', env);
  const join = group.join(joinParams({ requireKnownMemberId: false }));
  await advance(env, 0);
  const result = await join;
  env.storeError = ErrorCode.NOT_COORDINATOR;
  const synced = await (async () => {
    const pending = sync(group, result, new Map([[result.memberId, Buffer.from('x')]]));
    await settle();
    return pending;
  })();
  assert.equal(synced.errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(group.state, 'PreparingRebalance');
});

test('a group restored from its record is Stable with its members, whose sessions start again', async () => {
  const env = testEnv(0);
  const { group, ids, generation, leader } = await stableGroup(env, ['a', 'b']);
  const record = env.stored[env.stored.length - 1]!;
  const restored = ClassicGroup.fromRecord('g', record, env);
  restored.onLoaded();
  assert.equal(restored.state, 'Stable');
  assert.equal(restored.generationId, generation);
  assert.equal(restored.leaderId, leader);
  assert.equal(restored.protocolName, 'range');
  assert.deepEqual(restored.subscribedTopics, null, 'the test metadata is not a consumer subscription');
  assert.equal(restored.heartbeat(ids[0]!, null, generation), ErrorCode.NONE);
  const again = await restored.sync({ memberId: ids[1]!, groupInstanceId: null, generationId: generation, protocolType: null, protocolName: null, assignments: new Map() });
  assert.deepEqual(again.assignment, Buffer.from('assign-b'));
  // Members that never come back expire after their session timeout.
  await advance(env, 3000);
  assert.equal(restored.heartbeat(ids[0]!, null, generation), ErrorCode.NONE);
  await advance(env, 4000);
  assert.equal(restored.has(ids[1]!), false);
  assert.equal(group.has(ids[0]!), false, 'the original group expired on the same clock: independent objects');
});

test('unloading answers waiting requests with NOT_COORDINATOR and stops the timers', async () => {
  const env = testEnv(3000);
  const group = new ClassicGroup('g', env);
  const join = group.join(joinParams({ requireKnownMemberId: false }));
  group.unload();
  assert.equal((await join).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal(group.state, 'Dead');
  assert.equal(env.clock.pendingTimers, 0);
  assert.equal((await group.join(joinParams())).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
});
