/**
 * Configuration: one table, precedence flag > environment > file > default, every error naming the
 * setting, where its value came from and what is accepted, and `config print`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  COMPOUND_SETTINGS,
  DEFAULT_CONFIG,
  SETTINGS,
  cliFlags,
  describeSource,
  effectiveRetentionMs,
  envName,
  flagName,
  loadConfigFile,
  resolveBrokerConfig,
  resolveConfig,
  topicDefaultsOf,
  type ConfigInputs,
  type ResolvedConfig,
} from '../../src/config.js';
import { TributaryError } from '../../src/errors.js';
import { parseProperties } from '../../src/util/properties.js';
import { formatConfigJson, formatConfigText } from '../../src/cli/commands/config.js';
import { VERSION } from '../../src/version.js';

const file = (text: string, path = 'server.properties') => ({ path, entries: parseProperties(text) });

function resolve(inputs: ConfigInputs): ResolvedConfig {
  return resolveConfig(inputs);
}

/** Asserts that resolving fails with TRIB_ERR_INVALID_CONFIG and a message containing every fragment. */
function assertInvalid(inputs: ConfigInputs, ...fragments: string[]): string {
  let message = '';
  assert.throws(
    () => resolveConfig(inputs),
    (error: unknown) => {
      assert.ok(error instanceof TributaryError);
      assert.equal(error.code, 'TRIB_ERR_INVALID_CONFIG');
      message = error.message;
      return true;
    },
  );
  for (const fragment of fragments) assert.ok(message.includes(fragment), `${JSON.stringify(fragment)} not in:\n${message}`);
  return message;
}

test('the table: unique names, and flags and variables derived from them', () => {
  const names = [...SETTINGS.flatMap((s) => [s.name, ...(s.aliases ?? [])]), ...COMPOUND_SETTINGS.map((c) => c.name)];
  assert.equal(new Set(names).size, names.length, 'every name once');
  assert.equal(new Set(SETTINGS.map((s) => s.key)).size, SETTINGS.length, 'every BrokerConfig key once');
  const flags = cliFlags();
  assert.equal(new Set(flags.map((f) => f.flag)).size, flags.length, 'every flag once');
  assert.equal(new Set(flags.map((f) => f.env)).size, flags.length, 'every variable once');
  for (const setting of SETTINGS) {
    const flag = flags.find((f) => f.flag === flagName(setting.name));
    assert.ok(flag, setting.name);
    assert.equal(flag.env, envName(setting.name));
    assert.equal(flag.hidden, false);
  }
  assert.equal(envName('log.retention.ms'), 'TRIBUTARY_LOG_RETENTION_MS');
  assert.equal(flagName('log.retention.ms'), '--log-retention-ms');
  // The flags and variables the command line has always had.
  for (const [flag, env] of [
    ['--host', 'TRIBUTARY_HOST'],
    ['--port', 'TRIBUTARY_PORT'],
    ['--data-dir', 'TRIBUTARY_DATA_DIR'],
    ['--advertised-host', 'TRIBUTARY_ADVERTISED_HOST'],
    ['--advertised-port', 'TRIBUTARY_ADVERTISED_PORT'],
    ['--log-level', 'TRIBUTARY_LOG_LEVEL'],
    ['--memory', 'TRIBUTARY_MEMORY'],
    ['--no-auto-create-topics', 'TRIBUTARY_NO_AUTO_CREATE_TOPICS'],
    ['--num-partitions', 'TRIBUTARY_NUM_PARTITIONS'],
    ['--admin-port', 'TRIBUTARY_ADMIN_PORT'],
    ['--log-format', 'TRIBUTARY_LOG_FORMAT'],
  ]) {
    assert.equal(flags.find((f) => f.flag === flag)?.env, env, flag);
  }
});

test('defaults come from the table; advertised.host and admin.host follow host', () => {
  const { config, sources, warnings } = resolve({});
  for (const setting of SETTINGS) {
    assert.deepEqual(sources[setting.key], { kind: 'default' }, setting.name);
    if (setting.default !== null) assert.equal(config[setting.key], setting.default, setting.name);
  }
  assert.deepEqual(warnings, []);
  assert.equal(config.port, 9092);
  assert.equal(config.advertisedHost, '127.0.0.1');
  assert.equal(config.adminHost, '127.0.0.1');
  assert.equal(config.adminPort, null);
  assert.equal(config.storage, 'file');
  assert.equal(DEFAULT_CONFIG.port, 9092);
  assert.equal(effectiveRetentionMs(config), 7 * 24 * 3_600_000);
  assert.deepEqual(topicDefaultsOf(config), {}, "the defaults are Kafka's, so no topic default comes from the broker");
  assert.equal(resolve({ flags: [{ flag: '--host', value: '10.1.2.3' }] }).config.adminHost, '10.1.2.3');
});

