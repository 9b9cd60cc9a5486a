/**
 * Consumers that can only read through a consumer group: KafkaJS, @platformatic/kafka's consume(),
 * and subscribe() in kcat (-G), kafka-python, confluent-kafka (Python) and
 * confluent-kafka-javascript. Each joins its own group, reads everything from the earliest offset,
 * commits, and must see exactly what was produced. The committed offsets must then survive a broker
 * restart, so that a member rejoining its group gets only what was produced after its commit.
 *
 * The Node group consumers (KafkaJS and @platformatic/kafka) also read back the matrix's whole data
 * set (helpers/matrix-data.ts: every producing client, every codec) as far as they can decode it,
 * byte-exact, before and after the broker restarts: KafkaJS none and gzip (all it has without
 * add-on codecs), @platformatic/kafka what it decompresses on this Node version.
 *
 * This is the part of the suite that needs the group coordinator (FindCoordinator, JoinGroup,
 * SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, LeaveGroup). Like the matrix, the broker runs
 * from the CLI behind the recording proxy, so the group API versions each client used are reported.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { Consumer as PlatformaticConsumer } from '@platformatic/kafka';
import { startCliBroker, type CliBroker } from './helpers/cli-broker.js';
import { SniffProxy } from './helpers/sniff-proxy.js';
import { summariseNegotiation } from './helpers/negotiation.js';
import { KCAT, PYTHON, loadConfluentJs } from './helpers/clients.js';
import { jsonLines, runOk } from './helpers/process.js';
import { PARTITIONS, compareReading, expectedRecords, makeMessages, type ConsumedRecord, type ExpectedRecord, type Header, type ProducerCapabilities } from './helpers/dataset.js';
import { confluentPythonProducer, kafkajsProducer, withTimeout, type Job } from './helpers/producers.js';
import { CONSUME_PY, KCAT_FORMAT, parseKcatOutput, platformaticConsumer, recordFromJson } from './helpers/consumers.js';
import { decodableBy, matrixTopics, produceMatrix } from './helpers/matrix-data.js';

const TOPICS = ['grp-librdkafka-gzip', 'grp-kafkajs-none'];
const CONSUMER_DEADLINE_MS = 45_000;

let dataDir: string;
let proxy: SniffProxy;
let broker: CliBroker;
let bootstrap: string;
const expected: ExpectedRecord[] = [];

/** The matrix's data set, on topics of its own. */
const matrixTopicOf = (producer: string, codec: string) => `gm-${producer}-${codec}`;
const MATRIX_TOPICS = matrixTopics(matrixTopicOf);
let matrixExpected: ExpectedRecord[] = [];
/** What KafkaJS decompresses without add-on codec packages. */
const KAFKAJS_GROUP_CONSUMER = { codecs: ['none', 'gzip'] };

/** What every group consumer here can represent: KafkaJS keeps headers in an object (no duplicate names, no null values). */
const caps: ProducerCapabilities = {
  nullKey: true,
  emptyKey: true,
  nullValue: true,
  emptyValue: true,
  headers: true,
  nullHeaderValue: false,
  emptyHeaderValue: true,
  duplicateHeaderKeys: false,
  explicitTimestamps: true,
};

