/**
 * librdkafka's consumer-group features against the broker, each member in its own process:
 *
 * - cooperative-sticky (KIP-429): confluent-kafka for Python and confluent-kafka-javascript members
 *   join one at a time; a newcomer only takes partitions from the others, and the others revoke
 *   only the partitions that move (incremental callbacks), never the ones they keep.
 * - static membership (KIP-345): a member with group.instance.id that closes and restarts within
 *   its session timeout gets the same partitions back, with no rebalance for the other member
 *   (same generation, no new callbacks); the group still rebalances normally afterwards.
 * - three `kcat -G group topic` consumers on a 6-partition topic split it two partitions each, as
 *   a person trying it by hand would see, and each prints only its own partitions' records.
 *
 * The broker runs in-process (helpers/group-broker.ts) so the group settings can be short.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { GroupBroker, openProducer } from './helpers/group-broker.js';
import { GroupMember, waitUntil, type MemberOptions } from './helpers/group-members.js';
import { KCAT } from './helpers/clients.js';
import { tail } from './helpers/process.js';
import { summariseNegotiation } from './helpers/negotiation.js';

const PARTITIONS = 6;
const ALL = Array.from({ length: PARTITIONS }, (_, p) => p);
/** Generous: the machine may be busy; nothing here asserts how long anything took. */
const DEADLINE_MS = 90_000;

let gb: GroupBroker;
const started: Array<{ kill: () => Promise<unknown> }> = [];

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  gb = await GroupBroker.start();
});

after(async () => {
  await Promise.all(started.map((m) => m.kill()));
  await gb?.close();
});

function startMember(options: Omit<MemberOptions, 'bootstrap'>): GroupMember {
  const member = new GroupMember({ ...options, bootstrap: gb.bootstrap });
  started.push(member);
  return member;
}

const same = (a: readonly number[], b: readonly number[]) => JSON.stringify([...a].sort((x, y) => x - y)) === JSON.stringify([...b].sort((x, y) => x - y));

/** Why `members` are not yet a stable group splitting all partitions the way their reports say; [] once they are. */
function unstable(group: string, topic: string, members: GroupMember[]): string[] {
  const view = gb.view(group, topic);
  if (view === null) return ['no group yet'];
  const problems: string[] = [];
  if (view.state !== 'Stable') problems.push(`group is ${view.state}`);
  const dead = members.filter((m) => !m.running).map((m) => m.name);
  if (dead.length > 0) problems.push(`exited: ${dead.join(', ')}`);
  if (view.members.length !== members.length) problems.push(`the broker lists ${view.members.length} members`);
  const owned: number[] = [];
  for (const m of members) {
    const onBroker = view.members.find((b) => b.clientId === m.name);
    if (onBroker === undefined) problems.push(`${m.name} is not a member`);
    else if (!same(onBroker.partitions, m.assignment)) problems.push(`${m.name} reports [${m.assignment}], the broker assigned it [${onBroker.partitions}]`);
    owned.push(...m.assignment);
  }
  if (!same(owned, ALL)) problems.push(`the members own [${owned.sort((a, b) => a - b)}] together`);
  return problems;
}

function explain(group: string, topic: string, members: GroupMember[]): string {
  return [gb.describeView(group, topic), ...members.map((m) => m.describe())].join('\n');
}

async function waitStable(what: string, group: string, topic: string, members: GroupMember[]): Promise<void> {
  await waitUntil(
    what,
    () => {
      const dead = members.find((m) => !m.running);
      if (dead !== undefined) throw new Error(`${dead.name} exited while waiting for ${what}\n${explain(group, topic, members)}`);
      return unstable(group, topic, members).length === 0;
    },
    DEADLINE_MS,
    () => `still: ${unstable(group, topic, members).join('; ')}\n${explain(group, topic, members)}`,
  );
}

/**
 * Checks one cooperative rebalance from the members' callbacks since `since` (event counts per
 * member): members only revoke partitions they do not keep, a member keeps every partition it had
 * and still has, and partitions are assigned only to members that did not have them.
 */
