/**
 * One consumer group, five client libraries at once, each member in its own process: KafkaJS,
 * @platformatic/kafka and confluent-kafka-javascript (Node, helpers/group-member.ts), confluent-kafka
 * for Python and kafka-python (python/group_member.py), on one 6-partition topic, all using the
 * "roundrobin" assignor (KafkaJS through its round robin logic registered under that name). Every
 * member commits each record after processing it.
 *
 * 1. Once the group is stable each partition is owned by exactly one member (each member's own
 *    report agrees with the broker), and every message is processed exactly once.
 * 2. kafka-python leaves cleanly while messages keep coming: its partitions move to the others and
 *    no message is processed twice (everything committed stays committed) or skipped.
 * 3. The KafkaJS member is SIGKILLed while messages keep coming: once its session times out its
 *    partitions move to the survivors; nothing is skipped, and only what it processed after its
 *    last commit may be processed again (at-least-once).
 * 4. The survivors stop cleanly; the group's committed offsets reach the end of every partition.
 *
 * The broker runs in-process (helpers/group-broker.ts) so the group settings can be short; every
 * client runs in a child process.
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { GroupBroker, openProducer } from './helpers/group-broker.js';
import { GroupMember, waitUntil, type MemberClient } from './helpers/group-members.js';
import { summariseNegotiation } from './helpers/negotiation.js';

const TOPIC = 'mixed-orders';
const GROUP = 'mixed-group';
const PARTITIONS = 6;
const SESSION_TIMEOUT_MS = 6000;
/** Generous: the machine may be busy; nothing here asserts how long anything took. */
const DEADLINE_MS = 90_000;

/**
 * In the order they join. The first member leads (computes the assignment); when the leader goes,
 * the broker picks the longest-standing member: kafka-python leads first, KafkaJS after kafka-python
 * left, @platformatic/kafka after KafkaJS was killed, so three clients' assignors take a turn.
 */
const MEMBERS: Array<{ client: MemberClient; name: string; strategy?: string }> = [
  // kafka-python offers "range" and "roundrobin" by default.
  { client: 'kafka-python', name: 'mixed-kafka-python', strategy: 'roundrobin' },
  // KafkaJS: its round robin logic under the name "roundrobin" (group-member.ts).
  { client: 'kafkajs', name: 'mixed-kafkajs' },
  // @platformatic/kafka's only built-in protocol is "roundrobin".
  { client: 'platformatic', name: 'mixed-platformatic' },
  // librdkafka offers "range,roundrobin" by default.
  { client: 'confluent-js', name: 'mixed-confluent-js', strategy: 'roundrobin' },
  { client: 'confluent-python', name: 'mixed-confluent-python', strategy: 'roundrobin' },
];
const LEAVING = 'mixed-kafka-python';
const KILLED = 'mixed-kafkajs';

let gb: GroupBroker;
let producer: Awaited<ReturnType<typeof openProducer>>;
const members = new Map<string, GroupMember>();
/** Every value produced, with where it was written. */
const produced: Array<{ partition: number; offset: number; value: string }> = [];
const notes: string[] = [];

const live = () => [...members.values()].filter((m) => m.running);
const member = (name: string) => members.get(name)!;
const allPartitions = Array.from({ length: PARTITIONS }, (_, p) => p);

function explain(): string {
  return [gb.describeView(GROUP, TOPIC), ...[...members.values()].map((m) => m.describe())].join('\n');
}

