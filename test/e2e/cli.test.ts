/**
 * The command-line contract other tools rely on: `tributary [start] --host --port --data-dir ...`
 * runs in the foreground, prints one line once it listens, honours TRIBUTARY_* variables, refuses
 * invalid settings with a message naming them, and exits 0 on SIGTERM with its data flushed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { buildRecordBatch } from '../../src/protocol/records/records.js';
import { makeTempDir } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { CLI_PATH, startCliBroker } from '../helpers/cli-process.js';

test('start prints one listening line, serves clients, and exits 0 on SIGTERM with data kept', async () => {
  const dir = await makeTempDir();
  try {
    const first = await startCliBroker(['start', '--port', '0', '--data-dir', dir.path, '--log-level', 'warn']);
    assert.match(first.line, /^Tributary \S+ listening on 127\.0\.0\.1:\d+ \(advertised as 127\.0\.0\.1:\d+, node 1, cluster \S+, data in /);
    assert.equal(first.line.split('\n').length, 1);
    const client = await WireClient.connect(first.port);
    const created = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'cli-topic', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const produced = await client.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'cli-topic', partitionData: [{ index: 0, records: buildRecordBatch([{ value: 'kept' }]) }] }],
    });
    assert.equal(produced.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    client.close();
    assert.equal(await first.stop(), 0);

    // No subcommand means start; the environment configures it.
    const second = await startCliBroker([], { TRIBUTARY_PORT: '0', TRIBUTARY_DATA_DIR: dir.path, TRIBUTARY_LOG_LEVEL: 'warn' });
    const again = await WireClient.connect(second.port);
    const offsets = await again.request(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'cli-topic', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    assert.equal(offsets.topics[0].partitions[0].offset, 1n, 'the acknowledged record survived the restart');
    again.close();
    assert.equal(await second.stop(), 0);
  } finally {
    await dir.remove();
  }
});

test('an invalid setting stops start-up with a message naming it', async () => {
  const child = spawn(process.execPath, [CLI_PATH, 'start', '--port', '70000', '--memory'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = await once(child, 'exit');
  assert.notEqual(code, 0);
  assert.match(stderr, /port/);
  assert.match(stderr, /0 to 65535/);
});

test('a port already in use is reported with the fix', async () => {
  const first = await startCliBroker(['--port', '0', '--memory', '--log-level', 'warn']);
  try {
    const child = spawn(process.execPath, [CLI_PATH, '--port', String(first.port), '--memory'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
    assert.match(stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${first.port}`));
    assert.match(stderr, /--port/);
  } finally {
    assert.equal(await first.stop(), 0);
  }
});