test('precedence: flag > environment > file > default, with each source reported', () => {
  const inputs = (layers: { file?: boolean; env?: boolean; flag?: boolean }): ConfigInputs => ({
    file: layers.file ? file('# settings\nport=1111\n') : null,
    env: layers.env ? { TRIBUTARY_PORT: '2222' } : {},
    flags: layers.flag ? [{ flag: '--port', value: '3333' }] : [],
  });
  const cases: Array<[Parameters<typeof inputs>[0], number, string]> = [
    [{ file: true, env: true, flag: true }, 3333, 'flag --port'],
    [{ file: true, env: true }, 2222, 'environment TRIBUTARY_PORT'],
    [{ file: true, flag: true }, 3333, 'flag --port'],
    [{ env: true, flag: true }, 3333, 'flag --port'],
    [{ file: true }, 1111, 'server.properties:2'],
    [{ env: true }, 2222, 'environment TRIBUTARY_PORT'],
    [{}, 9092, 'default'],
  ];
  for (const [layers, port, source] of cases) {
    const resolved = resolve(inputs(layers));
    assert.equal(resolved.config.port, port, JSON.stringify(layers));
    assert.equal(describeSource(resolved.sources.port), source, JSON.stringify(layers));
  }
  // Settings from different sources combine.
  const combined = resolve({
    file: file('log.dirs=/from/file\nnum.partitions=3\nport=1111'),
    env: { TRIBUTARY_NUM_PARTITIONS: '4', TRIBUTARY_LOG_LEVEL: 'debug' },
    flags: [{ flag: '--log-level', value: 'warn' }],
  });
  assert.equal(combined.config.dataDir, '/from/file');
  assert.equal(combined.config.defaultPartitions, 4);
  assert.equal(combined.config.logLevel, 'warn');
  assert.equal(combined.config.port, 1111);
});

test('values are trimmed, enums are case-insensitive, booleans accept true/false/yes/no/1/0', () => {
  const { config } = resolve({
    file: file('port = 19092   \nlog.message.timestamp.type=logappendtime\nauto.create.topics.enable=FALSE'),
    env: { TRIBUTARY_LOG_LEVEL: ' DEBUG ' },
  });
  assert.equal(config.port, 19092);
  assert.equal(config.logMessageTimestampType, 'LogAppendTime');
  assert.equal(config.autoCreateTopics, false);
  assert.equal(config.logLevel, 'debug');
  for (const [text, value] of [['yes', true], ['1', true], ['no', false], ['0', false]] as const) {
    assert.equal(resolve({ env: { TRIBUTARY_AUTO_CREATE_TOPICS_ENABLE: text } }).config.autoCreateTopics, value, text);
  }
  assert.equal(resolve({ env: { TRIBUTARY_PORT: '' } }).config.port, 9092, 'an empty variable is unset');
});

test('aliases: data.dir and log.dir for log.dirs, broker.id for node.id, in every source', () => {
  assert.equal(resolve({ flags: [{ flag: '--data-dir', value: '/a' }] }).config.dataDir, '/a');
  assert.equal(resolve({ env: { TRIBUTARY_DATA_DIR: '/b' } }).config.dataDir, '/b');
  assert.equal(resolve({ env: { TRIBUTARY_LOG_DIRS: '/c' } }).config.dataDir, '/c');
  assert.equal(resolve({ file: file('log.dir=/d') }).config.dataDir, '/d');
  assert.equal(resolve({ file: file('broker.id=7') }).config.nodeId, 7);
  // A flag under one name beats the environment under another.
  assert.equal(resolve({ env: { TRIBUTARY_LOG_DIRS: '/env' }, flags: [{ flag: '--data-dir', value: '/flag' }] }).config.dataDir, '/flag');
});