before(async () => {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-groups-'));
  // The broker advertises a recording proxy, so the versions each client used can be reported.
  proxy = new SniffProxy();
  await proxy.listen();
  broker = await startCliBroker({ dataDir, advertisedPort: proxy.port });
  proxy.targetPort = broker.port;
  bootstrap = `127.0.0.1:${proxy.port}`;
  const admin = new kafkajs.Kafka({ clientId: 'groups-admin', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [...TOPICS, ...MATRIX_TOPICS].map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
  await admin.disconnect();

  const produce = async (producer: typeof kafkajsProducer, topic: string, codec: string) => {
    const job: Job = { topic, codec, messages: makeMessages(producer.name, codec, caps) };
    const started = Date.now();
    await producer.produce(bootstrap, [job]);
    expected.push(...expectedRecords(topic, producer.name, codec, job.messages, [started, Date.now()]));
  };
  // librdkafka (through confluent-kafka for Python) writes gzip, KafkaJS uncompressed.
  await produce(confluentPythonProducer, TOPICS[0]!, 'gzip');
  await produce(kafkajsProducer, TOPICS[1]!, 'none');
  matrixExpected = await produceMatrix(bootstrap, matrixTopicOf);
});

after(async () => {
  await broker?.stop();
  await proxy?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function assertReadExactly(consumer: string, records: ConsumedRecord[]): void {
  const problems = compareReading(consumer, expected, records, consumer === 'confluent-js' ? { nullHeaderValueReadsEmpty: true } : {});
  assert.deepEqual(problems, [], `${consumer} read something else than was produced:\n\n${problems.join('\n\n')}`);
  assert.equal(records.length, expected.length);
}

/**
 * KafkaJS hands out headers as an object: a repeated name becomes an array at the name's first
 * position (the original order survives when repeats are adjacent, as in the matrix data set), and a
 * null value stays null.
 */
function headersFromObject(headers: Record<string, Buffer | string | Array<Buffer | string> | undefined> | undefined): Header[] {
  return Object.entries(headers ?? {}).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => ({ key, value: v === undefined || v === null ? null : Buffer.from(v) })),
  );
}

/** KafkaJS: subscribe from the beginning, read everything, commit (after each batch), leave. */
async function readWithKafkaJs(groupId: string, count: number, lingerMs = 0, topics: string[] = TOPICS): Promise<ConsumedRecord[]> {
  const kafka = new kafkajs.Kafka({ clientId: `kafkajs-${groupId}`, brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, (event: { payload: { error: Error } }) => reject(event.payload.error));
        void consumer.run({
          eachMessage: async ({ topic, partition, message }) => {
            records.push({
              topic,
              partition,
              offset: Number(message.offset),
              timestamp: Number(message.timestamp),
              key: message.key,
              value: message.value,
              headers: headersFromObject(message.headers as never),
            });
            if (records.length >= count) resolve();
          },
        });
      }),
      CONSUMER_DEADLINE_MS,
      `KafkaJS group ${groupId} (${records.length} of ${count} records)`,
    );
    // Anything more that arrives meanwhile is recorded too.
    if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

test('KafkaJS reads everything through a consumer group', { timeout: 90_000 }, async () => {
  assertReadExactly('kafkajs', await readWithKafkaJs('g-kafkajs', expected.length));
});

/** @platformatic/kafka: consume() from the earliest offset with autocommit, until `count` records arrived. */
async function readWithPlatformatic(groupId: string, topics: string[], count: number): Promise<ConsumedRecord[]> {
  const consumer = new PlatformaticConsumer({ clientId: 'platformatic-group', groupId, bootstrapBrokers: [bootstrap], sessionTimeout: 10_000, heartbeatInterval: 500 });
  const records: ConsumedRecord[] = [];
  try {
    const stream = await withTimeout(consumer.consume({ topics, mode: 'earliest', autocommit: true }), CONSUMER_DEADLINE_MS, 'platformatic consume()');
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.on('data', (message) => {
          records.push({
            topic: message.topic,
            partition: message.partition,
            offset: Number(message.offset),
            timestamp: Number(message.timestamp),
            key: message.key ?? null,
            value: message.value ?? null,
            headers: [...message.headers].map(([key, value]) => ({ key: key.toString('utf8'), value: value ?? null })),
          });
          if (records.length >= count) resolve();
        });
      }),
      CONSUMER_DEADLINE_MS,
      `platformatic group ${groupId} (${records.length} of ${count} records)`,
    );
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return records;
}

test('@platformatic/kafka reads everything through a consumer group', { timeout: 90_000 }, async () => {
  assertReadExactly('platformatic', await readWithPlatformatic('g-platformatic', TOPICS, expected.length));
});

/**
 * KafkaJS and @platformatic/kafka, each in a group of its own, read every matrix topic they can
 * decode from the beginning and must report exactly what each producer wrote.
 */
