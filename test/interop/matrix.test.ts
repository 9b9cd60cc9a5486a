/**
 * The interop matrix: every producing client (kcat, kafka-python, confluent-kafka for Python,
 * confluent-kafka-javascript, KafkaJS, @platformatic/kafka) writes every codec it supports to its own
 * topic, and every client able to consume without a consumer group reads all of it back and must see
 * exactly what was sent: keys, values, headers, partitions, offsets, timestamps. The broker then
 * restarts on the same data directory and everything is read again.
 *
 * The broker runs as a user runs it: the CLI in a child process. It advertises the port of a
 * transparent proxy in front of it, which notes the API versions each client negotiates.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startCliBroker, type CliBroker } from './helpers/cli-broker.js';
import { SniffProxy } from './helpers/sniff-proxy.js';
import { KCAT } from './helpers/clients.js';
import { runOk } from './helpers/process.js';
import { PARTITIONS, compareReading, expectedRecords, type ConsumedRecord, type ExpectedRecord } from './helpers/dataset.js';
import { MATRIX_PRODUCERS, matrixJobs, matrixTopics } from './helpers/matrix-data.js';
import {
  confluentJsConsumer,
  confluentPythonConsumer,
  kafkaPythonConsumer,
  kcatConsumer,
  platformaticConsumer,
  type ConsumerClient,
  type PartitionToRead,
} from './helpers/consumers.js';
import { summariseNegotiation, API_NAMES } from './helpers/negotiation.js';

let dataDir: string;
let proxy: SniffProxy;
let broker: CliBroker;
let bootstrap: string;

const producers = MATRIX_PRODUCERS;
const consumers: ConsumerClient[] = [kcatConsumer, kafkaPythonConsumer, confluentPythonConsumer, confluentJsConsumer, platformaticConsumer];

const topicOf = (producer: string, codec: string) => `ix-${producer}-${codec}`;
const allTopics = matrixTopics(topicOf);

/** Everything acknowledged so far, in (topic, partition, offset) order of production. */
const expected: ExpectedRecord[] = [];
/** Timestamps the first consumer saw for records whose producer picked the timestamp itself. */
const firstSeenTimestamps = new Map<string, { consumer: string; timestamp: number }>();
const timings: string[] = [];

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings.push(`${label}: ${Date.now() - started} ms`);
  }
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-interop-'));
  proxy = new SniffProxy();
  const proxyPort = await proxy.listen();
  broker = await startCliBroker({ dataDir, advertisedPort: proxyPort });
  proxy.targetPort = broker.port;
  bootstrap = `127.0.0.1:${proxyPort}`;
  assert.equal(broker.advertisedPort, proxyPort, 'the listening line reports the advertised port');

  const admin = new kafkajs.Kafka({ clientId: 'interop-admin', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: allTopics.map((topic) => ({ topic, numPartitions: PARTITIONS })), waitForLeaders: true });
    assert.equal(created, true, 'all interop topics were created');
  } finally {
    await admin.disconnect();
  }
});

after(async () => {
  const exit = await broker?.stop();
  await proxy?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  assert.deepEqual(exit, { code: 0, signal: null }, `the broker exits 0 on SIGTERM\n${broker?.stderr().slice(-3000)}`);
});

async function assertKcatListing(port: number): Promise<void> {
  const { stdout } = await runOk(KCAT, ['-L', '-b', bootstrap, '-m', '10', '-X', 'client.id=kcat-metadata']);
  const listing = stdout.toString('utf8');
  assert.match(listing, /^ 1 brokers:$/m, listing);
  assert.match(listing, new RegExp(`^  broker 1 at 127\\.0\\.0\\.1:${port} \\(controller\\)$`, 'm'), `kcat -L shows the advertised address\n${listing}`);
  // Per topic: its header line, then one line per partition (internal topics such as
  // __consumer_offsets may be listed too, as Kafka lists them).
  const partitionsOf = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of listing.split('\n')) {
    const topic = /^ {2}topic "([^"]+)" with (\d+) partitions:$/.exec(line);
    if (topic !== null) {
      current = [];
      partitionsOf.set(topic[1]!, current);
    } else if (line.startsWith('    partition ')) current?.push(line.trim());
  }
  for (const topic of allTopics) {
    assert.ok(listing.includes(`  topic "${topic}" with ${PARTITIONS} partitions:`), `kcat -L lists ${topic} with ${PARTITIONS} partitions\n${listing}`);
    assert.deepEqual(
      partitionsOf.get(topic),
      Array.from({ length: PARTITIONS }, (_, p) => `partition ${p}, leader 1, replicas: 1, isrs: 1`),
      `${topic}: every partition is led by broker 1 with replicas [1] and ISR [1]\n${listing}`,
    );
  }
}