test('one setting under two names in one source is an error naming both', () => {
  assertInvalid(
    { flags: [{ flag: '--log-dirs', value: '/a' }, { flag: '--data-dir', value: '/b' }] },
    'log.dirs is set twice: by flag --log-dirs and by flag --data-dir; keep one.',
  );
  assertInvalid({ file: file('log.dirs=/a\nlog.dir=/b') }, 'log.dirs is set twice: by log.dirs (server.properties:1) and by log.dir (server.properties:2); keep one.');
  assertInvalid({ env: { TRIBUTARY_LOG_DIRS: '/a', TRIBUTARY_DATA_DIR: '/b' } }, 'by environment TRIBUTARY_LOG_DIRS and by environment TRIBUTARY_DATA_DIR');
  assertInvalid({ flags: [{ flag: '--memory', value: true }, { flag: '--storage', value: 'file' }] }, 'storage is set twice');
});

test('a key given twice in the file keeps its last value, as Java does', () => {
  const { config, sources } = resolve({ file: file('port=1\nport=2') });
  assert.equal(config.port, 2);
  assert.equal(describeSource(sources.port), 'server.properties:2');
});

test('shortcuts: --memory and --no-auto-create-topics, and their variables', () => {
  assert.equal(resolve({ flags: [{ flag: '--memory', value: true }] }).config.storage, 'memory');
  assert.equal(resolve({ env: { TRIBUTARY_MEMORY: 'true' } }).config.storage, 'memory');
  assert.equal(resolve({ env: { TRIBUTARY_MEMORY: 'false' } }).config.storage, 'file');
  assert.equal(resolve({ flags: [{ flag: '--no-auto-create-topics', value: true }] }).config.autoCreateTopics, false);
  assert.equal(resolve({ env: { TRIBUTARY_NO_AUTO_CREATE_TOPICS: '1' } }).config.autoCreateTopics, false);
  assertInvalid({ env: { TRIBUTARY_MEMORY: 'maybe' } }, 'Invalid value "maybe" for TRIBUTARY_MEMORY (environment TRIBUTARY_MEMORY): expected true or false.');
  // The flag beats the file's setting.
  assert.equal(resolve({ file: file('storage=file'), flags: [{ flag: '--memory', value: true }] }).config.storage, 'memory');
});

test("Kafka's listeners and advertised.listeners set host, port and their advertised twins", () => {
  const kraft = resolve({ file: file('listeners=PLAINTEXT://:19092,CONTROLLER://:9093\nadvertised.listeners=PLAINTEXT://broker.example.com:29092') });
  assert.equal(kraft.config.host, '0.0.0.0');
  assert.equal(kraft.config.port, 19092);
  assert.equal(kraft.config.advertisedHost, 'broker.example.com');
  assert.equal(kraft.config.advertisedPort, 29092);
  assert.equal(describeSource(kraft.sources.port), 'server.properties:1');
  const ipv6 = resolve({ env: { TRIBUTARY_LISTENERS: 'PLAINTEXT://[::1]:9092' } });
  assert.equal(ipv6.config.host, '::1');
  // Higher sources override one part of a listener.
  const mixed = resolve({ file: file('listeners=PLAINTEXT://10.0.0.1:9092'), flags: [{ flag: '--port', value: '0' }] });
  assert.equal(mixed.config.host, '10.0.0.1');
  assert.equal(mixed.config.port, 0);
  for (const bad of ['SSL://:9093', 'PLAINTEXT://a:1,PLAINTEXT2://b:2', 'localhost:9092', 'PLAINTEXT://:99999']) {
    assertInvalid({ file: file(`listeners=${bad}`) }, `Invalid value ${JSON.stringify(bad)} for listeners (server.properties:1): expected one PLAINTEXT listener`);
  }
  assertInvalid({ file: file('advertised.listeners=PLAINTEXT://:9092') }, 'for advertised.listeners (server.properties:1): expected one PLAINTEXT listener with a host');
  assertInvalid({ file: file('listeners=PLAINTEXT://:1\nport=2') }, 'port is set twice: by listeners (server.properties:1) and by port (server.properties:2)');
});