async function readMatrixWithNodeGroupConsumers(t: { test: (name: string, fn: (t: any) => Promise<void>) => Promise<void> }, phase: string): Promise<void> {
  assert.ok(matrixExpected.length > 0, 'the matrix data set was produced');
  const readers = [
    { name: 'kafkajs', consumer: KAFKAJS_GROUP_CONSUMER, read: (group: string, topics: string[], count: number) => readWithKafkaJs(group, count, 0, topics) },
    { name: 'platformatic', consumer: platformaticConsumer, read: readWithPlatformatic },
  ];
  for (const reader of readers) {
    await t.test(reader.name, async (st: { diagnostic: (message: string) => void }) => {
      const { wanted, skipped } = decodableBy(reader.consumer, matrixExpected);
      const topics = [...new Set(wanted.map((e) => e.topic))];
      st.diagnostic(`${reader.name} reads ${topics.length} topics (${wanted.length} records) of ${new Set(wanted.map((e) => e.producer)).size} producers`);
      if (skipped.length > 0) st.diagnostic(`${reader.name} does not read: ${skipped.join('; ')}`);
      const records = await reader.read(`g-matrix-${reader.name}-${phase.replace(/\W+/g, '-')}`, topics, wanted.length);
      const problems = compareReading(`${reader.name} (group, ${phase})`, wanted, records);
      assert.deepEqual(problems, [], `${reader.name} (${phase}) read something else than was produced:\n\n${problems.join('\n\n')}`);
      assert.equal(records.length, wanted.length);
    });
  }
}

test('the Node group consumers read every matrix producer’s records they can decode, byte-exact', { timeout: 180_000 }, async (t) => {
  await readMatrixWithNodeGroupConsumers(t, 'before restart');
});

for (const client of ['kafka-python', 'confluent'] as const) {
  test(`${client === 'confluent' ? 'confluent-kafka (Python)' : 'kafka-python'} reads everything with subscribe()`, { timeout: 90_000 }, async () => {
    const input = JSON.stringify({ bootstrap, client, clientId: `${client}-group`, group: `g-${client}`, topics: TOPICS, count: expected.length, timeoutSeconds: CONSUMER_DEADLINE_MS / 1000 });
    const result = await runOk(PYTHON, [CONSUME_PY], { input, timeoutMs: CONSUMER_DEADLINE_MS + 15_000 });
    const records = jsonLines(result.stdout).filter((line) => line.done !== true).map(recordFromJson);
    assertReadExactly(client === 'confluent' ? 'confluent-python' : 'kafka-python', records);
  });
}

test('kcat -G reads everything through a balanced consumer group', { timeout: 90_000 }, async () => {
  const args = ['-b', bootstrap, '-G', 'g-kcat', '-X', 'client.id=kcat-group', '-X', 'auto.offset.reset=earliest', '-c', String(expected.length), '-q', '-f', KCAT_FORMAT, ...TOPICS];
  const result = await runOk(KCAT, args, { timeoutMs: CONSUMER_DEADLINE_MS });
  const records = parseKcatOutput(result.stdout, TOPICS);
  const problems = compareReading('kcat', expected, records);
  assert.deepEqual(problems, [], problems.join('\n\n'));
});

