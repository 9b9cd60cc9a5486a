/**
 * The command-line contract other tools rely on: `tributary [start] --host --port --data-dir ...`
 * runs in the foreground, prints one line once it listens, honours TRIBUTARY_* variables, refuses
 * invalid settings with a message naming them, and exits 0 on SIGTERM with its data flushed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** Runs the CLI to completion; resolves with its exit code and output. */
async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

test('a mistyped command or a stray argument is a usage error (exit 2), not a broker start', async () => {
  const mistyped = await runCli(['topik', 'list']);
  assert.equal(mistyped.code, 2);
  assert.equal(mistyped.stdout, '');
  assert.match(mistyped.stderr, /unknown command 'topik'; the commands are start, config, topic, produce/);

  const stray = await runCli(['start', 'now', '--memory']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /start takes no arguments, only options \(got 'now'\)/);

  const unknownOption = await runCli(['--no-such-option']);
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /unknown option '--no-such-option'/);
});

test('--config file, environment and flags combine with flag > environment > file precedence', async () => {
  const dir = await makeTempDir();
  try {
    const configPath = join(dir.path, 'server.properties');
    await writeFile(
      configPath,
      [
        '# A Kafka-style file: settings Tributary does not implement are ignored with a warning.',
        'zookeeper.connect=localhost:2181',
        'num.network.threads=3',
        'port=1', // overridden by TRIBUTARY_PORT
        'num.partitions=2', // overridden by TRIBUTARY_NUM_PARTITIONS, itself overridden by the flag
        `log.dirs=${join(dir.path, 'data')}`,
        'admin.port=0',
        'log.level=warn',
        'log.format=json',
      ].join('\n'),
    );
    const broker = await startCliBroker(['--config', configPath, '--num-partitions', '3'], { TRIBUTARY_PORT: '0', TRIBUTARY_NUM_PARTITIONS: '5' });
    try {
      assert.match(broker.line, new RegExp(`data in ${join(dir.path, 'data').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, admin on http://127\\.0\\.0\\.1:\\d+\\)$`));
      const adminPort = Number(/admin on http:\/\/127\.0\.0\.1:(\d+)/.exec(broker.line)![1]);
      assert.equal((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status, 200);
      const client = await WireClient.connect(broker.port);
      const metadata = await client.request(ApiKey.Metadata, 12, {
        topics: [{ name: 'auto-created', topicId: null }],
        allowAutoTopicCreation: true,
        includeTopicAuthorizedOperations: false,
      });
      client.close();
      assert.equal(metadata.topics[0].partitions.length, 3, 'the flag beats the environment and the file');
    } finally {
      assert.equal(await broker.stop(), 0);
    }

    // TRIBUTARY_CONFIG names the file too; config print shows where each value came from.
    const printed = await runCli(['config', 'print', '--json', '--log-level', 'error'], {
      TRIBUTARY_CONFIG: configPath,
      TRIBUTARY_PORT: '0',
    });
    assert.equal(printed.code, 0, printed.stderr);
    const settings = (JSON.parse(printed.stdout) as { settings: Record<string, { value: unknown; source: string }> }).settings;
    assert.deepEqual(settings['port'], { value: 0, source: 'environment TRIBUTARY_PORT' });
    assert.deepEqual(settings['num.partitions'], { value: 2, source: `${configPath}:5` });
    assert.deepEqual(settings['log.level'], { value: 'error', source: 'flag --log-level' });
    assert.deepEqual(settings['fetch.max.bytes'], { value: 57671680, source: 'default' });
    assert.equal(
      printed.stderr,
      `tributary: warning: ${configPath}: settings Tributary does not implement are ignored: zookeeper.connect (line 2), num.network.threads (line 3).\n`,
    );
    const text = await runCli(['config', 'print', '--config', configPath]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`^# ${configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5\nnum\\.partitions=2$`, 'm'));
  } finally {
    await dir.remove();
  }
});

test('an invalid value in the configuration file stops start-up naming the file and line', async () => {
  const dir = await makeTempDir();
  try {
    const configPath = join(dir.path, 'bad.properties');
    await writeFile(configPath, 'storage=memory\nnum.partitions=many\nnum.partiton=3\n');
    const result = await runCli(['start', '--config', configPath, '--port', '0']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      'tributary: Invalid configuration:\n' +
        `  Invalid value "many" for num.partitions (${configPath}:2): expected an integer from 1 to 10000.\n` +
        `  Unknown setting num.partiton (${configPath}:3): did you mean num.partitions?\n`,
    );
    const missing = await runCli(['start', '--config', join(dir.path, 'nope.properties')]);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `tributary: Cannot read the configuration file ${join(dir.path, 'nope.properties')}: no such file.\n`);
    const badEnv = await runCli(['start', '--memory'], { TRIBUTARY_ADMIN_PORT: 'http' });
    assert.equal(badEnv.code, 2);
    assert.equal(badEnv.stderr, 'tributary: Invalid value "http" for admin.port (environment TRIBUTARY_ADMIN_PORT): expected an integer from 0 to 65535.\n');
  } finally {
    await dir.remove();
  }
});