function incrementalProblems(members: GroupMember[], before: Map<string, { owned: number[]; events: number }>): string[] {
  const problems: string[] = [];
  for (const m of members) {
    const was = before.get(m.name) ?? { owned: [], events: 0 };
    const now = m.assignment;
    const callbacks = m.events.slice(was.events).filter((e) => e.ev === 'assigned' || e.ev === 'revoked' || e.ev === 'lost');
    const revoked = callbacks.filter((e) => e.ev === 'revoked').flatMap((e) => e.partitions!);
    const assigned = callbacks.filter((e) => e.ev === 'assigned').flatMap((e) => e.partitions!);
    const lost = callbacks.filter((e) => e.ev === 'lost');
    const history = callbacks.map((e) => `${e.ev} [${e.partitions}]`).join(', ') || 'none';
    if (lost.length > 0) problems.push(`${m.name} lost partitions (${history})`);
    const keptButRevoked = revoked.filter((p) => now.includes(p));
    if (keptButRevoked.length > 0) problems.push(`${m.name} had [${keptButRevoked}] revoked although it keeps them (callbacks: ${history})`);
    const reassigned = assigned.filter((p) => was.owned.includes(p));
    if (reassigned.length > 0) problems.push(`${m.name} was assigned [${reassigned}] again although it already owned them (callbacks: ${history})`);
    const moved = was.owned.filter((p) => !now.includes(p));
    if (!same(revoked, moved)) problems.push(`${m.name} revoked [${revoked}], but the partitions it gave up are [${moved}] (callbacks: ${history})`);
  }
  return problems;
}

const snapshot = (members: GroupMember[]) => new Map(members.map((m) => [m.name, { owned: m.assignment, events: m.events.length }]));

test('cooperative-sticky (librdkafka): a joining member only takes partitions, the others revoke only what moves', { timeout: 240_000 }, async (t) => {
  const topic = 'coop-orders';
  const group = 'coop-group';
  await gb.createTopic(topic, PARTITIONS);
  const common = { group, topic, strategy: 'cooperative-sticky', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 };
  const a = startMember({ ...common, client: 'confluent-python', name: 'coop-a' });
  await waitStable('coop-a to own every partition', group, topic, [a]);
  assert.deepEqual(a.assignment, ALL);
  const generations = [gb.view(group, topic)!.generation];

  let before = snapshot([a]);
  const b = startMember({ ...common, client: 'confluent-js', name: 'coop-b' });
  await waitStable('coop-a and coop-b to share the partitions', group, topic, [a, b]);
  await waitUntil('an even split between coop-a and coop-b', () => a.assignment.length === 3 && b.assignment.length === 3, DEADLINE_MS, () => explain(group, topic, [a, b]));
  generations.push(gb.view(group, topic)!.generation);
  t.diagnostic(`after coop-b joined: coop-a [${a.assignment}] (${a.rebalanceHistory()}); coop-b [${b.assignment}] (${b.rebalanceHistory()})`);
  assert.deepEqual(incrementalProblems([a, b], before), [], explain(group, topic, [a, b]));
  assert.equal(gb.view(group, topic)!.protocol, 'cooperative-sticky');

  before = snapshot([a, b]);
  const c = startMember({ ...common, client: 'confluent-python', name: 'coop-c' });
  await waitStable('three members to share the partitions', group, topic, [a, b, c]);
  await waitUntil('an even split between three members', () => [a, b, c].every((m) => m.assignment.length === 2), DEADLINE_MS, () => explain(group, topic, [a, b, c]));
  generations.push(gb.view(group, topic)!.generation);
  t.diagnostic(`after coop-c joined: ${[a, b, c].map((m) => `${m.name} [${m.assignment}]`).join(', ')}; coop-c: ${c.rebalanceHistory()}`);
  assert.deepEqual(incrementalProblems([a, b, c], before), [], explain(group, topic, [a, b, c]));
  t.diagnostic(`generations: ${generations.join(' -> ')} (a cooperative join takes two rebalances: revoke, then assign)`);

  for (const m of [a, b, c]) assert.deepEqual(await m.stop(), { code: 0, signal: null }, `${m.name} exits 0 on SIGTERM\n${m.describe()}`);
  for (const line of gb.joinSummary(group)) t.diagnostic(line);
});