test('confluent-kafka-javascript reads everything with subscribe()', { timeout: 90_000 }, async () => {
  const { KafkaConsumer } = loadConfluentJs();
  const consumer = new KafkaConsumer(
    { 'metadata.broker.list': bootstrap, 'client.id': 'confluent-js-group', 'group.id': 'g-confluent-js', 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000 }, (error: Error | null) => (error ? reject(error) : resolve())));
  const records: ConsumedRecord[] = [];
  try {
    consumer.setDefaultConsumeTimeout(200);
    consumer.subscribe(TOPICS);
    const deadline = Date.now() + CONSUMER_DEADLINE_MS;
    while (records.length < expected.length) {
      assert.ok(Date.now() < deadline, `confluent-js group: ${records.length} of ${expected.length} records within ${CONSUMER_DEADLINE_MS} ms`);
      const batch: any[] = await new Promise((resolve, reject) => consumer.consume(500, (error: Error | null, messages: any[]) => (error ? reject(error) : resolve(messages))));
      for (const message of batch) {
        records.push({
          topic: message.topic,
          partition: message.partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          key: message.key == null ? null : Buffer.from(message.key),
          value: message.value === null ? null : Buffer.from(message.value),
          headers: (message.headers ?? []).flatMap((h: Record<string, Buffer>) => Object.entries(h).map(([key, value]) => ({ key, value }))),
        });
      }
    }
    // Asynchronous commit: the recording proxy shares this thread, so a blocking commitSync() would
    // wait forever for an answer the proxy cannot forward.
    consumer.commit();
    // Wait until the broker reports the commit (committed() asks it with OffsetFetch).
    const highWatermarks = new Map<string, number>();
    for (const record of expected) highWatermarks.set(`${record.topic}/${record.partition}`, record.offset + 1);
    const commitDeadline = Date.now() + 15_000;
    for (;;) {
      const offsets: Array<{ topic: string; partition: number; offset: number }> = await new Promise((resolve, reject) =>
        consumer.committed(5000, (error: Error | null, partitions: any[]) => (error ? reject(error) : resolve(partitions))),
      );
      const done = offsets.length === highWatermarks.size && offsets.every((p) => highWatermarks.get(`${p.topic}/${p.partition}`) === Number(p.offset));
      if (done) break;
      assert.ok(Date.now() < commitDeadline, `confluent-js: the commit shows within 15 s; committed ${JSON.stringify(offsets)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  assertReadExactly('confluent-js', records);
});

test('committed offsets survive a restart: a member rejoining its group gets only what came after its commit', { timeout: 120_000 }, async () => {
  const kafka = () => new kafkajs.Kafka({ clientId: 'groups-admin', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING });
  const highWatermarks = new Map<string, number>();
  for (const record of expected) {
    const key = `${record.topic}/${record.partition}`;
    highWatermarks.set(key, Math.max(highWatermarks.get(key) ?? 0, record.offset + 1));
  }
  const committed = async (groupId: string) => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId, topics: TOPICS });
      return new Map(offsets.flatMap(({ topic, partitions }) => partitions.map((p) => [`${topic}/${p.partition}`, Number(p.offset)] as const)));
    } finally {
      await admin.disconnect();
    }
  };
  const groups = ['g-kafkajs', 'g-kafka-python', 'g-confluent', 'g-confluent-js', 'g-platformatic', 'g-kcat'];
  const before = new Map<string, Map<string, number>>();
  for (const group of groups) before.set(group, await committed(group));
  const kafkajsCommits = before.get('g-kafkajs')!;
  assert.deepEqual(Object.fromEntries(kafkajsCommits), Object.fromEntries(highWatermarks), 'KafkaJS committed every partition up to its high watermark');

  assert.deepEqual(await broker.stop(), { code: 0, signal: null });
  proxy.dropConnections();
  broker = await startCliBroker({ dataDir, advertisedPort: proxy.port });
  proxy.targetPort = broker.port;
  for (const group of groups) {
    assert.deepEqual(Object.fromEntries(await committed(group)), Object.fromEntries(before.get(group)!), `${group}: committed offsets after the restart`);
  }

  const producer = kafka().producer();
  await producer.connect();
  const [sent] = await producer.send({ topic: TOPICS[1]!, acks: -1, messages: [{ partition: 0, key: 'after-restart', value: 'only this one' }] });
  await producer.disconnect();
  const again = await readWithKafkaJs('g-kafkajs', 1, 2000);
  assert.deepEqual(
    again.map((r) => [r.topic, r.partition, r.offset, r.value?.toString()]),
    [[TOPICS[1], 0, Number(sent!.baseOffset), 'only this one']],
    'the rejoining member resumes from its committed offsets',
  );
});

test('after the restart, the Node group consumers read every matrix producer’s records again', { timeout: 180_000 }, async (t) => {
  await readMatrixWithNodeGroupConsumers(t, 'after restart');
});

test('every group client negotiated API versions within the broker’s advertised ranges', async (t) => {
  const summary = await summariseNegotiation(proxy.seen, broker.port);
  for (const line of summary.lines) t.diagnostic(line);
  assert.deepEqual(summary.outOfRange, []);
  for (const client of ['kafkajs-g-kafkajs', 'platformatic-group', 'kafka-python-group', 'confluent-group', 'confluent-js-group', 'kcat-group']) {
    assert.ok(summary.byClient.get(client)?.has('JoinGroup'), `${client} joined its group through the proxy`);
  }
});
