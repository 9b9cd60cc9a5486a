/**
 * `tributary produce` and `tributary consume` as processes: the hello-world and keyed-partitions
 * demos, output formats, start positions, codecs and headers, with exact expected output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { runCli } from '../helpers/cli-run.js';
import { javaPartitionOf6 } from '../unit/client/java-partitioner-fixtures.js';

let broker: TestBroker;
let brokers: string[];

before(async () => {
  broker = await startTestBroker({ storage: 'memory', groupInitialRebalanceDelayMs: 0 });
  brokers = ['--brokers', broker.bootstrap];
});

after(async () => {
  await broker.shutdown();
});

test('demo 1, hello world: create, produce a line, consume it', async () => {
  const created = await runCli(['topic', 'create', 'hello', ...brokers]);
  assert.equal(created.stdout, "Created topic 'hello' (1 partition, replication factor 1).\n");
  const produced = await runCli(['produce', 'hello', ...brokers], { input: 'hi\n' });
  assert.equal(produced.stderr, '');
  assert.equal(produced.stdout, "Produced 1 record (2 bytes) to 'hello'.\nPARTITION  RECORDS  FIRST-OFFSET  LAST-OFFSET\n0          1        0             0\n");
  assert.equal(produced.code, 0);
  const consumed = await runCli(['consume', 'hello', '--from', 'beginning', '-n', '1', ...brokers]);
  assert.equal(consumed.stdout, 'hi\n');
  assert.equal(consumed.stderr, '');
  assert.equal(consumed.code, 0);
});

test('demo 2, keyed records: the same key always lands on the partition Java would pick', async () => {
  await runCli(['topic', 'create', 'orders', '-p', '6', ...brokers]);
  const keys = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
  const lines = [...keys, ...keys].map((key, i) => `${key}:order-${i}`).join('\n');
  const produced = await runCli(['produce', 'orders', '-k', ':', '--json', ...brokers], { input: lines + '\n' });
  assert.equal(produced.code, 0, produced.stderr);
  const summary = JSON.parse(produced.stdout) as { records: number; partitions: Array<{ partition: number; records: number }> };
  assert.equal(summary.records, 16);

  const consumed = await runCli(['consume', 'orders', '-f', '%k %p %v', '-e', ...brokers]);
  assert.equal(consumed.code, 0, consumed.stderr);
  const seen = consumed.stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(' '));
  assert.equal(seen.length, 16);
  for (const [key, partition] of seen) assert.equal(Number(partition), javaPartitionOf6(key!), `${key} lands where Java puts it`);
  // Per partition, records come back in the order they were produced.
  const expected = new Map<number, string[]>();
  [...keys, ...keys].forEach((key, i) => expected.set(javaPartitionOf6(key), [...(expected.get(javaPartitionOf6(key)) ?? []), `order-${i}`]));
  const actual = new Map<number, string[]>();
  for (const [, partition, value] of seen) actual.set(Number(partition), [...(actual.get(Number(partition)) ?? []), value!]);
  assert.deepEqual(actual, expected);
  // The summary table counts the same partitions.
  assert.deepEqual(
    summary.partitions.map((p) => [p.partition, p.records]),
    [...expected].sort(([a], [b]) => a - b).map(([partition, values]) => [partition, values.length]),
  );
});

test('consume formats: JSON with text or base64 bytes, templates, headers, partitions', async () => {
  await runCli(['topic', 'create', 'formats', '-p', '2', ...brokers]);
  const produced = await runCli(['produce', 'formats', '-k', '=', '-H', 'source=test', '-H', 'n=1', '-p', '1', '-z', 'gzip', ...brokers], { input: 'k1=v1\nno separator\n' });
  assert.equal(produced.code, 0, produced.stderr);
  assert.equal(produced.stdout, "Produced 2 records (16 bytes) to 'formats'.\nPARTITION  RECORDS  FIRST-OFFSET  LAST-OFFSET\n1          2        0             1\n");

  const json = await runCli(['consume', 'formats', '--json', '-e', ...brokers]);
  const records = json.stdout
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(typeof records[0]?.timestamp, 'number');
  assert.deepEqual(
    records.map(({ timestamp: _ignored, ...rest }) => rest),
    [
      { topic: 'formats', partition: 1, offset: 0, key: 'k1', value: 'v1', headers: [{ key: 'source', value: 'test' }, { key: 'n', value: '1' }] },
      { topic: 'formats', partition: 1, offset: 1, key: null, value: 'no separator', headers: [{ key: 'source', value: 'test' }, { key: 'n', value: '1' }] },
    ],
  );

  const template = await runCli(['consume', 'formats', '-f', '%t/%p/%o %k|%v|%h\\n', '-e', ...brokers]);
  assert.equal(template.stdout, 'formats/1/0 k1|v1|source=test,n=1\nformats/1/1 |no separator|source=test,n=1\n');

  const onlyZero = await runCli(['consume', 'formats', '-p', '0', '-e', ...brokers]);
  assert.equal(onlyZero.stdout, '');
  assert.equal(onlyZero.code, 0);

  // Bytes that are not UTF-8 come back as base64 in JSON (the file holds a 0xff byte).
  const { writeFile, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const file = join(tmpdir(), `tributary-binary-${process.pid}.txt`);
  await writeFile(file, Buffer.from([0xff, 0x00, 0x41, 0x0a]));
  try {
    await runCli(['topic', 'create', 'binary', ...brokers]);
    assert.equal((await runCli(['produce', 'binary', '-f', file, ...brokers])).code, 0);
    const binary = await runCli(['consume', 'binary', '-f', 'json', '-n', '1', ...brokers]);
    assert.deepEqual((JSON.parse(binary.stdout) as { value: unknown }).value, { base64: Buffer.from([0xff, 0x00, 0x41]).toString('base64') });
  } finally {
    await rm(file, { force: true });
  }
});

test('start positions: offsets, N before the end, timestamps; codecs all round-trip', async () => {
  await runCli(['topic', 'create', 'positions', ...brokers]);
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    const result = await runCli(['produce', 'positions', '-z', codec, ...brokers], { input: `${codec}-1\n${codec}-2\n` });
    assert.equal(result.code, 0, result.stderr);
  }
  const all = await runCli(['consume', 'positions', '-e', ...brokers]);
  assert.equal(all.stdout, 'none-1\nnone-2\ngzip-1\ngzip-2\nsnappy-1\nsnappy-2\nlz4-1\nlz4-2\nzstd-1\nzstd-2\n');
  assert.equal((await runCli(['consume', 'positions', '--from', '7', '-e', ...brokers])).stdout, 'lz4-2\nzstd-1\nzstd-2\n');
  assert.equal((await runCli(['consume', 'positions', '--from', '-2', '-e', ...brokers])).stdout, 'zstd-1\nzstd-2\n');
  assert.equal((await runCli(['consume', 'positions', '--from', 'end', '-e', ...brokers])).stdout, '');
  const timestamps = await runCli(['consume', 'positions', '-f', '%T', '-e', ...brokers]);
  const fourth = timestamps.stdout.split('\n')[3]!;
  const fromTime = await runCli(['consume', 'positions', '--from', `@${fourth}`, '-n', '1', '-f', '%o', ...brokers]);
  assert.ok(Number(fromTime.stdout) <= 3, 'starts at the first record at or after the time');
  const iso = new Date(Number(fourth) + 3_600_000).toISOString();
  assert.equal((await runCli(['consume', 'positions', '--from', iso, '-e', ...brokers])).stdout, '', 'a time after the last record starts at the end');
});

test('produce and consume errors: unknown topic, bad partition, bad values', async () => {
  const missing = await runCli(['consume', 'missing', '-e', ...brokers]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    "tributary: UNKNOWN_TOPIC_OR_PARTITION: topic 'missing' does not exist; create the topic with `tributary topic create missing`, or check the name with `tributary topic list`\n",
  );
  await runCli(['topic', 'create', 'small', ...brokers]);
  const badPartition = await runCli(['produce', 'small', '-p', '3', ...brokers], { input: 'x\n' });
  assert.equal(badPartition.code, 1);
  assert.equal(
    badPartition.stderr,
    "tributary: UNKNOWN_TOPIC_OR_PARTITION: producing to partition 3 of topic 'small' failed: topic 'small' has 1 partition (0-0); `tributary topic describe small` shows its partitions\n",
  );
  const badFrom = await runCli(['consume', 'small', '--from', 'yesterday', ...brokers]);
  assert.equal(badFrom.code, 2);
  assert.match(badFrom.stderr, /^tributary: invalid --from "yesterday": expected beginning, end/);
  const badFormat = await runCli(['consume', 'small', '-f', '%q', ...brokers]);
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /unknown field %q; use %t %p %o %k %v %h %T or %%/);
  const groupAndPartition = await runCli(['consume', 'small', '-g', 'g', '-p', '0', ...brokers]);
  assert.equal(groupAndPartition.code, 2);
  const badCodec = await runCli(['produce', 'small', '-z', 'brotli', ...brokers]);
  assert.equal(badCodec.code, 2);
  assert.match(badCodec.stderr, /Allowed choices are none, gzip, snappy, lz4, zstd/);
  const noFile = await runCli(['produce', 'small', '-f', '/nonexistent/records.txt', ...brokers]);
  assert.equal(noFile.code, 1);
  assert.equal(noFile.stderr, 'tributary: cannot read /nonexistent/records.txt: no such file\n');
  // Topics are auto-created on produce when the broker allows it (as Java's producer does).
  const auto = await runCli(['produce', 'auto-created', ...brokers], { input: 'a\n' });
  assert.equal(auto.code, 0, auto.stderr);
  assert.equal((await runCli(['consume', 'auto-created', '-n', '1', ...brokers])).stdout, 'a\n');
});