test('static membership (librdkafka): a member restarting within its session timeout gets its partitions back without a rebalance', { timeout: 240_000 }, async (t) => {
  const topic = 'static-orders';
  const group = 'static-group';
  await gb.createTopic(topic, PARTITIONS);
  // Long enough for a Python process to restart on a busy machine.
  const staticA = { group, topic, client: 'confluent-python' as const, name: 'static-a', groupInstanceId: 'static-a', sessionTimeoutMs: 45_000, heartbeatIntervalMs: 1000 };
  const a = startMember(staticA);
  await waitStable('static-a to own every partition', group, topic, [a]);
  const b = startMember({ group, topic, client: 'confluent-js', name: 'dynamic-b', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 });
  await waitStable('static-a and dynamic-b to share the partitions', group, topic, [a, b]);
  const view = gb.view(group, topic)!;
  const aOwned = a.assignment;
  const oldMemberId = view.members.find((m) => m.clientId === 'static-a')!.memberId;
  const bCallbacks = b.eventsOf('assigned', 'revoked', 'lost').length;
  t.diagnostic(`generation ${view.generation}, leader ${view.leaderClientId}: static-a [${aOwned}], dynamic-b [${b.assignment}]`);

  assert.deepEqual(await a.stop(), { code: 0, signal: null }, `static-a exits 0 on SIGTERM\n${a.describe()}`);
  assert.deepEqual(
    gb.leaves.filter((l) => l.groupId === group),
    [],
    'librdkafka sends no LeaveGroup when a static member closes (KIP-345), so its partitions stay reserved',
  );
  const whileAway = gb.view(group, topic)!;
  assert.equal(whileAway.state, 'Stable', `the group stays Stable while static-a is away\n${explain(group, topic, [a, b])}`);
  assert.equal(whileAway.generation, view.generation);

  const a2 = startMember({ ...staticA, name: 'static-a' });
  await waitUntil('the restarted static-a to get its partitions', () => a2.assignment.length > 0, DEADLINE_MS, () => explain(group, topic, [a2, b]));
  await waitStable('the group to be stable with the restarted static-a', group, topic, [a2, b]);
  // The group works as before: both members process what is produced to their partitions.
  const producer = await openProducer(gb.bootstrap);
  try {
    await producer.send(ALL.map((partition) => ({ partition, value: `static-${partition}` })), topic);
  } finally {
    await producer.close();
  }
  await waitUntil(
    'both members to process the records of their partitions',
    () => ALL.every((p) => [a2, b].some((m) => m.eventsOf('committed').some((e) => e.p === p))),
    DEADLINE_MS,
    () => explain(group, topic, [a2, b]),
  );
  const after = gb.view(group, topic)!;
  const newMemberId = after.members.find((m) => m.clientId === 'static-a')?.memberId;
  t.diagnostic(`after the restart: generation ${after.generation}, static-a [${a2.assignment}] (member id ${oldMemberId === newMemberId ? 'unchanged' : 'replaced'}), dynamic-b [${b.assignment}]`);
  assert.deepEqual(a2.assignment, aOwned, 'the restarted static member owns the same partitions');
  assert.equal(after.generation, view.generation, `no rebalance: the generation stays ${view.generation}\n${explain(group, topic, [a2, b])}`);
  assert.equal(b.eventsOf('assigned', 'revoked', 'lost').length, bCallbacks, `dynamic-b saw no rebalance: ${b.rebalanceHistory()}`);
  assert.notEqual(newMemberId, oldMemberId, 'the broker gave the new instance a new member id');

  // The group still rebalances as usual: when dynamic-b leaves, static-a takes everything.
  assert.deepEqual(await b.stop(), { code: 0, signal: null }, b.describe());
  await waitStable('static-a to take over every partition', group, topic, [a2]);
  assert.equal(gb.view(group, topic)!.generation, view.generation + 1, 'one rebalance when dynamic-b left');
  assert.deepEqual(await a2.stop(), { code: 0, signal: null }, a2.describe());
  for (const line of gb.joinSummary(group)) t.diagnostic(line);
});

/** A `kcat -G group topic` consumer: records on stdout (-f format), rebalances on stderr. */
class KcatMember {
  readonly child: ChildProcess;
  readonly records: Array<{ partition: number; offset: number; value: string }> = [];
  readonly rebalances: Array<{ kind: 'assigned' | 'revoked'; partitions: number[] }> = [];
  memberId: string | null = null;
  /** Partitions kcat reported reaching the end of ("% Reached end of topic t [p] at offset n"). */
  readonly atEnd = new Set<number>();
  private stdout = '';
  private stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    args: string[],
  ) {
    this.child = spawn(KCAT, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.stdout += chunk;
      const lines = this.stdout.split('\n');
      this.stdout = lines.pop()!;
      for (const line of lines) {
        const match = /^(\d+) (\d+) (.*)$/.exec(line);
        if (match !== null) this.records.push({ partition: Number(match[1]), offset: Number(match[2]), value: match[3]! });
      }
    });
    let pending = '';
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        // % Group kcat-group rebalanced (memberid rdkafka-…): assigned: kcat-orders [0], kcat-orders [1]
        const end = /^% Reached end of topic \S+ \[(\d+)\] at offset \d+/.exec(line);
        if (end !== null) this.atEnd.add(Number(end[1]));
        const match = /^% Group \S+ rebalanced \(memberid (\S+)\): (assigned|revoked): (.*)$/.exec(line);
        if (match === null) continue;
        this.atEnd.clear();
        this.memberId = match[1]!;
        const partitions = [...match[3]!.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
        this.rebalances.push({ kind: match[2] as 'assigned' | 'revoked', partitions });
      }
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get assignment(): number[] {
    const last = this.rebalances.at(-1);
    return last?.kind === 'assigned' ? last.partitions : [];
  }

  describe(): string {
    return `${this.name} (member ${this.memberId}): owns [${this.assignment}], ${this.records.length} records; rebalances: ${this.rebalances.map((r) => `${r.kind} [${r.partitions}]`).join(', ') || 'none'}\n  stderr: ${tail(this.stderr, 6, 1000).replace(/\n/g, '\n  ')}`;
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): Promise<unknown> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }
}