/** Why the group is not yet stable with exactly `expected` as members; [] once it is. */
function unstable(expected: GroupMember[]): string[] {
  const view = gb.view(GROUP, TOPIC);
  if (view === null) return ['no group yet'];
  const problems: string[] = [];
  if (view.state !== 'Stable') problems.push(`group is ${view.state}`);
  const names = expected.map((m) => m.name).sort();
  const brokerNames = view.members.map((m) => m.clientId).sort();
  if (JSON.stringify(names) !== JSON.stringify(brokerNames)) problems.push(`broker lists members ${brokerNames.join(', ')}`);
  const owners = new Map<number, string[]>();
  for (const m of expected) {
    const onBroker = view.members.find((b) => b.clientId === m.name);
    if (onBroker !== undefined && JSON.stringify(onBroker.partitions) !== JSON.stringify(m.assignment)) {
      problems.push(`${m.name} reports [${m.assignment}], the broker assigned it [${onBroker.partitions}]`);
    }
    if (m.assignment.length === 0) problems.push(`${m.name} owns nothing`);
    for (const p of m.assignment) owners.set(p, [...(owners.get(p) ?? []), m.name]);
  }
  for (const p of allPartitions) {
    const who = owners.get(p) ?? [];
    if (who.length !== 1) problems.push(`partition ${p} is owned by ${who.length === 0 ? 'nobody' : who.join(' and ')}`);
  }
  return problems;
}

async function waitStable(what: string, expected: GroupMember[]): Promise<number> {
  return waitUntil(
    what,
    () => {
      const dead = expected.find((m) => !m.running);
      if (dead !== undefined) throw new Error(`${dead.name} exited while waiting for ${what}\n${explain()}`);
      return unstable(expected).length === 0;
    },
    DEADLINE_MS,
    () => `still: ${unstable(expected).join('; ')}\n${explain()}`,
  );
}

interface Processing {
  value: string;
  partition: number;
  offset: number;
  member: string;
  at: number;
}

function processings(): Processing[] {
  return [...members.values()].flatMap((m) => m.eventsOf('record').map((e) => ({ value: e.v!, partition: e.p!, offset: e.o!, member: m.name, at: e.at })));
}

function processedValues(): Set<string> {
  return new Set(processings().map((p) => p.value));
}

async function waitAllProcessed(what: string): Promise<void> {
  await waitUntil(
    what,
    () => {
      const seen = processedValues();
      return produced.every((m) => seen.has(m.value));
    },
    DEADLINE_MS,
    () => {
      const seen = processedValues();
      const missing = produced.filter((m) => !seen.has(m.value));
      return `${missing.length} of ${produced.length} not processed, e.g. ${missing.slice(0, 5).map((m) => `${m.value} (${m.partition}/${m.offset})`).join(', ')}\n${explain()}`;
    },
  );
}

/** Values processed more than once, each with who processed it when. */
function duplicates(): Array<{ value: string; partition: number; offset: number; by: Processing[] }> {
  const byValue = new Map<string, Processing[]>();
  for (const p of processings()) byValue.set(p.value, [...(byValue.get(p.value) ?? []), p]);
  return [...byValue].filter(([, list]) => list.length > 1).map(([value, list]) => ({ value, partition: list[0]!.partition, offset: list[0]!.offset, by: list.sort((a, b) => a.at - b.at) }));
}

function describeDuplicate(d: ReturnType<typeof duplicates>[number]): string {
  return `${d.value} (partition ${d.partition} offset ${d.offset}) processed by ${d.by.map((p) => `${p.member} at +${p.at - d.by[0]!.at} ms`).join(', ')}`;
}

/** Produces one message per partition every `everyMs` until stopped. */
function produceContinuously(prefix: string, everyMs = 100): { stop: () => Promise<void> } {
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const batch = allPartitions.map((partition) => ({ partition, value: `${prefix}-${n++}` }));
      produced.push(...(await producer.send(batch, TOPIC)));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Waits until `count` more records were processed (by anyone) than now. */
async function waitMoreProcessed(what: string, count: number): Promise<void> {
  const from = processings().length;
  await waitUntil(what, () => processings().length >= from + count, DEADLINE_MS, explain);
}

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  gb = await GroupBroker.start();
  await gb.createTopic(TOPIC, PARTITIONS);
  producer = await openProducer(gb.bootstrap);
});

