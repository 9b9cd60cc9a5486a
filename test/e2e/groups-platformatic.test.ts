/**
 * @platformatic/kafka consumer groups (JoinGroup v9, SyncGroup v5, OffsetCommit/OffsetFetch v9,
 * batched FindCoordinator): consuming with manual commits and resuming from them, and a mixed group
 * of a KafkaJS and a platformatic member splitting one topic.
 *
 * Both libraries use the "consumer" protocol type with the v0 subscription layout, but name their
 * round-robin assignor differently (KafkaJS "RoundRobinAssigner", platformatic "roundrobin"); the
 * coordinator only picks a protocol every member supports, so the KafkaJS member offers its
 * round-robin assignor under platformatic's name.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const { Kafka, logLevel, PartitionAssigners } = kafkajs;

let broker: TestBroker;
const closers: Array<() => Promise<unknown>> = [];

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function produce(topic: string, values: string[], partitions: number): Promise<void> {
  const producer = new Producer({ clientId: 'pf-producer', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
  try {
    await producer.send({ messages: values.map((value, i) => ({ topic, value, partition: i % partitions })), acks: -1 });
  } finally {
    await producer.close();
  }
}

function platformaticConsumer(groupId: string, clientId: string) {
  const consumer = new Consumer({
    groupId,
    clientId,
    bootstrapBrokers: [broker.bootstrap],
    deserializers: stringDeserializers,
    sessionTimeout: 3000,
    rebalanceTimeout: 6000,
    heartbeatInterval: 200,
    maxWaitTime: 100,
  });
  closers.push(async () => {
    try {
      await consumer.close(true);
    } catch {
      // already closed
    }
  });
  return consumer;
}

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  broker = await startTestBroker({ groupInitialRebalanceDelayMs: 50, groupMinSessionTimeoutMs: 1000 });
  const admin = new Kafka({ clientId: 'pf-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'pf-orders', numPartitions: 3 }, { topic: 'pf-mixed', numPartitions: 6 }] });
  await admin.disconnect();
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await broker.shutdown();
});

test('platformatic consumer: manual commits, and a later member resumes from them', async () => {
  const first = Array.from({ length: 90 }, (_, i) => `first-${i}`);
  await produce('pf-orders', first, 3);

  const consumer = platformaticConsumer('pf-group', 'pf-consumer-1');
  const stream = await consumer.consume({
    topics: ['pf-orders'],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: false,
  });
  const seen: string[] = [];
  let commits: Array<Promise<void>> = [];
  stream.on('data', (message) => {
    seen.push(message.value);
    commits.push(Promise.resolve(message.commit()));
  });
  await waitFor('first batch consumed', () => seen.length >= first.length);
  await Promise.all(commits);
  assert.deepEqual([...seen].sort(), [...first].sort());
  const committed = broker.groups.fetchOffsets('pf-group', [{ name: 'pf-orders', partitions: [0, 1, 2] }]);
  assert.deepEqual(committed.topics[0]!.partitions.map((p) => p.offset), [30n, 30n, 30n]);
  const listed = await consumer.listCommittedOffsets({ topics: [{ topic: 'pf-orders', partitions: [0, 1, 2] }] });
  assert.deepEqual(listed.get('pf-orders'), [30n, 30n, 30n]);
  const described = broker.groups.describeGroup('pf-group')!;
  assert.equal(described.state, 'Stable');
  assert.equal(described.protocol, 'roundrobin');
  assert.equal(described.members[0]!.clientId, 'pf-consumer-1');
  await stream.close();
  await consumer.close(true);
  await waitFor('group empty', () => broker.groups.describeGroup('pf-group')?.state === 'Empty');

  // A new member of the group starts from the committed offsets: only new messages.
  const second = Array.from({ length: 30 }, (_, i) => `second-${i}`);
  await produce('pf-orders', second, 3);
  const next = platformaticConsumer('pf-group', 'pf-consumer-2');
  const nextStream = await next.consume({
    topics: ['pf-orders'],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: 100,
  });
  const resumed: string[] = [];
  nextStream.on('data', (message) => resumed.push(message.value));
  await waitFor('second batch consumed', () => resumed.length >= second.length);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual([...resumed].sort(), [...second].sort(), 'nothing before the committed offsets, nothing twice');
  await waitFor('autocommit caught up', () =>
    broker.groups.fetchOffsets('pf-group', [{ name: 'pf-orders', partitions: [0, 1, 2] }]).topics[0]!.partitions.every((p) => p.offset === 40n),
  );
  commits = [];
  await nextStream.close();
  await next.close(true);
});

test('a mixed group: KafkaJS and platformatic members split one topic and hand over', async () => {
  const group = 'pf-mixed-group';
  const processed: Array<{ value: string; partition: number; member: string }> = [];

  // KafkaJS member, offering its round-robin assignor under the name platformatic uses.
  const kafkajsClient = new Kafka({ clientId: 'mixed-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const roundrobin: kafkajs.PartitionAssigner = (config) => ({ ...PartitionAssigners.roundRobin(config), name: 'roundrobin' });
  const kjs = kafkajsClient.consumer({ groupId: group, partitionAssigners: [roundrobin], sessionTimeout: 3000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  closers.push(() => kjs.disconnect().catch(() => undefined));
  let kjsAssigned: number[] = [];
  kjs.on(kjs.events.GROUP_JOIN, ({ payload }) => (kjsAssigned = [...(payload.memberAssignment['pf-mixed'] ?? [])].sort()));
  await kjs.connect();
  await kjs.subscribe({ topics: ['pf-mixed'], fromBeginning: true });
  await kjs.run({ eachMessage: async ({ partition, message }) => void processed.push({ value: message.value!.toString(), partition, member: 'kafkajs' }) });

  const pf = platformaticConsumer(group, 'mixed-platformatic');
  let pfAssigned: number[] = [];
  pf.on('consumer:group:join', ({ assignments }: { assignments: Array<{ topic: string; partitions: number[] }> }) => {
    pfAssigned = [...(assignments.find((a) => a.topic === 'pf-mixed')?.partitions ?? [])].sort();
  });
  const stream = await pf.consume({
    topics: ['pf-mixed'],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    autocommit: 100,
  });
  stream.on('data', (message) => processed.push({ value: message.value, partition: message.partition, member: 'platformatic' }));

  await waitFor('both members share the partitions', () => {
    const description = broker.groups.describeGroup(group);
    return description?.state === 'Stable' && description.members.length === 2 && kjsAssigned.length > 0 && pfAssigned.length > 0 && kjsAssigned.length + pfAssigned.length === 6;
  });
  assert.deepEqual([...kjsAssigned, ...pfAssigned].sort(), [0, 1, 2, 3, 4, 5], 'each partition owned by exactly one member');
  const description = broker.groups.describeGroup(group)!;
  assert.equal(description.protocol, 'roundrobin');
  assert.deepEqual(description.members.map((m) => m.clientId).sort(), ['mixed-kafkajs', 'mixed-platformatic']);

  const values = Array.from({ length: 120 }, (_, i) => `mixed-${i}`);
  await produce('pf-mixed', values, 6);
  await waitFor('all consumed', () => processed.length >= values.length);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(processed.map((p) => p.value).sort(), [...values].sort(), 'every message once');
  for (const { partition, member } of processed) {
    assert.ok((member === 'kafkajs' ? kjsAssigned : pfAssigned).includes(partition), `partition ${partition} consumed by its owner`);
  }

  // The KafkaJS member leaves: the platformatic member takes every partition, from the commits.
  await waitFor('offsets committed', () => broker.groups.describeLag(group)?.totalLag === 0n && broker.groups.describeLag(group)!.partitions.length === 6);
  await kjs.disconnect();
  await waitFor('platformatic owns everything', () => pfAssigned.length === 6);
  const more = Array.from({ length: 60 }, (_, i) => `after-${i}`);
  await produce('pf-mixed', more, 6);
  await waitFor('hand-over consumed', () => processed.length >= values.length + more.length);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(processed.map((p) => p.value).sort(), [...values, ...more].sort(), 'nothing twice after the hand-over');
  assert.ok(processed.slice(values.length).every((p) => p.member === 'platformatic'));
  await stream.close();
});