test('kcat -L shows the broker at its advertised address and every topic with its partitions', async () => {
  await assertKcatListing(proxy.port);
});

test('every producer writes every codec it supports, and the acknowledged offsets follow send order', async (t) => {
  for (const producer of producers) {
    await t.test(`${producer.name} (${producer.codecs.join(', ')})`, async () => {
      const jobs = matrixJobs(producer, topicOf);
      const started = Date.now();
      const outcome = await timed(`produce ${producer.name}`, () => producer.produce(bootstrap, jobs));
      const finished = Date.now();
      const jobExpected = jobs.map((job) => expectedRecords(job.topic, producer.name, job.codec, job.messages, [started, finished]));
      expected.push(...jobExpected.flat());
      if (Object.keys(outcome.info).length > 0) t.diagnostic(`${producer.name}: ${JSON.stringify(outcome.info)}`);
      if (!outcome.reportsOffsets) return;
      const problems: string[] = [];
      jobs.forEach((job, jobIndex) => {
        const reports = new Map(outcome.reports.filter((r) => r.job === jobIndex).map((r) => [r.index, r]));
        jobExpected[jobIndex]!.forEach((record, index) => {
          const report = reports.get(index);
          if (report === undefined) problems.push(`${job.topic} message ${index}: no acknowledgement`);
          else if (report.partition !== record.partition || report.offset !== record.offset) {
            problems.push(`${job.topic} message ${index}: acknowledged at ${report.partition}/${report.offset}, expected ${record.partition}/${record.offset}`);
          }
        });
      });
      assert.deepEqual(problems, [], `${producer.name}: acknowledgements differ from send order:\n${problems.slice(0, 20).join('\n')}`);
    });
  }
});