test('retention: ms beats minutes beats hours within a source; a higher source wins across sources', () => {
  const fromHours = resolve({ file: file('log.retention.hours=24') }).config;
  assert.equal(effectiveRetentionMs(fromHours), 86_400_000);
  assert.deepEqual(topicDefaultsOf(fromHours), { 'retention.ms': '86400000' });
  const sameSource = resolve({ file: file('log.retention.hours=24\nlog.retention.minutes=30\nlog.retention.ms=1000') }).config;
  assert.equal(effectiveRetentionMs(sameSource), 1000, "Kafka's rule within one source");
  assert.equal(effectiveRetentionMs(resolve({ file: file('log.retention.hours=24\nlog.retention.minutes=30') }).config), 1_800_000);
  const flagHours = resolve({ file: file('log.retention.ms=1000'), flags: [{ flag: '--log-retention-hours', value: '1' }] });
  assert.equal(effectiveRetentionMs(flagHours.config), 3_600_000, 'the flag wins over the file');
  assert.equal(flagHours.config.logRetentionMs, null);
  assert.equal(describeSource(flagHours.sources.logRetentionMs), 'server.properties:1');
  const envMs = resolve({ file: file('log.retention.hours=1'), env: { TRIBUTARY_LOG_RETENTION_MS: '5000' } });
  assert.equal(effectiveRetentionMs(envMs.config), 5000);
  assert.equal(effectiveRetentionMs(resolve({ env: { TRIBUTARY_LOG_RETENTION_HOURS: '-1' } }).config), -1, 'negative is forever');
  const roll = resolve({ file: file('log.roll.ms=60000'), env: { TRIBUTARY_LOG_ROLL_HOURS: '2' } }).config;
  assert.deepEqual(topicDefaultsOf(roll), { 'segment.ms': '7200000' });
});

test('broker settings become the defaults of the topic configs they stand for', () => {
  const { config } = resolve({
    file: file(
      'log.retention.ms=60000\nlog.retention.bytes=1000000\nlog.segment.bytes=1048576\nlog.roll.ms=3600000\n' +
        'log.message.timestamp.type=LogAppendTime\nlog.index.interval.bytes=1024\nmessage.max.bytes=2000000',
    ),
  });
  assert.deepEqual(topicDefaultsOf(config), {
    'max.message.bytes': '2000000',
    'retention.ms': '60000',
    'retention.bytes': '1000000',
    'segment.bytes': '1048576',
    'segment.ms': '3600000',
    'message.timestamp.type': 'LogAppendTime',
    'index.interval.bytes': '1024',
  });
});

test('every invalid value names the setting, its source and what is accepted', () => {
  assertInvalid({ flags: [{ flag: '--port', value: '70000' }] }, 'Invalid value "70000" for port (flag --port): expected an integer from 0 to 65535.');
  assertInvalid({ env: { TRIBUTARY_PORT: 'abc' } }, 'Invalid value "abc" for port (environment TRIBUTARY_PORT): expected an integer from 0 to 65535.');
  assertInvalid(
    { file: file('\n\nnum.partitions=0', '/etc/tributary/server.properties') },
    'Invalid value "0" for num.partitions (/etc/tributary/server.properties:3): expected an integer from 1 to 10000.',
  );
  assertInvalid({ options: { port: -1 } }, 'Invalid value -1 for port (option port): expected an integer from 0 to 65535.');
  assertInvalid({ env: { TRIBUTARY_LOG_LEVEL: 'loud' } }, 'Invalid value "loud" for log.level (environment TRIBUTARY_LOG_LEVEL): expected one of fatal, error, warn, info, debug, trace, silent.');
  assertInvalid({ flags: [{ flag: '--log-format', value: 'xml' }] }, 'Invalid value "xml" for log.format (flag --log-format): expected one of json, pretty, auto.');
  assertInvalid({ flags: [{ flag: '--storage', value: 'disk' }] }, 'for storage (flag --storage): expected one of file, memory.');
  assertInvalid({ file: file('auto.create.topics.enable=maybe') }, 'Invalid value "maybe" for auto.create.topics.enable (server.properties:1): expected true or false.');
  assertInvalid({ file: file('log.dirs=/a,/b') }, 'Invalid value "/a,/b" for log.dirs (server.properties:1): expected one directory path');
  assertInvalid({ file: file('log.segment.bytes=10') }, 'for log.segment.bytes (server.properties:1): expected an integer from 14 to 2147483647.');
  assertInvalid({ env: { TRIBUTARY_LOG_RETENTION_MS: '-2' } }, 'for log.retention.ms (environment TRIBUTARY_LOG_RETENTION_MS): expected an integer of at least -1.');
  assertInvalid({ env: { TRIBUTARY_ADMIN_PORT: '1.5' } }, 'for admin.port (environment TRIBUTARY_ADMIN_PORT): expected an integer from 0 to 65535.');
  assertInvalid({ options: { storage: 'disk' as 'file' } }, 'Invalid value "disk" for storage (option storage): expected one of file, memory.');
  assertInvalid({ options: { adminPort: null, port: null as unknown as number } }, 'Invalid value null for port (option port)');
  assertInvalid(
    { file: file('group.min.session.timeout.ms=10000'), flags: [{ flag: '--group-max-session-timeout-ms', value: '5000' }] },
    'Invalid value 5000 for group.max.session.timeout.ms (flag --group-max-session-timeout-ms): expected at least group.min.session.timeout.ms (10000, server.properties:1).',
  );
});