after(async () => {
  // TRIBUTARY_INTEROP_DUMP=file.json: every event of every member, for a closer look after a failure.
  if (process.env.TRIBUTARY_INTEROP_DUMP) {
    const dump = { joins: gb?.joins, leaves: gb?.leaves, members: Object.fromEntries([...members].map(([name, m]) => [name, m.events])) };
    writeFileSync(process.env.TRIBUTARY_INTEROP_DUMP, JSON.stringify(dump, null, 1));
  }
  await Promise.all([...members.values()].map((m) => m.kill()));
  await producer?.close().catch(() => undefined);
  await gb?.close();
});

/** The phases build on each other: after one fails, the later ones are skipped instead of timing out. */
let failedPhase: string | null = null;
function phase(name: string, timeout: number, body: (t: TestContext) => Promise<void>): void {
  test(name, { timeout }, async (t) => {
    if (failedPhase !== null) {
      t.skip(`an earlier phase failed: ${failedPhase}`);
      return;
    }
    try {
      await body(t);
    } catch (error) {
      failedPhase = name;
      throw error;
    }
  });
}

phase('five client libraries share one group: each partition has exactly one owner, every message is processed once', 180_000, async (t) => {
  const memberOptions = { bootstrap: gb.bootstrap, group: GROUP, topic: TOPIC, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 1000 };
  for (const spec of MEMBERS) {
    const m = new GroupMember({ ...spec, ...memberOptions });
    members.set(spec.name, m);
    // One after the other, so the join order (and with it who leads) is known.
    await waitUntil(`${spec.name} to join`, () => {
      if (!m.running) throw new Error(`${spec.name} exited\n${m.describe()}`);
      return gb.view(GROUP, TOPIC)?.members.some((b) => b.clientId === spec.name) ?? false;
    }, DEADLINE_MS, explain);
  }
  const ms = await waitStable('all five members to share the partitions', live());
  const view = gb.view(GROUP, TOPIC)!;
  t.diagnostic(`stable ${ms} ms after the last member joined: generation ${view.generation}, protocol "${view.protocol}", leader ${view.leaderClientId} (assignment v${view.members[0]?.assignmentVersion})`);
  for (const m of members.values()) t.diagnostic(`${m.name} owns [${m.assignment.join(',')}] (${JSON.stringify(m.eventsOf('started')[0]?.info ?? {})})`);
  assert.equal(view.protocol, 'roundrobin', 'the group chose the one protocol every member supports');

  // KafkaJS with its built-in assigner ("RoundRobinAssigner") has no protocol in common with the group.
  const outsider = new GroupMember({ ...memberOptions, client: 'kafkajs', name: 'mixed-kafkajs-default-assigner', strategy: 'RoundRobinAssigner' });
  try {
    await waitUntil('the broker to answer the JoinGroup of KafkaJS with its default assigner', () => gb.joins.some((j) => j.clientId === outsider.name && j.result !== undefined && j.result.errorCode !== 79), DEADLINE_MS, () => `${outsider.describe()}\n${explain()}`);
  } finally {
    await outsider.kill();
  }
  const refused = gb.joins.filter((j) => j.clientId === outsider.name && j.result !== undefined && j.result.errorCode !== 79);
  t.diagnostic(`KafkaJS with its default assigner offers ${JSON.stringify(refused[0]?.protocols.map((p) => p.name))}: JoinGroup error ${refused.map((j) => j.result!.errorCode).join(', ')}`);
  assert.ok(refused.every((j) => j.result!.errorCode === 23), 'INCONSISTENT_GROUP_PROTOCOL (23) for a member with no protocol in common with the group');
  assert.deepEqual(unstable(live()), [], `the group is undisturbed by the refused member\n${explain()}`);
  assert.equal(gb.view(GROUP, TOPIC)!.generation, view.generation, 'no rebalance for the refused member');

  const generation = view.generation;
  for (let i = 0; i < 60; i++) produced.push(...(await producer.send([{ partition: i % PARTITIONS, value: `p1-${i}` }], TOPIC)));
  await waitAllProcessed('every message of phase 1 to be processed');
  assert.equal(gb.view(GROUP, TOPIC)!.generation, generation, `no rebalance while phase 1 was consumed\n${explain()}`);
  assert.deepEqual(duplicates().map(describeDuplicate), [], 'no message processed twice');
  const wrongOwner = processings().filter((p) => !member(p.member).assignment.includes(p.partition));
  assert.deepEqual(wrongOwner.map((p) => `${p.value} of partition ${p.partition} processed by ${p.member}`), [], 'each record is processed by the owner of its partition');
});