test('the high watermark of every partition equals the number of messages produced to it', async () => {
  const admin = new kafkajs.Kafka({ clientId: 'interop-admin', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const problems: string[] = [];
    for (const topic of new Set(expected.map((e) => e.topic))) {
      const offsets = await admin.fetchTopicOffsets(topic);
      for (const { partition, high, low } of offsets) {
        const want = expected.filter((e) => e.topic === topic && e.partition === partition).length;
        if (Number(high) !== want || Number(low) !== 0) problems.push(`${topic}/${partition}: [${low}, ${high}), expected [0, ${want})`);
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    await admin.disconnect();
  }
});

function partitionsFor(consumer: ConsumerClient): { partitions: PartitionToRead[]; wanted: ExpectedRecord[]; skipped: string[] } {
  const why = (e: ExpectedRecord): string | null => {
    if (!consumer.codecs.includes(e.codec)) return `cannot decompress ${e.codec} here`;
    return consumer.cannotRead?.find((c) => c.producer === e.producer && c.codec === e.codec)?.reason ?? null;
  };
  const wanted = expected.filter((e) => why(e) === null);
  const skipped = [...new Set(expected.filter((e) => why(e) !== null).map((e) => `${e.topic} (${why(e)})`))];
  const ends = new Map<string, PartitionToRead>();
  for (const topic of new Set(wanted.map((e) => e.topic))) {
    for (let partition = 0; partition < PARTITIONS; partition++) ends.set(`${topic}/${partition}`, { topic, partition, end: 0 });
  }
  for (const record of wanted) {
    const entry = ends.get(`${record.topic}/${record.partition}`)!;
    entry.end = Math.max(entry.end, record.offset + 1);
  }
  return { partitions: [...ends.values()], wanted, skipped };
}

/** Timestamps the producer's clock chose must read the same through every consumer. */
function crossCheckTimestamps(consumer: string, wanted: ExpectedRecord[], records: ConsumedRecord[]): string[] {
  const clockChosen = new Set(wanted.filter((e) => e.message.timestamp === null).map((e) => `${e.topic}/${e.partition}/${e.offset}`));
  const problems: string[] = [];
  for (const record of records) {
    const position = `${record.topic}/${record.partition}/${record.offset}`;
    if (!clockChosen.has(position)) continue;
    const first = firstSeenTimestamps.get(position);
    if (first === undefined) firstSeenTimestamps.set(position, { consumer, timestamp: record.timestamp });
    else if (first.timestamp !== record.timestamp) problems.push(`${position}: ${consumer} read timestamp ${record.timestamp}, ${first.consumer} read ${first.timestamp}`);
  }
  return problems;
}

async function readEverythingWithEveryConsumer(t: { test: (name: string, fn: (t: any) => Promise<void>) => Promise<void> }, phase: string): Promise<void> {
  assert.ok(expected.length > 0, 'something was produced');
  for (const consumer of consumers) {
    await t.test(consumer.name, async (st: { diagnostic: (message: string) => void }) => {
      const { partitions, wanted, skipped } = partitionsFor(consumer);
      if (skipped.length > 0) st.diagnostic(`${consumer.name} does not read: ${skipped.join('; ')}`);
      const outcome = await timed(`consume ${consumer.name} (${phase})`, () => consumer.consume(bootstrap, partitions));
      if (Object.keys(outcome.info).length > 0) st.diagnostic(`${consumer.name}: ${JSON.stringify(outcome.info)}`);
      const problems = compareReading(consumer.name, wanted, outcome.records, consumer.quirks);
      problems.push(...crossCheckTimestamps(consumer.name, wanted, outcome.records));
      assert.equal(outcome.records.length, wanted.length, `${consumer.name} read ${outcome.records.length} records, expected ${wanted.length}\n${problems.join('\n\n')}`);
      assert.deepEqual(problems, [], `${consumer.name} (${phase}) read something else than was produced:\n\n${problems.join('\n\n')}`);
    });
  }
}

test('every consumer reads every producer’s records back byte-exact', async (t) => {
  await readEverythingWithEveryConsumer(t, 'before restart');
});

test('after a restart on the same data directory, every consumer reads everything again', async (t) => {
  const exit = await broker.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM stops the broker with exit code 0\n${broker.stderr().slice(-3000)}`);
  assert.equal(broker.stdout().trim().split('\n').length, 1, `the CLI printed exactly one line on stdout:\n${broker.stdout()}`);
  proxy.dropConnections();
  broker = await startCliBroker({ dataDir, advertisedPort: proxy.port });
  proxy.targetPort = broker.port;
  await assertKcatListing(proxy.port);
  await readEverythingWithEveryConsumer(t, 'after restart');
});

test('every client negotiated API versions within the broker’s advertised ranges', async (t) => {
  const clients = [
    'kcat-producer',
    'kcat-consumer',
    'kcat-metadata',
    'kafka-python-producer',
    'kafka-python-consumer',
    'confluent-python-producer',
    'confluent-python-consumer',
    'confluent-js-producer',
    'confluent-js-consumer',
    'kafkajs-producer',
    'platformatic-producer',
    'platformatic-consumer',
  ];
  const summary = await summariseNegotiation(proxy.seen, broker.port);
  for (const line of summary.lines) t.diagnostic(line);
  for (const line of timings) t.diagnostic(`timing ${line}`);
  assert.deepEqual(summary.outOfRange, [], 'requests outside the advertised version ranges');
  for (const client of clients) assert.ok(summary.byClient.has(client), `${client} talked to the broker through the proxy`);
  const usedProduce = ['kcat-producer', 'kafka-python-producer', 'confluent-python-producer', 'confluent-js-producer', 'kafkajs-producer', 'platformatic-producer'];
  for (const client of usedProduce) assert.ok(summary.byClient.get(client)!.has(API_NAMES.get(0)!), `${client} sent Produce`);
  const usedFetch = ['kcat-consumer', 'kafka-python-consumer', 'confluent-python-consumer', 'confluent-js-consumer', 'platformatic-consumer'];
  for (const client of usedFetch) assert.ok(summary.byClient.get(client)!.has(API_NAMES.get(1)!), `${client} sent Fetch`);
});
