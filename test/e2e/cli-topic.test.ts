/**
 * `tributary topic ...` as a process against an in-process broker: exact tables and JSON, exit
 * codes, and error messages that name the cause and the fix.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { runCli } from '../helpers/cli-run.js';

let broker: TestBroker;
let brokers: string[];

before(async () => {
  broker = await startTestBroker({ storage: 'memory', groupInitialRebalanceDelayMs: 0 });
  brokers = ['--brokers', broker.bootstrap];
});

after(async () => {
  await broker.shutdown();
});

test('topic create, list, describe, alter-config, add-partitions and delete', async () => {
  const created = await runCli(['topic', 'create', 'orders', '-p', '3', '-c', 'retention.ms=86400000', ...brokers]);
  assert.equal(created.stderr, '');
  assert.equal(created.stdout, "Created topic 'orders' (3 partitions, replication factor 1).\n");
  assert.equal(created.code, 0);

  const json = await runCli(['topic', 'create', 'events', '--json', ...brokers]);
  assert.equal(json.code, 0);
  const parsed = JSON.parse(json.stdout) as { topicId: string };
  assert.match(parsed.topicId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(json.stdout), { topic: 'events', topicId: parsed.topicId, partitions: 1, replicationFactor: 1, configs: {}, validateOnly: false });

  const validated = await runCli(['topic', 'create', 'maybe', '-p', '2', '--validate-only', ...brokers]);
  assert.equal(validated.stdout, "Topic 'maybe' can be created (2 partitions, replication factor 1); nothing was changed (--validate-only).\n");

  const listed = await runCli(['topic', 'list', ...brokers]);
  assert.equal(listed.code, 0);
  assert.equal(listed.stdout, ['NAME    PARTITIONS  REPLICAS', 'events  1           1', 'orders  3           1', ''].join('\n'));

  const produced = await runCli(['produce', 'orders', '-p', '1', ...brokers], { input: 'a\nb\n' });
  assert.equal(produced.code, 0, produced.stderr);

  const described = await runCli(['topic', 'describe', 'orders', ...brokers]);
  assert.equal(described.code, 0, described.stderr);
  const id = /^ID {10}(\S+)$/m.exec(described.stdout)?.[1];
  assert.ok(id !== undefined);
  assert.equal(
    described.stdout,
    [
      'SUMMARY',
      '=======',
      'NAME        orders',
      `ID          ${id}`,
      'PARTITIONS  3',
      'REPLICAS    1',
      'INTERNAL    no',
      '',
      'CONFIGS',
      '=======',
      'KEY           VALUE     SOURCE',
      'retention.ms  86400000  DYNAMIC_TOPIC_CONFIG',
      '',
      'PARTITIONS',
      '==========',
      'PARTITION  LEADER  EPOCH  REPLICAS  ISR  LOG-START-OFFSET  HIGH-WATERMARK',
      '0          1       0      1         1    0                 0',
      '1          1       0      1         1    0                 2',
      '2          1       0      1         1    0                 0',
      '',
    ].join('\n'),
  );

  const altered = await runCli(['topic', 'alter-config', 'orders', '--set', 'segment.ms=3600000', '--delete', 'retention.ms', ...brokers]);
  assert.equal(altered.stdout, "Altered configs of topic 'orders': set segment.ms=3600000; deleted retention.ms (back to its default).\n");
  const describedJson = JSON.parse((await runCli(['topic', 'describe', 'orders', '--json', ...brokers])).stdout) as Record<string, unknown>;
  assert.deepEqual(describedJson.configs, [{ name: 'segment.ms', value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG' }]);
  assert.deepEqual((describedJson.partitions as unknown[])[1], { partition: 1, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], logStartOffset: 0, highWatermark: 2 });

  const all = await runCli(['topic', 'describe', 'events', '--all-configs', ...brokers]);
  assert.match(all.stdout, /^retention\.ms +604800000 +DEFAULT_CONFIG$/m);
  assert.match(all.stdout, /^cleanup\.policy +delete +DEFAULT_CONFIG$/m);

  const grown = await runCli(['topic', 'add-partitions', 'orders', '-n', '2', ...brokers]);
  assert.equal(grown.stdout, "Topic 'orders' now has 5 partitions (was 3). Keys may now map to other partitions.\n");

  const deleted = await runCli(['topic', 'delete', 'orders', 'events', ...brokers]);
  assert.equal(deleted.stdout, "Deleted topic 'orders'.\nDeleted topic 'events'.\n");
  assert.equal(deleted.code, 0);
  assert.equal((await runCli(['topic', 'list', ...brokers])).stdout, 'No topics (internal topics are hidden; --internal shows them). Create one with `tributary topic create NAME`.\n');
});

test('topic list hides internal topics unless --internal', async () => {
  // A group commit creates __consumer_offsets.
  await runCli(['topic', 'create', 'visible', ...brokers]);
  await runCli(['produce', 'visible', ...brokers], { input: 'x\n' });
  const consumed = await runCli(['consume', 'visible', '-g', 'list-test', '-n', '1', ...brokers]);
  assert.equal(consumed.code, 0, consumed.stderr);
  assert.equal((await runCli(['topic', 'list', ...brokers])).stdout, 'NAME     PARTITIONS  REPLICAS\nvisible  1           1\n');
  const internal = JSON.parse((await runCli(['topic', 'list', '--internal', '--json', ...brokers])).stdout) as Array<{ name: string; internal: boolean }>;
  assert.deepEqual(
    internal.map(({ name, internal }) => ({ name, internal })),
    [
      { name: '__consumer_offsets', internal: true },
      { name: 'visible', internal: false },
    ],
  );
  await runCli(['topic', 'delete', 'visible', ...brokers]);
});

test('errors name the Kafka error and the fix, with exit code 1', async () => {
  await runCli(['topic', 'create', 'dup', ...brokers]);
  const again = await runCli(['topic', 'create', 'dup', ...brokers]);
  assert.equal(again.code, 1);
  assert.equal(again.stdout, '');
  assert.equal(again.stderr, "tributary: TOPIC_ALREADY_EXISTS: topic 'dup' already exists; use `tributary topic describe dup`\n");

  const missing = await runCli(['topic', 'describe', 'nope', ...brokers]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.stderr,
    "tributary: UNKNOWN_TOPIC_OR_PARTITION: topic 'nope' does not exist; create the topic with `tributary topic create nope`, or check the name with `tributary topic list`\n",
  );

  const badConfig = await runCli(['topic', 'create', 'bad', '-c', 'retention.ms=soon', ...brokers]);
  assert.equal(badConfig.code, 1);
  assert.match(badConfig.stderr, /^tributary: INVALID_CONFIG: creating topic 'bad' failed: .*retention\.ms.*; `tributary topic describe TOPIC --all-configs`/);

  const partly = await runCli(['topic', 'delete', 'dup', 'nope', ...brokers]);
  assert.equal(partly.code, 1);
  assert.equal(partly.stdout, "Deleted topic 'dup'.\n");
  assert.match(partly.stderr, /^tributary: UNKNOWN_TOPIC_OR_PARTITION: topic 'nope' does not exist; check the name with `tributary topic list`\n$/);
});

test('usage errors exit 2; an unreachable broker exits 3 naming the address and the fix', async () => {
  const unknownOption = await runCli(['topic', 'list', '--bogus', ...brokers]);
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /unknown option '--bogus'/);

  const badNumber = await runCli(['topic', 'create', 'x', '-p', 'many', ...brokers]);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /option '-p, --partitions <n>' argument 'many' is invalid\. Not an integer\./);

  const missingArgument = await runCli(['topic', 'describe', ...brokers]);
  assert.equal(missingArgument.code, 2);
  assert.match(missingArgument.stderr, /missing required argument 'name'/);

  const badBrokers = await runCli(['topic', 'list', '--brokers', 'host:notaport']);
  assert.equal(badBrokers.code, 2);
  assert.match(badBrokers.stderr, /invalid --brokers "host:notaport"/);

  const unreachable = await runCli(['topic', 'list', '--brokers', '127.0.0.1:1']);
  assert.equal(unreachable.code, 3);
  assert.equal(
    unreachable.stderr,
    'tributary: cannot connect to 127.0.0.1:1 (ECONNREFUSED). Is a broker running there? Start one with `tributary start`, or point --brokers (or TRIBUTARY_BROKERS) at your cluster.\n',
  );

  const fromEnvironment = await runCli(['topic', 'list'], { env: { TRIBUTARY_BROKERS: broker.bootstrap } });
  assert.equal(fromEnvironment.code, 0, fromEnvironment.stderr);

  const help = await runCli(['topic', 'create', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Example:\n {2}\$ tributary topic create orders -p 6/);
  assert.match(help.stdout, /--brokers <host:port,...>/);
  const helpCommand = await runCli(['help', 'topic']);
  assert.equal(helpCommand.code, 0);
  assert.match(helpCommand.stdout, /Exit codes:\n {2}0 {2}success/);
});
