/**
 * KafkaJS consumer groups against the broker: two members split a 6-partition topic with no
 * overlap and every message is processed once; when one leaves the other takes every partition;
 * committed offsets survive a broker restart and a new consumer resumes exactly where the group
 * stopped (nothing twice, nothing skipped). Also manual commits, admin operations, and lag.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { makeTempDir, startTestBroker, type TestBroker } from '../helpers/broker.js';

const { Kafka, logLevel } = kafkajs;
type Consumer = ReturnType<InstanceType<typeof Kafka>['consumer']>;

const TOPIC = 'kjs-orders';
const GROUP = 'kjs-group';
const BROKER_OPTIONS = { groupInitialRebalanceDelayMs: 50, groupMinSessionTimeoutMs: 1000 };

let dataDir: Awaited<ReturnType<typeof makeTempDir>>;
let broker: TestBroker;

function kafka(port: number, clientId: string) {
  return new Kafka({ clientId, brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 500 } });
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Member {
  name: string;
  consumer: Consumer;
  /** Partitions of the last completed join. */
  assigned: number[];
  generation: number;
}

/** Message values processed, in order, with who processed them. */
const processed: Array<{ value: string; partition: number; member: string }> = [];

async function startMember(port: number, name: string, groupId = GROUP): Promise<Member> {
  const consumer = kafka(port, name).consumer({
    groupId,
    // Short, so that the member left behind by the broker restart expires quickly.
    sessionTimeout: 2000,
    rebalanceTimeout: 6000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
    retry: { retries: 3, initialRetryTime: 50, restartOnFailure: async () => false },
  });
  const member: Member = { name, consumer, assigned: [], generation: -1 };
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    member.assigned = [...(payload.memberAssignment[TOPIC] ?? [])].sort((a, b) => a - b);
    member.generation = (payload as unknown as { generationId?: number }).generationId ?? member.generation + 1;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      processed.push({ value: message.value!.toString(), partition, member: name });
    },
  });
  return member;
}

async function produce(port: number, from: number, count: number): Promise<string[]> {
  const producer = kafka(port, 'kjs-producer').producer();
  await producer.connect();
  const values = Array.from({ length: count }, (_, i) => `m-${from + i}`);
  // Explicit partitions spread the messages evenly over all six.
  await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value, i) => ({ value, partition: (from + i) % 6 })) });
  await producer.disconnect();
  return values;
}

function assertEachOnce(expected: string[]): void {
  const counts = new Map<string, number>();
  for (const { value } of processed) counts.set(value, (counts.get(value) ?? 0) + 1);
  const missing = expected.filter((value) => !counts.has(value));
  const twice = [...counts].filter(([, n]) => n > 1).map(([value]) => value);
  assert.deepEqual(missing, [], 'no message skipped');
  assert.deepEqual(twice, [], 'no message processed twice');
  assert.equal(counts.size, expected.length);
}

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  dataDir = await makeTempDir('tributary-groups-kafkajs-');
  broker = await startTestBroker({ ...BROKER_OPTIONS, dataDir: dataDir.path });
  const admin = kafka(broker.port, 'kjs-admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6 }] });
  await admin.disconnect();
});

after(async () => {
  await broker.close().catch(() => undefined);
  await dataDir.remove();
});