test('all problems are reported at once', () => {
  const message = assertInvalid(
    { file: file('port=x\nnum.partitions=-1'), env: { TRIBUTARY_NODE_ID: 'one' }, flags: [{ flag: '--fetch-max-bytes', value: '-5' }] },
    'Invalid configuration:',
  );
  assert.equal(message.split('\n').length, 5, message);
  for (const name of ['port (server.properties:1)', 'num.partitions (server.properties:2)', 'node.id (environment TRIBUTARY_NODE_ID)', 'fetch.max.bytes (flag --fetch-max-bytes)']) {
    assert.ok(message.includes(name), name);
  }
});

test('unknown keys: a near miss of a known name stops start-up, anything else is ignored with one warning', () => {
  assertInvalid({ file: file('num.partiton=3') }, 'Unknown setting num.partiton (server.properties:1): did you mean num.partitions?');
  assertInvalid({ file: file('log_retention_hours=3') }, 'did you mean log.retention.hours?');
  const { warnings, config } = resolve({
    file: file('zookeeper.connect=localhost:2181\nnum.network.threads=3\nnum.partitions=2\nsocket.send.buffer.bytes=102400'),
  });
  assert.equal(config.defaultPartitions, 2);
  assert.deepEqual(warnings, [
    'server.properties: settings Tributary does not implement are ignored: zookeeper.connect (line 1), num.network.threads (line 2), socket.send.buffer.bytes (line 4).',
  ]);
  assertInvalid({ env: { TRIBUTARY_PROT: '1' } }, 'Unknown setting TRIBUTARY_PROT (environment): did you mean TRIBUTARY_PORT?');
  assertInvalid({ env: { TRIBUTARY_CONFG: 'x' } }, 'did you mean TRIBUTARY_CONFIG?');
  // Variables of other tools and tests are left alone.
  assert.deepEqual(resolve({ env: { TRIBUTARY_INTEROP_DUMP: '1', TRIBUTARY_CONFIG: 'x', PATH: '/bin' } }).warnings, []);
  assertInvalid({ flags: [{ flag: '--nope', value: '1' }] }, 'Unknown flag --nope.');
  assertInvalid({ options: { nope: 1 } as never }, 'Unknown option nope.');
});

test('resolveBrokerConfig keeps working for library options', () => {
  const config = resolveBrokerConfig({ port: 0, storage: 'memory', messageMaxBytes: 1000, advertisedHost: 'x', advertisedPort: null });
  assert.equal(config.port, 0);
  assert.equal(config.storage, 'memory');
  assert.equal(config.messageMaxBytes, 1000);
  assert.equal(config.advertisedHost, 'x');
  assert.equal(config.advertisedPort, null);
  assert.equal(resolveBrokerConfig({ host: '0.0.0.0' }).advertisedHost !== '0.0.0.0', true, 'a wildcard is not advertised');
});

