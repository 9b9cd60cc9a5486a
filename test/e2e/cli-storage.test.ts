/**
 * The retention demo from the command line: a topic with a short retention.ms, records produced
 * into two segments, the broker's retention check deleting them, `topic describe` showing the log
 * start offset moved and `storage inspect` (read-only, on the running broker's directory) showing
 * the segments gone. Also `cluster info`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { runCli } from '../helpers/cli-run.js';

let broker: TestBroker;
let brokers: string[];

before(async () => {
  broker = await startTestBroker({ retentionCheckIntervalMs: 200 });
  brokers = ['--brokers', broker.bootstrap];
});

after(async () => {
  await broker.shutdown();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface InspectJson {
  totals: { partitions: number; segments: number; records: number };
  partitions: Array<{ topic: string; partition: number; logStartOffset: number; logEndOffset: number; segments: Array<{ baseOffset: number; records: number; codecs: Record<string, number> }> }>;
}

test('demo 3, retention: old segments are deleted and the log start offset moves', async () => {
  const created = await runCli(['topic', 'create', 'short', '-c', 'retention.ms=1000', '-c', 'segment.ms=100', ...brokers]);
  assert.equal(created.code, 0, created.stderr);
  await runCli(['produce', 'short', ...brokers], { input: 'a\nb\nc\nd\ne\n' });
  await sleep(150); // past segment.ms: the next append rolls a new segment
  await runCli(['produce', 'short', '-z', 'lz4', ...brokers], { input: 'f\ng\nh\ni\nj\n' });

  const before = await runCli(['storage', 'inspect', 'short', '--data-dir', broker.dataDir, '--json']);
  assert.equal(before.code, 0, before.stderr);
  const beforeReport = JSON.parse(before.stdout) as InspectJson;
  const partition = beforeReport.partitions[0]!;
  assert.equal(partition.logStartOffset, 0);
  assert.equal(partition.logEndOffset, 10);
  assert.deepEqual(
    partition.segments.map((s) => [s.baseOffset, s.records, s.codecs]),
    [
      [0, 5, { none: 1 }],
      [5, 5, { lz4: 1 }],
    ],
  );

  // The broker's retention check (every 200 ms here) deletes segments older than 1 s.
  let described = '';
  for (let i = 0; i < 50 && !/^0 +1 +0 +1 +1 +10 +10$/m.test(described); i++) {
    await sleep(200);
    described = (await runCli(['topic', 'describe', 'short', ...brokers])).stdout;
  }
  assert.match(described, /^PARTITION  LEADER  EPOCH  REPLICAS  ISR  LOG-START-OFFSET  HIGH-WATERMARK\n0 {10}1 {7}0 {6}1 {9}1 {4}10 {16}10$/m);
  assert.equal((await runCli(['consume', 'short', '-e', ...brokers])).stdout, '', 'nothing is left to read');

  const afterReport = JSON.parse((await runCli(['storage', 'inspect', 'short', '--data-dir', broker.dataDir, '--json'])).stdout) as InspectJson;
  const left = afterReport.partitions[0]!;
  assert.equal(left.logStartOffset, 10);
  assert.equal(left.logEndOffset, 10);
  assert.deepEqual(left.segments.map((s) => [s.baseOffset, s.records]), [[10, 0]], 'only the new, empty active segment is left');

  const text = await runCli(['storage', 'inspect', 'short', '--data-dir', broker.dataDir]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^PARTITION +SEGMENTS +SIZE +LOG-START +LOG-END +RECORDS +FIRST-TIMESTAMP +LAST-TIMESTAMP\nshort-0 +1 +0 B +10 +10 +0 +- +-$/m);
  assert.match(text.stdout, /^SHUTDOWN +no clean-shutdown marker: the broker is running/m);
  assert.match(text.stdout, /^SEGMENTS OF short-0\nBASE-OFFSET +SIZE +BATCHES/m);
  assert.match(text.stdout, /^- retention: no segment is past its topic's retention\.ms \/ retention\.bytes$/m);
  assert.match(text.stdout, /^- tails: every log ends on a whole batch$/m);
});

test('storage inspect: the whole directory, filters, and clear errors', async () => {
  await runCli(['topic', 'create', 'inspected', '-p', '2', ...brokers]);
  await runCli(['produce', 'inspected', '-p', '1', '-z', 'zstd', ...brokers], { input: 'x\ny\n' });
  const report = JSON.parse((await runCli(['storage', 'inspect', '-d', broker.dataDir, '--json'])).stdout) as InspectJson;
  const inspected = report.partitions.filter((p) => p.topic === 'inspected');
  assert.deepEqual(
    inspected.map((p) => [p.partition, p.logEndOffset, p.segments.reduce((n, s) => n + s.records, 0)]),
    [
      [0, 0, 0],
      [1, 2, 2],
    ],
  );
  const one = JSON.parse((await runCli(['storage', 'inspect', 'inspected-1', '-d', broker.dataDir, '--json'])).stdout) as InspectJson;
  assert.deepEqual(one.partitions.map((p) => `${p.topic}-${p.partition}`), ['inspected-1']);
  const text = (await runCli(['storage', 'inspect', '-d', broker.dataDir])).stdout;
  assert.match(text, /^- compression: .*zstd 1 batch/m);
  assert.match(text, /^- biggest topics: /m);

  const unknown = await runCli(['storage', 'inspect', 'nope', '-d', broker.dataDir]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, `tributary: no topic or partition 'nope' in ${broker.dataDir}; run without a filter to list them\n`);
  const notData = await runCli(['storage', 'inspect', '-d', '/nonexistent/tributary']);
  assert.equal(notData.code, 1);
  assert.equal(notData.stderr, "tributary: /nonexistent/tributary does not exist; give the broker's data directory with --data-dir\n");
});

test('storage inspect: a rolled segment keeps its indexes in memory until its flush; a clean close writes them', async () => {
  const own = await startTestBroker();
  try {
    const ownBrokers = ['--brokers', own.bootstrap];
    await runCli(['topic', 'create', 'rolled', '-c', 'segment.ms=100', ...ownBrokers]);
    await runCli(['produce', 'rolled', ...ownBrokers], { input: 'a\nb\nc\nd\ne\n' });
    await sleep(150); // past segment.ms: the next append rolls a new segment
    await runCli(['produce', 'rolled', ...ownBrokers], { input: 'f\ng\n' });
    // Filtered to one topic, the text report lists its segments. The rolled one waits for its
    // flush (log.roll.flush.delay.ms, 40 s), so its indexes are still in the broker's memory.
    const running = await runCli(['storage', 'inspect', 'rolled', '-d', own.dataDir]);
    assert.equal(running.code, 0, running.stderr);
    assert.match(
      running.stdout,
      /^BASE-OFFSET +SIZE +BATCHES +RECORDS .* INDEX +TIMEINDEX +TAIL\n0 +\d+ B +1 +5 +4 .* in memory +in memory +ok\n5 +\d+ B +1 +2 +6 .* in memory +in memory +ok$/m,
    );
    assert.match(running.stdout, /^- flush: 1 rolled segment waits for its flush and index files /m);
    assert.doesNotMatch(running.stdout, /^- indexes: /m);

    await own.close();
    const closed = await runCli(['storage', 'inspect', 'rolled', '-d', own.dataDir]);
    assert.match(closed.stdout, /^BASE-OFFSET +SIZE +BATCHES +RECORDS .* INDEX +TIMEINDEX +TAIL\n0 +\d+ B +1 +5 +4 .* \d+ B +\d+ B +ok\n5 +\d+ B +1 +2 +6 .* \d+ B +\d+ B +ok$/m);
    assert.doesNotMatch(closed.stdout, /^- flush: /m);
  } finally {
    await own.shutdown();
  }
});

test('cluster info: id, controller, brokers, counts and API versions', async () => {
  const info = await runCli(['cluster', 'info', ...brokers]);
  assert.equal(info.code, 0, info.stderr);
  const json = JSON.parse((await runCli(['cluster', 'info', '--json', ...brokers])).stdout) as { topics: number; internalTopics: number; partitions: number };
  assert.equal(
    info.stdout,
    [
      `CLUSTER     ${broker.clusterId}`,
      'CONTROLLER  1',
      'BROKERS     1',
      `TOPICS      ${json.topics}${json.internalTopics > 0 ? ` (+${json.internalTopics} internal)` : ''}`,
      `PARTITIONS  ${json.partitions}`,
      '',
      `ID  HOST       PORT${' '.repeat(String(broker.port).length - 4)}  RACK`,
      `1*  127.0.0.1  ${broker.port}  -`,
      '',
    ].join('\n'),
  );
  const versions = await runCli(['cluster', 'info', '--api-versions', ...brokers]);
  assert.match(versions.stdout, /^KEY +API +BROKER +CLIENT +USED$/m);
  assert.match(versions.stdout, /^0 +Produce +3-11 +3-11 +11$/m);
  assert.match(versions.stdout, /^1 +Fetch +4-17 +4-17 +17$/m);
  assert.match(versions.stdout, /^21 +DeleteRecords +0-2 +- +-$/m, 'APIs the client does not use are listed too');
});