phase('a member leaving cleanly (kafka-python) hands over its partitions: nothing committed is processed again, nothing skipped', 180_000, async (t) => {
  const leaving = member(LEAVING);
  assert.ok(leaving.running, `${LEAVING} runs`);
  const handedOver = leaving.assignment;
  const load = produceContinuously('p2');
  try {
    await waitMoreProcessed('some records of phase 2 to be processed', 30);
    const exit = await leaving.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `${LEAVING} stops cleanly on SIGTERM\n${leaving.describe()}`);
    assert.equal(leaving.eventsOf('closed').length, 1, `${LEAVING} closed its consumer`);
    const ms = await waitStable('the four others to take over', live());
    t.diagnostic(`the group was stable with four members ${ms} ms after ${LEAVING} exited; leader ${gb.view(GROUP, TOPIC)!.leaderClientId}`);
    await waitMoreProcessed('records to keep flowing after the hand-over', 30);
  } finally {
    await load.stop();
  }
  await waitAllProcessed('every message of phase 2 to be processed');
  assert.ok(
    gb.leaves.some((l) => l.groupId === GROUP && l.members.some((m) => m.clientId === LEAVING)),
    `${LEAVING} sent LeaveGroup; LeaveGroups seen: ${JSON.stringify(gb.leaves)}`,
  );
  const takers = live().filter((m) => m.assignment.some((p) => handedOver.includes(p)));
  t.diagnostic(`${LEAVING}'s partitions [${handedOver}] went to ${takers.map((m) => `${m.name} [${m.assignment.filter((p) => handedOver.includes(p))}]`).join(', ')}`);
  assert.deepEqual(duplicates().map(describeDuplicate), [], `after a clean hand-over no committed message is processed again\n${explain()}`);
});

phase('a SIGKILLed member (KafkaJS) loses its partitions to the survivors after its session timeout; nothing is skipped', 180_000, async (t) => {
  const killed = member(KILLED);
  assert.ok(killed.running, `${KILLED} runs`);
  const orphaned = killed.assignment;
  const duplicatesBefore = duplicates().length;
  const load = produceContinuously('p3');
  let killedAt = 0;
  try {
    await waitMoreProcessed('some records of phase 3 to be processed', 30);
    killedAt = Date.now();
    const exit = await killed.kill();
    assert.equal(exit.signal, 'SIGKILL');
    const goneMs = await waitUntil(
      `the broker to expire ${KILLED}'s session`,
      () => !(gb.view(GROUP, TOPIC)?.members.some((m) => m.clientId === KILLED) ?? true),
      DEADLINE_MS,
      explain,
    );
    const stableMs = await waitStable('the survivors to take over', live());
    t.diagnostic(
      `${KILLED} (session timeout ${SESSION_TIMEOUT_MS} ms) was removed by the broker ${goneMs} ms after SIGKILL; ` +
        `the survivors owned all partitions ${goneMs + stableMs} ms after it; leader ${gb.view(GROUP, TOPIC)!.leaderClientId}`,
    );
    await waitMoreProcessed('records to keep flowing after the take-over', 30);
  } finally {
    await load.stop();
  }
  await waitAllProcessed('every message to be processed (nothing skipped)');
  assert.ok(!gb.leaves.some((l) => l.members.some((m) => m.clientId === KILLED)), 'a SIGKILLed member sends no LeaveGroup');
  const takers = live().filter((m) => m.assignment.some((p) => orphaned.includes(p)));
  t.diagnostic(`${KILLED}'s partitions [${orphaned}] went to ${takers.map((m) => `${m.name} [${m.assignment.filter((p) => orphaned.includes(p))}]`).join(', ')}`);

  // At-least-once: only what the killed member processed after its last acknowledged commit may be
  // processed again, and only after the kill.
  const lastCommit = killed.committed();
  const allowed: string[] = [];
  const wrong: string[] = [];
  for (const d of duplicates()) {
    const [first, ...again] = d.by;
    const uncommitted = first!.member === KILLED && d.offset >= (lastCommit.get(d.partition) ?? 0);
    if (uncommitted && again.length === 1 && again[0]!.at >= killedAt) allowed.push(describeDuplicate(d));
    else wrong.push(`${describeDuplicate(d)}; ${first!.member}'s last reported commit on partition ${d.partition}: ${lastCommit.get(d.partition) ?? 'none'}`);
  }
  t.diagnostic(`processed again after the SIGKILL (uncommitted when it died): ${allowed.length === 0 ? 'none' : allowed.join('; ')}`);
  assert.equal(duplicatesBefore, 0);
  assert.deepEqual(wrong, [], `only records the killed member had not committed may be processed twice\n${explain()}`);
});