test('loadConfigFile: a missing file and a syntax error name the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-config-'));
  try {
    await assert.rejects(loadConfigFile(join(dir, 'missing.properties')), (error: unknown) => {
      assert.ok(error instanceof TributaryError);
      assert.equal(error.message, `Cannot read the configuration file ${join(dir, 'missing.properties')}: no such file.`);
      return true;
    });
    const bad = join(dir, 'bad.properties');
    await writeFile(bad, 'port=1\nname=\\u00zz\n');
    await assert.rejects(loadConfigFile(bad), { code: 'TRIB_ERR_INVALID_CONFIG', message: `${bad}:2: malformed \\uXXXX escape "\\u00zz" (four hexadecimal digits expected).` });
    const good = join(dir, 'good.properties');
    await writeFile(good, '# a comment\nport=19092\n');
    const loaded = await loadConfigFile(good);
    assert.equal(resolve({ file: loaded }).config.port, 19092);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('config print: every setting with its source, as a file that reads back to the same configuration', () => {
  const resolved = resolve({
    file: file('listeners=PLAINTEXT://127.0.0.1:19092\nlog.dirs=/var/lib/tributary\nlog.retention.hours=24'),
    env: { TRIBUTARY_NUM_PARTITIONS: '3', TRIBUTARY_ADMIN_PORT: '9644' },
    flags: [{ flag: '--log-level', value: 'debug' }, { flag: '--no-auto-create-topics', value: true }],
  });
  const text = formatConfigText(resolved);
  assert.equal(
    text,
    [
      `# Effective configuration of Tributary ${VERSION} (precedence: flag > environment > file > default)`,
      '# server.properties:1 (as listeners)',
      'host=127.0.0.1',
      '# server.properties:1 (as listeners)',
      'port=19092',
      "# default: host (this machine's name when host is 0.0.0.0 or ::)",
      'advertised.host=127.0.0.1',
      '# default: the bound port',
      '#advertised.port=',
      '# default',
      'node.id=1',
      '# default',
      'max.connections=10000',
      '# default',
      'connections.max.idle.ms=600000',
      '# default',
      'socket.request.max.bytes=104857600',
      '# default',
      'max.in.flight.requests.per.connection=64',
      '# default',
      'fetch.max.bytes=57671680',
      '# default',
      'storage=file',
      '# server.properties:2',
      'log.dirs=/var/lib/tributary',
      '# default',
      'log.retention.check.interval.ms=300000',
      '# default',
      'log.cleaner.backoff.ms=15000',
      '# default',
      'log.roll.flush.delay.ms=40000',
      '# flag --no-auto-create-topics',
      'auto.create.topics.enable=false',
      '# environment TRIBUTARY_NUM_PARTITIONS',
      'num.partitions=3',
      '# default',
      'message.max.bytes=1048588',
      '# default: unset: log.retention.minutes, then log.retention.hours apply',
      '#log.retention.ms=',
      '# default: unset: log.retention.hours applies',
      '#log.retention.minutes=',
      '# server.properties:3',
      'log.retention.hours=24',
      '# default',
      'log.retention.bytes=-1',
      '# default',
      'log.segment.bytes=1073741824',
      '# default: unset: log.roll.hours applies',
      '#log.roll.ms=',
      '# default',
      'log.roll.hours=168',
      '# default',
      'log.message.timestamp.type=CreateTime',
      '# default',
      'log.index.interval.bytes=4096',
      '# default',
      'group.initial.rebalance.delay.ms=3000',
      '# default',
      'group.min.session.timeout.ms=6000',
      '# default',
      'group.max.session.timeout.ms=1800000',
      '# default',
      'offsets.retention.minutes=10080',
      '# default',
      'offsets.retention.check.interval.ms=600000',
      '# default',
      'offsets.topic.num.partitions=1',
      '# environment TRIBUTARY_ADMIN_PORT',
      'admin.port=9644',
      '# default: host',
      'admin.host=127.0.0.1',
      '# flag --log-level',
      'log.level=debug',
      '# default',
      'log.format=auto',
      '',
    ].join('\n'),
  );
  // The printed file, read back, gives the same configuration.
  assert.deepEqual(resolve({ file: file(text, 'printed.properties') }).config, resolved.config);

  const json = JSON.parse(formatConfigJson(resolved)) as { version: string; settings: Record<string, { value: unknown; source: string }> };
  assert.equal(json.version, VERSION);
  assert.deepEqual(Object.keys(json.settings), SETTINGS.map((s) => s.name));
  assert.deepEqual(json.settings['port'], { value: 19092, source: 'server.properties:1' });
  assert.deepEqual(json.settings['num.partitions'], { value: 3, source: 'environment TRIBUTARY_NUM_PARTITIONS' });
  assert.deepEqual(json.settings['advertised.port'], { value: null, source: 'default' });
  assert.deepEqual(json.settings['auto.create.topics.enable'], { value: false, source: 'flag --no-auto-create-topics' });
});