test('three `kcat -G` consumers split a 6-partition topic two partitions each and print only their own records', { timeout: 180_000 }, async (t) => {
  const topic = 'kcat-orders';
  const group = 'kcat-group';
  await gb.createTopic(topic, PARTITIONS);
  // As typed by hand, plus a client id (to tell them apart), an output format with the partition,
  // and -u: unbuffered output, which a terminal gets anyway (a pipe would hold the records back).
  const kcats = [1, 2, 3].map((n) => {
    const member = new KcatMember(`kcat-${n}`, ['-b', gb.bootstrap, '-G', group, '-X', `client.id=kcat-${n}`, '-u', '-f', '%p %o %s\\n', topic]);
    started.push(member);
    return member;
  });
  const describe = () => [gb.describeView(group, topic), ...kcats.map((k) => k.describe())].join('\n');
  const split = () => {
    const view = gb.view(group, topic);
    const owned = kcats.flatMap((k) => k.assignment);
    return (
      view?.state === 'Stable' &&
      view.members.length === 3 &&
      kcats.every((k) => k.assignment.length === 2 && view.members.some((m) => m.memberId === k.memberId && same(m.partitions, k.assignment))) &&
      same(owned, ALL)
    );
  };
  await waitUntil('each kcat to report two partitions', () => {
    const dead = kcats.find((k) => k.child.exitCode !== null || k.child.signalCode !== null);
    if (dead !== undefined) throw new Error(`${dead.name} exited\n${describe()}`);
    return split();
  }, DEADLINE_MS, describe);
  t.diagnostic(`${gb.view(group, topic)!.protocol}: ${kcats.map((k) => `${k.name} [${k.assignment}]`).join(', ')}`);
  // kcat starts at the end of its partitions (auto.offset.reset=latest): produce once each says it got there.
  await waitUntil('each kcat to reach the end of its partitions', () => kcats.every((k) => k.assignment.every((p) => k.atEnd.has(p))), DEADLINE_MS, describe);

  const producer = await openProducer(gb.bootstrap);
  const sent = await (async () => {
    try {
      return await producer.send(Array.from({ length: 60 }, (_, i) => ({ partition: i % PARTITIONS, value: `kcat-${i}` })), topic);
    } finally {
      await producer.close();
    }
  })();
  await waitUntil('every record to be printed', () => sent.every((s) => kcats.some((k) => k.records.some((r) => r.value === s.value))), DEADLINE_MS, describe);
  const problems: string[] = [];
  for (const s of sent) {
    const printers = kcats.filter((k) => k.records.some((r) => r.value === s.value));
    const owner = kcats.find((k) => k.assignment.includes(s.partition))!;
    if (printers.length !== 1 || printers[0] !== owner) problems.push(`${s.value} (partition ${s.partition}) printed by ${printers.map((k) => k.name).join(', ')}; owner ${owner.name}`);
  }
  assert.deepEqual(problems, [], `each record is printed once, by the kcat owning its partition\n${describe()}`);

  for (const k of kcats) assert.deepEqual(await k.stop(), { code: 0, signal: null }, `${k.name} exits 0 on SIGTERM\n${k.describe()}`);
  await waitUntil('the group to be Empty after the kcats left', () => gb.view(group, topic)?.state === 'Empty', DEADLINE_MS, describe);
  for (const line of gb.joinSummary(group)) t.diagnostic(line);
});

test('every librdkafka group client negotiated API versions within the broker’s advertised ranges', async (t) => {
  const summary = await summariseNegotiation(gb.proxy.seen, gb.broker.port);
  for (const line of summary.lines.filter((l) => /^(coop|static|dynamic|kcat)-/.test(l))) t.diagnostic(line);
  assert.deepEqual(summary.outOfRange, []);
});