test('two members split the partitions, a leaving member hands over, offsets survive a restart', async () => {
  // Phase 1: two members; wait until they share one generation with disjoint halves.
  const a = await startMember(broker.port, 'member-a');
  const b = await startMember(broker.port, 'member-b');
  await waitFor('both members assigned', () => {
    const group = broker.groups.describeGroup(GROUP);
    return group?.state === 'Stable' && group.members.length === 2 && a.assigned.length + b.assigned.length === 6 && a.assigned.length > 0 && b.assigned.length > 0;
  });
  assert.deepEqual([...a.assigned, ...b.assigned].sort(), [0, 1, 2, 3, 4, 5], 'each partition owned by exactly one member');
  const described = broker.groups.describeGroup(GROUP)!;
  assert.equal(described.protocolType, 'consumer');
  assert.equal(described.protocol, 'RoundRobinAssigner');
  assert.deepEqual(described.members.map((m) => m.clientId).sort(), ['member-a', 'member-b']);
  assert.ok(described.members.every((m) => m.clientHost === '/127.0.0.1'));

  const phase1 = await produce(broker.port, 0, 300);
  await waitFor('phase 1 consumed', () => processed.length >= phase1.length);
  assertEachOnce(phase1);
  for (const { partition, member } of processed) {
    assert.ok((member === 'member-a' ? a : b).assigned.includes(partition), `partition ${partition} was consumed by its owner only`);
  }

  // Phase 2: b leaves cleanly; a takes over every partition and resumes from b's commits.
  await b.consumer.disconnect();
  await waitFor('a owns every partition', () => a.assigned.length === 6);
  const phase2 = await produce(broker.port, 300, 120);
  await waitFor('phase 2 consumed', () => processed.length >= phase1.length + phase2.length);
  assertEachOnce([...phase1, ...phase2]);

  // Everything consumed is committed; the in-process lag view agrees.
  await waitFor('offsets committed', () => broker.groups.describeLag(GROUP)?.totalLag === 0n && broker.groups.describeLag(GROUP)!.partitions.every((p) => p.committedOffset === 70n));
  const lag = broker.groups.describeLag(GROUP)!;
  assert.equal(lag.partitions.length, 6);
  assert.ok(lag.partitions.every((p) => p.logEndOffset === 70n && p.clientId === 'member-a'));

  // Phase 3: a stops fetching, more messages arrive, and the broker restarts under it.
  a.consumer.pause([{ topic: TOPIC }]);
  const beforeRestart = await produce(broker.port, 420, 60);
  await broker.close();
  await a.consumer.disconnect().catch(() => undefined);

  broker = await startTestBroker({ ...BROKER_OPTIONS, dataDir: dataDir.path });
  const restored = broker.groups.fetchOffsets(GROUP, [{ name: TOPIC, partitions: [0, 1, 2, 3, 4, 5] }]);
  assert.deepEqual(restored.topics[0]!.partitions.map((p) => p.offset), [70n, 70n, 70n, 70n, 70n, 70n], 'committed offsets survived the restart');
  const afterRestart = await produce(broker.port, 480, 60);
  const c = await startMember(broker.port, 'member-c');
  await waitFor('the new member caught up', () => processed.length >= phase1.length + phase2.length + beforeRestart.length + afterRestart.length, 30_000);
  assertEachOnce([...phase1, ...phase2, ...beforeRestart, ...afterRestart]);
  assert.ok(processed.slice(phase1.length + phase2.length).every(({ member }) => member === 'member-c'));
  await c.consumer.disconnect();
  // After the last member left cleanly the group is Empty, its offsets kept.
  await waitFor('group empty', () => broker.groups.describeGroup(GROUP)?.state === 'Empty');
});

test('manual commits, read back and administered by the admin client', async () => {
  const client = kafka(broker.port, 'kjs-manual');
  const admin = client.admin();
  await admin.connect();
  try {
    const consumer = client.consumer({ groupId: 'kjs-manual', sessionTimeout: 3000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommit: false, eachMessage: async () => void seen++ });
    await waitFor('messages seen', () => seen > 0);
    await consumer.commitOffsets([
      { topic: TOPIC, partition: 0, offset: '42' },
      { topic: TOPIC, partition: 3, offset: '7' },
    ]);
    await consumer.disconnect();
    const committed = await admin.fetchOffsets({ groupId: 'kjs-manual', topics: [TOPIC] });
    const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    assert.equal(byPartition.get(0), '42');
    assert.equal(byPartition.get(3), '7');
    assert.equal(byPartition.get(1), '-1', 'partitions without a commit read -1');

    const groups = await admin.listGroups();
    assert.ok(groups.groups.some((g) => g.groupId === 'kjs-manual' && g.protocolType === 'consumer'));
    const description = await admin.describeGroups(['kjs-manual']);
    assert.equal(description.groups[0]!.state, 'Empty');
    await admin.deleteGroups(['kjs-manual']);
    assert.equal(broker.groups.describeGroup('kjs-manual'), null);
  } finally {
    await admin.disconnect();
  }
});