phase('the survivors stop cleanly and the group has committed everything', 120_000, async (t) => {
  const survivors = live();
  assert.equal(survivors.length, 3, explain());
  const exits = await Promise.all(survivors.map(async (m) => [m.name, await m.stop()] as const));
  for (const [name, exit] of exits) assert.deepEqual(exit, { code: 0, signal: null }, `${name} exits 0 on SIGTERM\n${member(name).describe()}`);
  await waitUntil('the group to become Empty', () => gb.view(GROUP, TOPIC)?.state === 'Empty', DEADLINE_MS, explain);
  const lag = gb.broker.groups.describeLag(GROUP)!;
  const behind = lag.partitions.filter((p) => p.lag !== 0n).map((p) => `${p.topic}/${p.partition}: committed ${p.committedOffset}, end ${p.logEndOffset}`);
  assert.deepEqual(behind, [], 'committed offsets reach the end of every partition');
  // The members skip records below their own last commit (librdkafka's batches can hand them out
  // twice around a rebalance); this makes sure the broker never was the reason.
  const fetched = gb.fetches.filter((f) => f.groupId === GROUP).length;
  const stale = gb.staleOffsetFetches(GROUP);
  t.diagnostic(`${gb.commits.filter((c) => c.groupId === GROUP).length} offsets committed, ${fetched} fetched; every fetch showed the last acknowledged commit: ${stale.length === 0}`);
  assert.deepEqual(stale, [], 'every OffsetFetch answer shows the last acknowledged commit');
  const problems = [...members.values()].flatMap((m) => m.eventsOf('commitFailed', 'error').map((e) => `${m.name} ${e.ev}: ${e.message ?? e.error}`));
  for (const line of problems) t.diagnostic(`reported by a member: ${line}`);
  const skipped = [...members.values()].map((m) => `${m.name} ${m.eventsOf('dropped').length}/${m.eventsOf('stale').length}`).join(', ');
  t.diagnostic(`records: ${produced.length} produced, ${processings().length} processed; handed out but not processed (partition no longer owned / below the member's own commit): ${skipped}`);
  for (const line of gb.joinSummary(GROUP)) t.diagnostic(line);
  const summary = await summariseNegotiation(gb.proxy.seen, gb.broker.port);
  for (const line of summary.lines.filter((l) => l.startsWith('mixed-'))) t.diagnostic(line);
  assert.deepEqual(summary.outOfRange, [], 'requests outside the advertised version ranges');
});
