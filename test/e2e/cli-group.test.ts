/**
 * Consumer groups from the command line: the offset-tracking demo (a group consumer stopped and
 * resumed from its committed offset, lag shown in between), group list/describe/delete and
 * reset-offsets (dry run, execute, refused while members are active), and Ctrl-C leaving cleanly.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { runCli, startCli } from '../helpers/cli-run.js';

let broker: TestBroker;
let brokers: string[];

before(async () => {
  broker = await startTestBroker({ storage: 'memory', groupInitialRebalanceDelayMs: 0 });
  brokers = ['--brokers', broker.bootstrap];
});

after(async () => {
  await broker.shutdown();
});

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join('');

test('demo 4, offset tracking: consume 5 in a group, produce more, see the lag, resume where it stopped', async () => {
  await runCli(['topic', 'create', 'track', ...brokers]);
  await runCli(['produce', 'track', ...brokers], { input: lines(1, 10) });

  const first = await runCli(['consume', 'track', '-g', 'demo', '-n', '5', ...brokers]);
  assert.equal(first.stderr, '');
  assert.equal(first.stdout, lines(1, 5));
  assert.equal(first.code, 0);

  await runCli(['produce', 'track', ...brokers], { input: lines(11, 15) });
  const described = await runCli(['group', 'describe', 'demo', ...brokers]);
  assert.equal(described.code, 0, described.stderr);
  assert.equal(
    described.stdout,
    [
      'GROUP        demo',
      `COORDINATOR  1 (127.0.0.1:${broker.port})`,
      'STATE        Empty',
      'PROTOCOL     consumer',
      'MEMBERS      0',
      'TOTAL-LAG    10',
      '',
      'TOPIC  PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  OWNER',
      'track  0          5               15              10   -',
      '',
    ].join('\n'),
  );
  const json = JSON.parse((await runCli(['group', 'describe', 'demo', '--json', ...brokers])).stdout) as Record<string, unknown>;
  assert.deepEqual(json, {
    group: 'demo',
    state: 'Empty',
    protocolType: 'consumer',
    protocol: null,
    coordinator: { id: 1, host: '127.0.0.1', port: broker.port },
    members: [],
    offsets: [{ topic: 'track', partition: 0, committedOffset: 5, logEndOffset: 15, lag: 10, owner: null }],
    totalLag: 10,
  });

  const resumed = await runCli(['consume', 'track', '-g', 'demo', '-n', '3', ...brokers]);
  assert.equal(resumed.stdout, lines(6, 8), 'resumes at the committed offset, not at --from beginning');
  const rest = await runCli(['consume', 'track', '-g', 'demo', '-e', ...brokers]);
  assert.equal(rest.stdout, lines(9, 15));
  assert.match((await runCli(['group', 'describe', 'demo', ...brokers])).stdout, /^TOTAL-LAG {4}0$/m);

  const listed = await runCli(['group', 'list', ...brokers]);
  assert.equal(listed.stdout, 'GROUP  STATE  PROTOCOL-TYPE  COORDINATOR\ndemo   Empty  consumer       1\n');
});

test('reset-offsets: a dry run by default, --execute commits, clamped to the log', async () => {
  await runCli(['topic', 'create', 'reset', '-p', '2', ...brokers]);
  await runCli(['produce', 'reset', '-p', '0', ...brokers], { input: lines(1, 6) });
  await runCli(['produce', 'reset', '-p', '1', ...brokers], { input: lines(1, 4) });
  assert.equal((await runCli(['consume', 'reset', '-g', 'resetter', '-e', ...brokers])).code, 0);

  const dry = await runCli(['group', 'reset-offsets', 'resetter', '--topic', 'reset', '--to-earliest', ...brokers]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(
    dry.stdout,
    [
      'TOPIC  PARTITION  CURRENT-OFFSET  NEW-OFFSET',
      'reset  0          6               0',
      'reset  1          4               0',
      '',
      'Dry run: nothing was changed. Add --execute to commit these offsets.',
      '',
    ].join('\n'),
  );
  assert.match((await runCli(['group', 'describe', 'resetter', ...brokers])).stdout, /^TOTAL-LAG {4}0$/m, 'the dry run changed nothing');

  const shifted = await runCli(['group', 'reset-offsets', 'resetter', '--topic', 'reset:0', '--shift-by', '-2', '--execute', ...brokers]);
  assert.equal(
    shifted.stdout,
    ['TOPIC  PARTITION  CURRENT-OFFSET  NEW-OFFSET', 'reset  0          6               4', '', "Committed the new offsets of group 'resetter'.", ''].join('\n'),
  );
  const beyond = await runCli(['group', 'reset-offsets', 'resetter', '--all-topics', '--to-offset', '100', '--execute', '--json', ...brokers]);
  assert.deepEqual(JSON.parse(beyond.stdout), {
    group: 'resetter',
    executed: true,
    offsets: [
      { topic: 'reset', partition: 0, currentOffset: 4, newOffset: 6 },
      { topic: 'reset', partition: 1, currentOffset: 4, newOffset: 4 },
    ],
  });
  await runCli(['group', 'reset-offsets', 'resetter', '--topic', 'reset:1', '--to-offset', '1', '--execute', ...brokers]);
  assert.equal((await runCli(['consume', 'reset', '-g', 'resetter', '-e', ...brokers])).stdout, lines(2, 4));

  const noTarget = await runCli(['group', 'reset-offsets', 'resetter', '--topic', 'reset', ...brokers]);
  assert.equal(noTarget.code, 2);
  assert.equal(noTarget.stderr, 'tributary: say where to reset to: one of --to-earliest, --to-latest, --to-offset N, --to-datetime DATE, --shift-by N\n');
  const noTopic = await runCli(['group', 'reset-offsets', 'resetter', '--to-latest', ...brokers]);
  assert.equal(noTopic.code, 2);
  const missing = await runCli(['group', 'describe', 'no-such-group', ...brokers]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "tributary: GROUP_ID_NOT_FOUND: group 'no-such-group' does not exist; see the existing groups with `tributary group list`\n");
});

test('an active consumer: shown with its partitions, blocks reset and delete, commits and leaves on Ctrl-C', async () => {
  await runCli(['topic', 'create', 'live', ...brokers]);
  await runCli(['produce', 'live', ...brokers], { input: lines(1, 3) });
  const consumer = startCli(['consume', 'live', '-g', 'watchers', ...brokers]);
  try {
    // Wait until it printed what was there (so it has joined and fetched).
    while (consumer.output().stdout !== lines(1, 3)) {
      assert.equal(consumer.output().code, null, consumer.output().stderr);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const described = await runCli(['group', 'describe', 'watchers', ...brokers]);
    assert.match(described.stdout, /^STATE {8}Stable$/m);
    assert.match(described.stdout, /^PROTOCOL {5}consumer \(range\)$/m);
    assert.match(described.stdout, /^MEMBERS {6}1$/m);
    assert.match(described.stdout, /^MEMBER-ID +CLIENT-ID +HOST +ASSIGNMENT\ntributary-cli-\S+ +tributary-cli +\/127\.0\.0\.1 +live\[0\]$/m);
    assert.match(described.stdout, /^live +0 +(-|3) +3 +(-|0) +tributary-cli-\S+$/m);

    const refused = await runCli(['group', 'reset-offsets', 'watchers', '--topic', 'live', '--to-earliest', '--execute', ...brokers]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      "tributary: group 'watchers' has 1 active member (state Stable); offsets can only be reset while no consumer is in the group: stop its consumers (Ctrl-C), then run this again\n",
    );
    const notDeleted = await runCli(['group', 'delete', 'watchers', ...brokers]);
    assert.equal(notDeleted.code, 1);
    assert.equal(
      notDeleted.stderr,
      "tributary: NON_EMPTY_GROUP: group 'watchers' still has active members; stop its consumers first (`tributary group describe watchers` shows them)\n",
    );
  } finally {
    consumer.child.kill('SIGINT');
  }
  assert.equal(await consumer.exited, 0);
  assert.equal(consumer.output().stderr, '');
  const after = await runCli(['group', 'describe', 'watchers', ...brokers]);
  assert.match(after.stdout, /^STATE {8}Empty$/m, 'left the group on Ctrl-C');
  assert.match(after.stdout, /^live {3}0 {10}3 {15}3 {15}0 {4}-$/m, 'committed what it printed before leaving');

  const deleted = await runCli(['group', 'delete', 'watchers', ...brokers]);
  assert.equal(deleted.stdout, "Deleted group 'watchers'.\n");
  assert.equal(deleted.code, 0);
});