/** A KafkaJS member in its own process, so that the test can kill it without a LeaveGroup. */
const CHILD_MEMBER = `
import kafkajs from ${JSON.stringify(createRequire(import.meta.url).resolve('kafkajs'))};
const [port, groupId, topic] = process.argv.slice(2);
const kafka = new kafkajs.Kafka({ clientId: 'doomed-member', brokers: ['127.0.0.1:' + port], logLevel: kafkajs.logLevel.NOTHING });
const consumer = kafka.consumer({ groupId, sessionTimeout: 2000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => console.log(JSON.stringify({ assigned: payload.memberAssignment[topic] ?? [] })));
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({ eachMessage: async ({ partition, message }) => console.log(JSON.stringify({ value: message.value.toString(), partition })) });
`;

test('a killed member\'s partitions move to the survivor after its session timeout, from its commits', async () => {
  const topic = 'kjs-kill';
  const group = 'kjs-kill-group';
  const admin = kafka(broker.port, 'kjs-kill-admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  await admin.disconnect();
  const seen: Array<{ value: string; partition: number; member: string }> = [];

  const survivor = kafka(broker.port, 'survivor').consumer({ groupId: group, sessionTimeout: 2000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  let survivorAssigned: number[] = [];
  survivor.on(survivor.events.GROUP_JOIN, ({ payload }) => (survivorAssigned = [...(payload.memberAssignment[topic] ?? [])].sort()));
  await survivor.connect();
  await survivor.subscribe({ topics: [topic], fromBeginning: true });
  await survivor.run({ eachMessage: async ({ partition, message }) => void seen.push({ value: message.value!.toString(), partition, member: 'survivor' }) });

  const script = join(dataDir.path, 'doomed-member.mjs');
  await writeFile(script, CHILD_MEMBER);
  const child = spawn(process.execPath, [script, String(broker.port), group, topic], { stdio: ['ignore', 'pipe', 'inherit'] });
  let childAssigned: number[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { assigned?: number[]; value?: string; partition?: number };
    if (event.assigned !== undefined) childAssigned = [...event.assigned].sort();
    else seen.push({ value: event.value!, partition: event.partition!, member: 'doomed' });
  });
  try {
    await waitFor('the partitions are split', () => childAssigned.length === 2 && survivorAssigned.length === 2);
    const producer = kafka(broker.port, 'kjs-kill-producer').producer();
    await producer.connect();
    const values = Array.from({ length: 80 }, (_, i) => `k-${i}`);
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ value, partition: i % 4 })) });
    await waitFor('all consumed', () => seen.length >= values.length);
    await waitFor('all committed', () => broker.groups.describeLag(group)?.partitions.filter((p) => p.committedOffset === 20n).length === 4);

    child.kill('SIGKILL');
    await once(child, 'exit');
    await waitFor('the survivor owns every partition', () => survivorAssigned.length === 4);
    const more = Array.from({ length: 40 }, (_, i) => `k-${80 + i}`);
    await producer.send({ topic, acks: -1, messages: more.map((value, i) => ({ value, partition: i % 4 })) });
    await producer.disconnect();
    await waitFor('the rest consumed', () => seen.length >= values.length + more.length);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const counts = new Map<string, number>();
    for (const { value } of seen) counts.set(value, (counts.get(value) ?? 0) + 1);
    assert.deepEqual([...values, ...more].filter((value) => counts.get(value) !== 1), [], 'each message processed exactly once');
    assert.ok(seen.slice(values.length).every(({ member }) => member === 'survivor'));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await survivor.disconnect();
  }
});
