/**
 * `tributary metrics` against an in-process broker with its admin listener on: after known traffic
 * (a topic created, 3 records produced, 1 consumed and committed by a group) the summary shows
 * exactly that traffic, the partition's offsets and the group's lag; `--interval` shows the rate
 * of records produced during the interval; `--raw` lists samples; errors name the fix.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { runCli, startCli } from '../helpers/cli-run.js';

const { Kafka, logLevel } = kafkajs;

let broker: TestBroker;
let brokers: string[];
let admin: string;

before(async () => {
  broker = await startTestBroker({ adminPort: 0 });
  brokers = ['--brokers', broker.bootstrap];
  admin = `127.0.0.1:${broker.adminPort}`;
});

after(async () => {
  await broker.shutdown();
});

interface SummaryJson {
  broker: { nodeId: string; clusterId: string; version: string; uptimeSeconds: number };
  requests: Array<{ api: string; count: number; p50Seconds: number | null; p99Seconds: number | null; requestBytes: number }>;
  partitions: Array<{ topic: string; partition: number; logStartOffset: number; logEndOffset: number; sizeBytes: number; recordsPerSecond: number | null }>;
  groups: { byState: Record<string, number>; lag: Array<{ group: string; topic: string; partition: number; committedOffset: number; lag: number }> };
}

test('the summary after known traffic: requests, partition offsets, group lag', async () => {
  assert.equal((await runCli(['topic', 'create', 'watched', ...brokers])).code, 0);
  assert.equal((await runCli(['produce', 'watched', ...brokers], { input: 'one\ntwo\nthree\n' })).code, 0);
  const consumed = await runCli(['consume', 'watched', '-g', 'watchers', '-n', '1', ...brokers]);
  assert.equal(consumed.stdout, 'one\n');

  const json = await runCli(['metrics', '--admin', admin, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const summary = JSON.parse(json.stdout) as SummaryJson;
  assert.equal(summary.broker.nodeId, String(broker.nodeId));
  assert.equal(summary.broker.clusterId, broker.clusterId);
  assert.ok(summary.broker.uptimeSeconds >= 0 && summary.broker.uptimeSeconds < 600);
  const produce = summary.requests.find((r) => r.api === 'Produce');
  assert.equal(produce?.count, 1, 'one Produce request carried the three lines');
  assert.ok(produce.p50Seconds !== null && produce.p50Seconds > 0 && produce.p99Seconds! >= produce.p50Seconds);
  assert.equal(summary.requests.find((r) => r.api === 'CreateTopics')?.count, 1);
  assert.deepEqual(
    summary.partitions.filter((p) => p.topic === 'watched').map((p) => [p.partition, p.logStartOffset, p.logEndOffset, p.recordsPerSecond]),
    [[0, 0, 3, null]],
  );
  assert.deepEqual(summary.groups.lag, [{ group: 'watchers', topic: 'watched', partition: 0, committedOffset: 1, lag: 2 }]);
  assert.deepEqual(summary.groups.byState, { Empty: 1 });

  const text = await runCli(['metrics', '-a', String(broker.adminPort)]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^BROKER +node ${broker.nodeId}, cluster ${broker.clusterId}, Tributary \\S+$`, 'm'));
  assert.match(text.stdout, /^CONNECTIONS +\d+ open \(\d+ opened, \d+ closed, 0 refused\)$/m);
  assert.match(text.stdout, /^GROUPS +1 Empty$/m);
  assert.match(text.stdout, /^REQUESTS \(latency since start\)\nAPI +REQUESTS +IN +OUT +P50 +P99$/m);
  assert.match(text.stdout, /^Produce +1 +\d+ B +\d+ B +[\d.]+ ms +[\d.]+ ms$/m);
  assert.match(text.stdout, /^watched +0 +0 +3 +\d+ B$/m);
  assert.match(text.stdout, /^CONSUMER GROUP LAG\nGROUP +TOPIC +PARTITION +COMMITTED +LAG\nwatchers +watched +0 +1 +2$/m);
});

test('--interval: rates of what happened between two scrapes', async () => {
  const kafka = new Kafka({ clientId: 'metrics-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'rated', messages: [{ value: 'warm-up' }] }); // auto-creates the topic
  const watching = startCli(['metrics', '-a', admin, '--interval', '2', '--json']);
  // Produce once the first scrape is done, which the command says on stderr.
  while (!watching.output().stderr.includes('scraping again in 2 s')) {
    assert.equal(watching.output().code, null, watching.output().stderr);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await producer.send({ topic: 'rated', messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })) });
  await producer.disconnect();
  assert.equal(await watching.exited, 0, watching.output().stderr);
  const summary = JSON.parse(watching.output().stdout) as SummaryJson & { intervalSeconds: number };
  assert.equal(summary.intervalSeconds, 2);
  assert.deepEqual(
    summary.partitions.filter((p) => p.topic === 'rated').map((p) => [p.logEndOffset, p.recordsPerSecond]),
    [[11, 5]],
    '10 records in 2 seconds',
  );
});

test('--raw lists the samples of the metrics named by a prefix', async () => {
  const raw = await runCli(['metrics', '-a', admin, '--raw', 'tributary_consumer_group_lag']);
  assert.equal(raw.code, 0, raw.stderr);
  const labels = 'group="watchers",topic="watched",partition="0"';
  assert.equal(raw.stdout, [`NAME                          ${'LABELS'.padEnd(labels.length)}  VALUE`, `tributary_consumer_group_lag  ${labels}  2`, ''].join('\n'));
});

test('errors name the fix: no address (2), nothing listening (3), not a metrics endpoint (1)', async () => {
  const missing = await runCli(['metrics']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /give the admin listener's address with --admin host:port \(or TRIBUTARY_ADMIN\)/);

  const closed = await runCli(['metrics', '-a', '127.0.0.1:1']);
  assert.equal(closed.code, 3);
  assert.match(closed.stderr, /cannot read http:\/\/127\.0\.0\.1:1\/metrics \(ECONNREFUSED\)\. Is the broker running with its admin listener on\? Start it with --admin-port/);

  const health = await runCli(['metrics', '-a', `${admin}/health`]);
  assert.equal(health.code, 1);
  assert.match(health.stderr, /\/health: line 1 of the metrics is not in the Prometheus text format/);
});
