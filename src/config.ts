/**
 * The broker's configuration: ONE table of settings (`SETTINGS`) from which everything else is
 * derived: the typed `BrokerConfig` defaults, validation and its error messages, the keys of the
 * configuration file, the `TRIBUTARY_*` environment variables, the command-line flags, the broker
 * configs DescribeConfigs reports and `tributary config print`.
 *
 * Names: Kafka's where Kafka has the setting (`log.dirs`, `num.partitions`, `log.retention.ms`...),
 * Tributary's own otherwise (`storage`, `admin.port`, `log.level`...). From a name follow:
 * - the file key: the name itself, in a Java `.properties` file (Kafka's `server.properties` format);
 * - the environment variable: `TRIBUTARY_` + the name in upper snake case (`TRIBUTARY_LOG_RETENTION_MS`);
 * - the flag: `--` + the name with dots as hyphens (`--log-retention-ms`).
 * Aliases (older or shorter names, such as `data.dir` for `log.dirs`) get the same three forms, and a
 * few settings have shortcut flags (`--memory` for `storage=memory`).
 *
 * Precedence: flag > environment > file > default. Within one source a setting given under two
 * names is an error. Kafka's rule that `log.retention.ms` beats `log.retention.minutes` beats
 * `log.retention.hours` (and `log.roll.ms` beats `log.roll.hours`) applies within one source; across
 * sources the higher source wins, so `--log-retention-hours 1` overrides a file's `log.retention.ms`.
 *
 * Unknown keys in the file: a key within two edits of a known name is taken for a typo and stops
 * start-up ("did you mean"); any other key is reported in one warning and ignored, so a Kafka
 * `server.properties` with settings Tributary does not implement (`num.network.threads`,
 * `zookeeper.connect`...) still starts. An unknown `TRIBUTARY_*` variable close to a known one stops
 * start-up too; other `TRIBUTARY_*` variables are left alone (tools use them).
 *
 * Every invalid value is reported at once, each naming the setting, where the value came from
 * (`flag --port`, `environment TRIBUTARY_PORT`, `server.properties:12`, `option port`) and what is
 * accepted; start-up then stops with TRIB_ERR_INVALID_CONFIG.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { TributaryError } from './errors.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { ConfigType, TOPIC_CONFIGS, validateTopicConfig } from './cluster/topic-configs.js';
import { MAX_PARTITIONS_PER_TOPIC } from './cluster/cluster.js';
import { DEFAULT_ROLL_FLUSH_DELAY_MS } from './storage/log-config.js';
import { PropertiesSyntaxError, parseProperties, type PropertyEntry } from './util/properties.js';

export interface BrokerConfig {
  /** Address to bind. */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Host clients are told to connect to (Metadata, FindCoordinator). Defaults to `host`. */
  advertisedHost: string;
  /** Port clients are told to connect to; defaults to the bound port. */
  advertisedPort: number | null;
  /** 'file' keeps a durable log under dataDir; 'memory' keeps nothing across restarts. */
  storage: 'file' | 'memory';
  /** log.dirs (one directory) */
  dataDir: string;
  /** node.id */
  nodeId: number;
  logLevel: LogLevel;
  /** json: JSON lines; pretty: human-readable; auto: pretty when stderr is a terminal. */
  logFormat: LogFormat;
  /** auto.create.topics.enable */
  autoCreateTopics: boolean;
  /** num.partitions: partitions of auto-created topics and of CreateTopics with -1. */
  defaultPartitions: number;
  /** socket.request.max.bytes: larger frames close the connection. */
  maxRequestBytes: number;
  /** max.connections */
  maxConnections: number;
  /** connections.max.idle.ms: idle connections are closed after this long. */
  connectionsMaxIdleMs: number;
  /** Requests of one connection processed at once before the broker stops reading from it. */
  maxInFlightRequestsPerConnection: number;
  /** message.max.bytes: the default of the topic config max.message.bytes. */
  messageMaxBytes: number;
  /** fetch.max.bytes: upper bound of one fetch response. */
  fetchMaxBytes: number;
  /** log.retention.check.interval.ms */
  retentionCheckIntervalMs: number;
  /** log.cleaner.backoff.ms: pause between two runs of the log cleaner (compaction). */
  logCleanerBackoffMs: number;
  /** log.roll.flush.delay.ms: how long a rolled segment waits for its flush and index files. */
  logRollFlushDelayMs: number;
  /** log.retention.ms: default of the topic config retention.ms; null defers to minutes, then hours. */
  logRetentionMs: number | null;
  /** log.retention.minutes; null defers to log.retention.hours. */
  logRetentionMinutes: number | null;
  /** log.retention.hours */
  logRetentionHours: number;
  /** log.retention.bytes: default of retention.bytes. */
  logRetentionBytes: number;
  /** log.segment.bytes: default of segment.bytes. */
  logSegmentBytes: number;
  /** log.roll.ms: default of segment.ms; null defers to log.roll.hours. */
  logRollMs: number | null;
  /** log.roll.hours */
  logRollHours: number;
  /** log.message.timestamp.type: default of message.timestamp.type. */
  logMessageTimestampType: 'CreateTime' | 'LogAppendTime';
  /** log.index.interval.bytes: default of index.interval.bytes. */
  logIndexIntervalBytes: number;
  /**
   * group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits for more
   * members (extended while members keep arriving, up to the rebalance timeout). Kafka's default
   * 3000; tests use small values.
   */
  groupInitialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms: smaller session timeouts get INVALID_SESSION_TIMEOUT. */
  groupMinSessionTimeoutMs: number;
  /** group.max.session.timeout.ms: larger session timeouts get INVALID_SESSION_TIMEOUT. */
  groupMaxSessionTimeoutMs: number;
  /** offsets.retention.minutes: committed offsets of a group that stayed empty this long expire. */
  offsetsRetentionMinutes: number;
  /** offsets.retention.check.interval.ms: how often expired offsets are looked for. */
  offsetsRetentionCheckIntervalMs: number;
  /**
   * offsets.topic.num.partitions: partitions of __consumer_offsets when it is created. Kafka's
   * default is 50 (to spread groups over brokers); a single node needs 1.
   */
  offsetsTopicPartitions: number;
  /** Port of the admin HTTP listener (/metrics, /health, /ready); null keeps it off; 0 picks one. */
  adminPort: number | null;
  /** Address the admin listener binds; defaults to `host`. */
  adminHost: string;
}

export type BrokerOptions = Partial<BrokerConfig>;
export type SettingKey = keyof BrokerConfig;

// ---------------------------------------------------------------------------------------------
// Value types

/** How a setting's values are read from text, checked, and written back as text. */
export interface ValueType<T> {
  /** What is accepted, for error messages and help: "an integer from 0 to 65535". */
  readonly accepted: string;
  /** The value of `text` (already trimmed), or undefined when it is not one. */
  fromText(text: string): T | undefined;
  /** Whether a value given in code (startBroker options) is one. */
  accepts(value: unknown): boolean;
  toText(value: T): string;
}

const INT_MAX = 2 ** 31 - 1;
/** Kafka's longs, as far as JavaScript numbers hold them exactly. */
const LONG_MAX = Number.MAX_SAFE_INTEGER;

function integer(min: number, max: number): ValueType<number> {
  const range = max === LONG_MAX ? `an integer of at least ${min}` : `an integer from ${min} to ${max}`;
  const accepts = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
  return {
    accepted: range,
    fromText(text) {
      if (!/^[+-]?\d+$/.test(text)) return undefined;
      const value = Number(text);
      return accepts(value) ? value : undefined;
    },
    accepts,
    toText: String,
  };
}

function text(what: string): ValueType<string> {
  return {
    accepted: what,
    fromText: (value) => (value === '' ? undefined : value),
    accepts: (value) => typeof value === 'string' && value !== '',
    toText: (value) => value,
  };
}

function oneOf<T extends string>(values: readonly T[]): ValueType<T> {
  return {
    accepted: `one of ${values.join(', ')}`,
    fromText: (value) => values.find((candidate) => candidate.toLowerCase() === value.toLowerCase()),
    accepts: (value) => values.includes(value as T),
    toText: (value) => value,
  };
}

const TRUE_TEXT = new Set(['true', 'yes', '1']);
const FALSE_TEXT = new Set(['false', 'no', '0']);

const boolean: ValueType<boolean> = {
  accepted: 'true or false',
  fromText(value) {
    const lower = value.toLowerCase();
    return TRUE_TEXT.has(lower) ? true : FALSE_TEXT.has(lower) ? false : undefined;
  },
  accepts: (value) => typeof value === 'boolean',
  toText: String,
};

/** One directory: Tributary does not spread partitions over several (Kafka's JBOD). */
const directory: ValueType<string> = {
  accepted: 'one directory path (Tributary keeps its log in a single directory)',
  fromText: (value) => (value === '' || value.includes(',') ? undefined : value),
  accepts: (value) => typeof value === 'string' && value !== '',
  toText: (value) => value,
};

// ---------------------------------------------------------------------------------------------
// The table

/** Kafka's ConfigDef type of a Kafka-named setting, as DescribeConfigs reports it. */
type KafkaType = keyof typeof ConfigType;

export interface Setting<K extends SettingKey = SettingKey> {
  /** Property of BrokerConfig (and the startBroker option of the same name). */
  readonly key: K;
  /** File key; the flag and environment variable are derived from it. */
  readonly name: string;
  /** Whether `name` is Kafka's own name for the setting (DescribeConfigs reports those). */
  readonly kafka: boolean;
  /** Kafka's type, when it is not `int` (for integers) or `string`/`boolean`. */
  readonly kafkaType?: KafkaType;
  /** Other names accepted in the file, the environment and as flags. */
  readonly aliases?: readonly string[];
  readonly type: ValueType<NonNullable<BrokerConfig[K]>>;
  /** The default; null for settings whose default is computed or means "off" (see defaultText). */
  readonly default: BrokerConfig[K] | null;
  /** What the default is when it is computed from other settings, or what null means. */
  readonly defaultText?: string;
  readonly doc: string;
  /** Placeholder of the flag's value in help: `<port>`. */
  readonly placeholder: string;
  /** Flags without a value that set the setting to a fixed value (`--memory`). */
  readonly shortcuts?: ReadonlyArray<{ readonly name: string; readonly value: NonNullable<BrokerConfig[K]>; readonly doc: string }>;
  /** The topic config whose broker-wide default this setting is (DescribeConfigs: STATIC_BROKER_CONFIG). */
  readonly topicConfig?: string;
}

/**
 * A Kafka setting that stands for several of ours (`listeners` sets host and port). It has a file
 * key, a flag and an environment variable like any setting, but no value of its own.
 */
export interface CompoundSetting {
  readonly name: string;
  readonly kafka: true;
  readonly doc: string;
  readonly accepted: string;
  readonly placeholder: string;
  /** The settings it sets, and their values from `text`; undefined when `text` is not accepted. */
  expand(text: string): Partial<BrokerConfig> | undefined;
  readonly sets: readonly SettingKey[];
}

function define<K extends SettingKey>(setting: Setting<K>): Setting {
  return setting as unknown as Setting;
}

/** `PLAINTEXT://host:port`: Kafka's listener syntax; an empty host means every interface. */
function parseListeners(text: string, advertised: boolean): { host: string; port: number } | undefined {
  const listeners = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => /^([A-Za-z0-9_]+):\/\/(\[[0-9A-Fa-f:.]*\]|[^:/[\]]*):(\d+)$/.exec(item));
  if (listeners.some((match) => match === null)) return undefined;
  // A KRaft combined-mode file also lists the controller's listener; there is no controller here.
  const served = listeners.filter((match) => match![1]!.toUpperCase() !== 'CONTROLLER');
  if (served.length !== 1) return undefined;
  const [, protocol, rawHost, rawPort] = served[0]!;
  if (/^(SSL|SASL_PLAINTEXT|SASL_SSL)$/i.test(protocol!)) return undefined;
  const host = rawHost!.startsWith('[') ? rawHost!.slice(1, -1) : rawHost!;
  const port = Number(rawPort);
  if (advertised ? host === '' || port < 1 || port > 65535 : port > 65535) return undefined;
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export const SETTINGS: readonly Setting[] = [
  // Network
  define({ key: 'host', name: 'host', kafka: false, type: text('a host name or IP address'), default: '127.0.0.1', placeholder: '<host>', doc: 'address to bind' }),
  define({ key: 'port', name: 'port', kafka: false, type: integer(0, 65535), default: 9092, placeholder: '<port>', doc: 'port to bind (0 picks a free one)' }),
  define({
    key: 'advertisedHost',
    name: 'advertised.host',
    kafka: false,
    type: text('a host name or IP address'),
    default: null,
    defaultText: "host (this machine's name when host is 0.0.0.0 or ::)",
    placeholder: '<host>',
    doc: 'host clients are told to connect to',
  }),
  define({
    key: 'advertisedPort',
    name: 'advertised.port',
    kafka: false,
    type: integer(1, 65535),
    default: null,
    defaultText: 'the bound port',
    placeholder: '<port>',
    doc: 'port clients are told to connect to',
  }),
  define({ key: 'nodeId', name: 'node.id', kafka: true, aliases: ['broker.id'], type: integer(0, INT_MAX), default: 1, placeholder: '<id>', doc: 'id of this broker' }),
  define({ key: 'maxConnections', name: 'max.connections', kafka: true, type: integer(1, 1_000_000), default: 10_000, placeholder: '<n>', doc: 'connections accepted at once; more are refused' }),
  define({
    key: 'connectionsMaxIdleMs',
    name: 'connections.max.idle.ms',
    kafka: true,
    kafkaType: 'long',
    type: integer(1, INT_MAX),
    default: 600_000,
    placeholder: '<ms>',
    doc: 'idle connections are closed after this long',
  }),
  define({
    key: 'maxRequestBytes',
    name: 'socket.request.max.bytes',
    kafka: true,
    type: integer(1024, INT_MAX),
    default: 100 * 1024 * 1024,
    placeholder: '<bytes>',
    doc: 'largest request frame; a larger one closes the connection',
  }),
  define({
    key: 'maxInFlightRequestsPerConnection',
    name: 'max.in.flight.requests.per.connection',
    kafka: false,
    type: integer(1, 10_000),
    default: 64,
    placeholder: '<n>',
    doc: 'requests of one connection processed at once before the broker stops reading from it',
  }),
  define({ key: 'fetchMaxBytes', name: 'fetch.max.bytes', kafka: true, type: integer(0, INT_MAX), default: 57_671_680, placeholder: '<bytes>', doc: 'largest fetch response' }),

  // Storage
  define({
    key: 'storage',
    name: 'storage',
    kafka: false,
    type: oneOf(['file', 'memory'] as const),
    default: 'file',
    placeholder: '<kind>',
    doc: 'file: a durable log in log.dirs; memory: nothing survives a restart',
    shortcuts: [{ name: 'memory', value: 'memory', doc: 'keep everything in memory (storage=memory)' }],
  }),
  define({
    key: 'dataDir',
    name: 'log.dirs',
    kafka: true,
    kafkaType: 'list',
    aliases: ['data.dir', 'log.dir'],
    type: directory,
    default: './data',
    placeholder: '<dir>',
    doc: 'directory of the durable log',
  }),
  define({
    key: 'retentionCheckIntervalMs',
    name: 'log.retention.check.interval.ms',
    kafka: true,
    kafkaType: 'long',
    type: integer(1, INT_MAX),
    default: 300_000,
    placeholder: '<ms>',
    doc: 'how often retention deletes old segments',
  }),
  define({
    key: 'logCleanerBackoffMs',
    name: 'log.cleaner.backoff.ms',
    kafka: true,
    kafkaType: 'long',
    type: integer(1, INT_MAX),
    default: 15_000,
    placeholder: '<ms>',
    doc: 'pause between two runs of the log cleaner, which compacts topics with cleanup.policy=compact',
  }),
  define({
    key: 'logRollFlushDelayMs',
    name: 'log.roll.flush.delay.ms',
    kafka: false,
    type: integer(0, INT_MAX),
    default: DEFAULT_ROLL_FLUSH_DELAY_MS,
    placeholder: '<ms>',
    doc:
      'how long a rolled segment waits before it is flushed (fdatasync) and its index files written; ' +
      'meanwhile the kernel writes it back, so the flush does not stall appends. acks=all appends never wait for it; ' +
      'a crash within the delay makes the next start check that segment. 0 flushes at once, as Kafka does',
  }),

  // Topics and their defaults
  define({
    key: 'autoCreateTopics',
    name: 'auto.create.topics.enable',
    kafka: true,
    type: boolean,
    default: true,
    placeholder: '<bool>',
    doc: 'create unknown topics when clients ask for them',
    shortcuts: [{ name: 'no-auto-create-topics', value: false, doc: 'refuse unknown topics (auto.create.topics.enable=false)' }],
  }),
  define({
    key: 'defaultPartitions',
    name: 'num.partitions',
    kafka: true,
    type: integer(1, MAX_PARTITIONS_PER_TOPIC),
    default: 1,
    placeholder: '<n>',
    doc: 'partitions of auto-created topics',
  }),
  define({
    key: 'messageMaxBytes',
    name: 'message.max.bytes',
    kafka: true,
    type: integer(0, INT_MAX),
    default: 1_048_588,
    placeholder: '<bytes>',
    topicConfig: 'max.message.bytes',
    doc: 'largest record batch (default of max.message.bytes)',
  }),
  define({
    key: 'logRetentionMs',
    name: 'log.retention.ms',
    kafka: true,
    kafkaType: 'long',
    type: integer(-1, LONG_MAX),
    default: null,
    defaultText: 'unset: log.retention.minutes, then log.retention.hours apply',
    placeholder: '<ms>',
    topicConfig: 'retention.ms',
    doc: 'how long data is kept, -1 forever (default of retention.ms)',
  }),
  define({
    key: 'logRetentionMinutes',
    name: 'log.retention.minutes',
    kafka: true,
    type: integer(-1, INT_MAX),
    default: null,
    defaultText: 'unset: log.retention.hours applies',
    placeholder: '<minutes>',
    topicConfig: 'retention.ms',
    doc: 'retention in minutes, when log.retention.ms is not set',
  }),
  define({
    key: 'logRetentionHours',
    name: 'log.retention.hours',
    kafka: true,
    type: integer(-1, INT_MAX),
    default: 168,
    placeholder: '<hours>',
    topicConfig: 'retention.ms',
    doc: 'retention in hours, when neither log.retention.ms nor log.retention.minutes is set',
  }),
  define({
    key: 'logRetentionBytes',
    name: 'log.retention.bytes',
    kafka: true,
    kafkaType: 'long',
    type: integer(-1, LONG_MAX),
    default: -1,
    placeholder: '<bytes>',
    topicConfig: 'retention.bytes',
    doc: 'largest size of a partition before old segments are deleted, -1 no limit (default of retention.bytes)',
  }),
  define({
    key: 'logSegmentBytes',
    name: 'log.segment.bytes',
    kafka: true,
    type: integer(14, INT_MAX),
    default: 1_073_741_824,
    placeholder: '<bytes>',
    topicConfig: 'segment.bytes',
    doc: 'size at which a segment is rolled (default of segment.bytes)',
  }),
  define({
    key: 'logRollMs',
    name: 'log.roll.ms',
    kafka: true,
    kafkaType: 'long',
    type: integer(1, LONG_MAX),
    default: null,
    defaultText: 'unset: log.roll.hours applies',
    placeholder: '<ms>',
    topicConfig: 'segment.ms',
    doc: 'age at which a segment is rolled (default of segment.ms)',
  }),
  define({
    key: 'logRollHours',
    name: 'log.roll.hours',
    kafka: true,
    type: integer(1, INT_MAX),
    default: 168,
    placeholder: '<hours>',
    topicConfig: 'segment.ms',
    doc: 'segment age in hours, when log.roll.ms is not set',
  }),
  define({
    key: 'logMessageTimestampType',
    name: 'log.message.timestamp.type',
    kafka: true,
    type: oneOf(['CreateTime', 'LogAppendTime'] as const),
    default: 'CreateTime',
    placeholder: '<type>',
    topicConfig: 'message.timestamp.type',
    doc: 'timestamps of stored records (default of message.timestamp.type)',
  }),
  define({
    key: 'logIndexIntervalBytes',
    name: 'log.index.interval.bytes',
    kafka: true,
    type: integer(0, INT_MAX),
    default: 4096,
    placeholder: '<bytes>',
    topicConfig: 'index.interval.bytes',
    doc: 'bytes of log between offset index entries (default of index.interval.bytes)',
  }),

  // Consumer groups
  define({
    key: 'groupInitialRebalanceDelayMs',
    name: 'group.initial.rebalance.delay.ms',
    kafka: true,
    type: integer(0, INT_MAX),
    default: 3000,
    placeholder: '<ms>',
    doc: 'how long the first rebalance of an empty group waits for more members',
  }),
  define({
    key: 'groupMinSessionTimeoutMs',
    name: 'group.min.session.timeout.ms',
    kafka: true,
    type: integer(1, INT_MAX),
    default: 6000,
    placeholder: '<ms>',
    doc: 'smallest session timeout a member may ask for',
  }),
  define({
    key: 'groupMaxSessionTimeoutMs',
    name: 'group.max.session.timeout.ms',
    kafka: true,
    type: integer(1, INT_MAX),
    default: 1_800_000,
    placeholder: '<ms>',
    doc: 'largest session timeout a member may ask for',
  }),
  define({
    key: 'offsetsRetentionMinutes',
    name: 'offsets.retention.minutes',
    kafka: true,
    type: integer(1, INT_MAX),
    default: 10_080,
    placeholder: '<minutes>',
    doc: 'committed offsets of a group empty this long expire',
  }),
  define({
    key: 'offsetsRetentionCheckIntervalMs',
    name: 'offsets.retention.check.interval.ms',
    kafka: true,
    kafkaType: 'long',
    type: integer(1, INT_MAX),
    default: 600_000,
    placeholder: '<ms>',
    doc: 'how often expired offsets are looked for',
  }),
  define({
    key: 'offsetsTopicPartitions',
    name: 'offsets.topic.num.partitions',
    kafka: true,
    type: integer(1, 1000),
    default: 1,
    placeholder: '<n>',
    doc: 'partitions of __consumer_offsets when it is created',
  }),

  // Operations
  define({
    key: 'adminPort',
    name: 'admin.port',
    kafka: false,
    type: integer(0, 65535),
    default: null,
    defaultText: 'off',
    placeholder: '<port>',
    doc: 'port of the admin HTTP listener: /metrics, /health, /ready (0 picks a free one)',
  }),
  define({ key: 'adminHost', name: 'admin.host', kafka: false, type: text('a host name or IP address'), default: null, defaultText: 'host', placeholder: '<host>', doc: 'address the admin listener binds' }),
  define({ key: 'logLevel', name: 'log.level', kafka: false, type: oneOf(LOG_LEVELS), default: 'info', placeholder: '<level>', doc: 'log level' }),
  define({
    key: 'logFormat',
    name: 'log.format',
    kafka: false,
    type: oneOf(LOG_FORMATS),
    default: 'auto',
    placeholder: '<format>',
    doc: 'json: JSON lines; pretty: readable; auto: pretty when stderr is a terminal',
  }),
];

export const COMPOUND_SETTINGS: readonly CompoundSetting[] = [
  {
    name: 'listeners',
    kafka: true,
    doc: 'Kafka-style listener, sets host and port',
    accepted: 'one PLAINTEXT listener such as PLAINTEXT://127.0.0.1:9092 (an empty host binds every interface; CONTROLLER listeners are ignored)',
    placeholder: '<listener>',
    sets: ['host', 'port'],
    expand: (value) => parseListeners(value, false),
  },
  {
    name: 'advertised.listeners',
    kafka: true,
    doc: 'Kafka-style advertised listener, sets advertised.host and advertised.port',
    accepted: 'one PLAINTEXT listener with a host, such as PLAINTEXT://broker.example.com:9092',
    placeholder: '<listener>',
    sets: ['advertisedHost', 'advertisedPort'],
    expand: (value) => {
      const parsed = parseListeners(value, true);
      return parsed === undefined ? undefined : { advertisedHost: parsed.host, advertisedPort: parsed.port };
    },
  },
];

const SETTING_BY_KEY = new Map(SETTINGS.map((setting) => [setting.key, setting]));

export function settingOf(key: SettingKey): Setting {
  return SETTING_BY_KEY.get(key)!;
}

/** The schema's defaults; `advertisedHost` and `adminHost` follow `host` (see resolveConfig). */
export const DEFAULT_CONFIG: Readonly<Omit<BrokerConfig, 'advertisedHost' | 'adminHost'>> = Object.freeze(
  Object.fromEntries(SETTINGS.filter((s) => s.key !== 'advertisedHost' && s.key !== 'adminHost').map((s) => [s.key, s.default])),
) as Omit<BrokerConfig, 'advertisedHost' | 'adminHost'>;

// ---------------------------------------------------------------------------------------------
// Names in the file, the environment and on the command line

/** `log.retention.ms` -> `TRIBUTARY_LOG_RETENTION_MS`. */
export function envName(name: string): string {
  return `TRIBUTARY_${name.replace(/[.-]/g, '_').toUpperCase()}`;
}

/** `log.retention.ms` -> `--log-retention-ms`. */
export function flagName(name: string): string {
  return `--${name.replace(/\./g, '-')}`;
}

/** The variable and flag that name the configuration file. */
export const CONFIG_FILE_ENV = 'TRIBUTARY_CONFIG';
export const CONFIG_FILE_FLAG = '--config';

/** How one name (a setting's, an alias, a compound's or a shortcut's) is applied. */
type NameTarget =
  | { kind: 'setting'; setting: Setting }
  | { kind: 'compound'; compound: CompoundSetting }
  | { kind: 'shortcut'; setting: Setting; value: unknown };

interface NamedTarget {
  /** The name as written in the file (shortcuts have none there). */
  name: string;
  target: NameTarget;
  inFile: boolean;
}

const NAMES: readonly NamedTarget[] = [
  ...SETTINGS.flatMap((setting) =>
    [setting.name, ...(setting.aliases ?? [])].map((name) => ({ name, target: { kind: 'setting', setting } as NameTarget, inFile: true })),
  ),
  ...COMPOUND_SETTINGS.map((compound) => ({ name: compound.name, target: { kind: 'compound', compound } as NameTarget, inFile: true })),
  ...SETTINGS.flatMap((setting) =>
    (setting.shortcuts ?? []).map((shortcut) => ({
      name: shortcut.name,
      target: { kind: 'shortcut', setting, value: shortcut.value } as NameTarget,
      inFile: false,
    })),
  ),
];

const BY_FILE_KEY = new Map(NAMES.filter((n) => n.inFile).map((n) => [n.name, n]));
const BY_ENV = new Map(NAMES.map((n) => [envName(n.name), n]));
const BY_FLAG = new Map(NAMES.map((n) => [flagName(n.name), n]));

export interface CliFlag {
  /** `--log-retention-ms`, or `--memory` for a shortcut. */
  flag: string;
  /** `<ms>`; null for shortcuts, which take no value. */
  placeholder: string | null;
  description: string;
  /** Environment variable of the same name. */
  env: string;
  /** Aliases are accepted but not listed in help. */
  hidden: boolean;
}

/** Every flag of `tributary start`, in table order, derived from the settings. */
export function cliFlags(): CliFlag[] {
  const flags: CliFlag[] = [];
  for (const setting of SETTINGS) {
    const defaultText = setting.default === null ? setting.defaultText : setting.type.toText(setting.default as never);
    const aliases = (setting.aliases ?? []).map(flagName);
    const description = `${setting.doc} (${setting.name}${aliases.length > 0 ? `; also ${aliases.join(', ')}` : ''}; default: ${defaultText})`;
    flags.push({ flag: flagName(setting.name), placeholder: setting.placeholder, description, env: envName(setting.name), hidden: false });
    for (const alias of setting.aliases ?? []) {
      flags.push({ flag: flagName(alias), placeholder: setting.placeholder, description: `same as ${flagName(setting.name)}`, env: envName(alias), hidden: true });
    }
    for (const shortcut of setting.shortcuts ?? []) {
      flags.push({ flag: flagName(shortcut.name), placeholder: null, description: shortcut.doc, env: envName(shortcut.name), hidden: false });
    }
  }
  for (const compound of COMPOUND_SETTINGS) {
    flags.push({ flag: flagName(compound.name), placeholder: compound.placeholder, description: `${compound.doc} (${compound.name})`, env: envName(compound.name), hidden: false });
  }
  return flags;
}

// ---------------------------------------------------------------------------------------------
// Sources and resolution

export type SettingSource =
  | { kind: 'default' }
  | { kind: 'file'; path: string; line: number; name: string }
  | { kind: 'env'; variable: string }
  | { kind: 'flag'; flag: string }
  | { kind: 'option'; option: string };

const RANK: Readonly<Record<SettingSource['kind'], number>> = { default: 0, file: 1, env: 2, flag: 3, option: 4 };

/** `flag --port`, `environment TRIBUTARY_PORT`, `server.properties:3`, `option port`, `default`. */
export function describeSource(source: SettingSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `${source.path}:${source.line}`;
    case 'env':
      return `environment ${source.variable}`;
    case 'flag':
      return `flag ${source.flag}`;
    case 'option':
      return `option ${source.option}`;
  }
}

export interface ConfigFile {
  /** As the user named it; used in messages. */
  path: string;
  entries: readonly PropertyEntry[];
}

export interface ConfigInputs {
  file?: ConfigFile | null;
  /** The process environment (only TRIBUTARY_* variables are read; empty ones count as unset). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Flags given on the command line: value text, or true for shortcuts. */
  flags?: ReadonlyArray<{ flag: string; value: string | true }>;
  /** startBroker's options (a library caller's settings). */
  options?: BrokerOptions;
}

export interface ResolvedConfig {
  config: BrokerConfig;
  /** Where each setting's value came from. */
  sources: Record<SettingKey, SettingSource>;
  /** Things worth telling the operator that do not stop start-up (ignored file keys). */
  warnings: string[];
}

interface Given {
  value: unknown;
  source: SettingSource;
  /** The name it was given under, to report two names for one setting in one source. */
  name: string;
}

/**
 * Merges defaults, the file, the environment, flags and options (in increasing precedence) and
 * validates the result. Throws TRIB_ERR_INVALID_CONFIG listing every problem.
 */
export function resolveConfig(inputs: ConfigInputs): ResolvedConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  const layers: Array<Map<SettingKey, Given>> = [];

  const addTo = (layer: Map<SettingKey, Given>, key: SettingKey, given: Given) => {
    const earlier = layer.get(key);
    if (earlier !== undefined && earlier.name !== given.name) {
      const by = (g: Given) => (g.source.kind === 'file' ? `${g.name} (${describeSource(g.source)})` : describeSource(g.source));
      problems.push(`${settingOf(key).name} is set twice: by ${by(earlier)} and by ${by(given)}; keep one.`);
    }
    layer.set(key, given);
  };

  /** Applies one name=text pair from a text source (file, environment, flag). */
  const applyText = (layer: Map<SettingKey, Given>, named: NamedTarget, rawText: string | true, source: SettingSource, where: string) => {
    const { target } = named;
    if (target.kind === 'shortcut') {
      const on = rawText === true ? true : boolean.fromText(rawText.trim());
      if (on === undefined) {
        problems.push(`Invalid value ${JSON.stringify(rawText)} for ${where} (${describeSource(source)}): expected true or false.`);
      } else if (on) {
        addTo(layer, target.setting.key, { value: target.value, source, name: where });
      }
      return;
    }
    const textValue = rawText === true ? '' : rawText.trim();
    if (target.kind === 'compound') {
      const expanded = target.compound.expand(textValue);
      if (expanded === undefined) {
        problems.push(`Invalid value ${JSON.stringify(rawText)} for ${target.compound.name} (${describeSource(source)}): expected ${target.compound.accepted}.`);
        return;
      }
      for (const [key, value] of Object.entries(expanded)) addTo(layer, key as SettingKey, { value, source, name: where });
      return;
    }
    const value = target.setting.type.fromText(textValue);
    if (value === undefined) {
      problems.push(`Invalid value ${JSON.stringify(rawText)} for ${target.setting.name} (${describeSource(source)}): expected ${target.setting.type.accepted}.`);
      return;
    }
    addTo(layer, target.setting.key, { value, source, name: where });
  };

  // The file: later occurrences of a key replace earlier ones, as in Java.
  if (inputs.file != null) {
    const layer = new Map<SettingKey, Given>();
    const ignored: string[] = [];
    const lastOf = new Map<string, PropertyEntry>();
    for (const entry of inputs.file.entries) lastOf.set(entry.key, entry);
    for (const entry of lastOf.values()) {
      const source: SettingSource = { kind: 'file', path: inputs.file.path, line: entry.line, name: entry.key };
      const named = BY_FILE_KEY.get(entry.key);
      if (named !== undefined) {
        applyText(layer, named, entry.value, source, entry.key);
        continue;
      }
      const suggestion = closestName(entry.key, [...BY_FILE_KEY.keys()]);
      if (suggestion !== null) {
        problems.push(`Unknown setting ${entry.key} (${describeSource(source)}): did you mean ${suggestion}?`);
      } else {
        ignored.push(`${entry.key} (line ${entry.line})`);
      }
    }
    if (ignored.length > 0) {
      warnings.push(`${inputs.file.path}: settings Tributary does not implement are ignored: ${ignored.join(', ')}.`);
    }
    layers.push(layer);
  }

  // The environment.
  if (inputs.env !== undefined) {
    const layer = new Map<SettingKey, Given>();
    for (const [variable, value] of Object.entries(inputs.env)) {
      if (!variable.startsWith('TRIBUTARY_') || value === undefined || value === '' || variable === CONFIG_FILE_ENV) continue;
      const named = BY_ENV.get(variable);
      const source: SettingSource = { kind: 'env', variable };
      if (named !== undefined) {
        applyText(layer, named, value, source, variable);
        continue;
      }
      const suggestion = closestName(variable, [...BY_ENV.keys(), CONFIG_FILE_ENV]);
      if (suggestion !== null) problems.push(`Unknown setting ${variable} (environment): did you mean ${suggestion}?`);
    }
    layers.push(layer);
  }

  // Flags.
  if (inputs.flags !== undefined) {
    const layer = new Map<SettingKey, Given>();
    for (const { flag, value } of inputs.flags) {
      const named = BY_FLAG.get(flag);
      if (named === undefined) {
        problems.push(`Unknown flag ${flag}.`);
        continue;
      }
      applyText(layer, named, value, { kind: 'flag', flag }, flag);
    }
    layers.push(layer);
  }

  // Options of startBroker: values in code, checked with the same types.
  if (inputs.options !== undefined) {
    const layer = new Map<SettingKey, Given>();
    for (const [key, value] of Object.entries(inputs.options)) {
      if (value === undefined) continue;
      const setting = SETTING_BY_KEY.get(key as SettingKey);
      const source: SettingSource = { kind: 'option', option: key };
      if (setting === undefined) {
        problems.push(`Unknown option ${key}.`);
        continue;
      }
      if (value === null ? setting.default !== null : !setting.type.accepts(value)) {
        problems.push(`Invalid value ${JSON.stringify(value)} for ${setting.name} (${describeSource(source)}): expected ${setting.type.accepted}.`);
        continue;
      }
      layer.set(setting.key, { value, source, name: key });
    }
    layers.push(layer);
  }

  // Merge: the last layer that sets a setting wins.
  const merged = new Map<SettingKey, Given>();
  for (const setting of SETTINGS) merged.set(setting.key, { value: setting.default, source: { kind: 'default' }, name: setting.name });
  for (const layer of layers) for (const [key, given] of layer) merged.set(key, given);
  applyHigherSourceWins(merged, ['logRetentionMs', 'logRetentionMinutes', 'logRetentionHours']);
  applyHigherSourceWins(merged, ['logRollMs', 'logRollHours']);

  const config = Object.fromEntries([...merged].map(([key, given]) => [key, given.value])) as unknown as BrokerConfig;
  const sources = Object.fromEntries([...merged].map(([key, given]) => [key, given.source])) as Record<SettingKey, SettingSource>;
  if (merged.get('advertisedHost')!.value === null) config.advertisedHost = defaultAdvertisedHost(config.host);
  if (merged.get('adminHost')!.value === null) config.adminHost = config.host;

  // Checks across settings and against the topic configs they are the defaults of.
  const at = (key: SettingKey) => `${settingOf(key).name} (${describeSource(sources[key])})`;
  if (config.groupMaxSessionTimeoutMs < config.groupMinSessionTimeoutMs) {
    problems.push(
      `Invalid value ${config.groupMaxSessionTimeoutMs} for ${at('groupMaxSessionTimeoutMs')}: expected at least group.min.session.timeout.ms (${config.groupMinSessionTimeoutMs}, ${describeSource(sources.groupMinSessionTimeoutMs)}).`,
    );
  }
  if (problems.length === 0) {
    for (const [name, value] of Object.entries(topicDefaultsOf(config))) {
      const problem = validateTopicConfig(name, value);
      const setting = SETTINGS.find((s) => s.topicConfig === name && sources[s.key].kind !== 'default') ?? SETTINGS.find((s) => s.topicConfig === name)!;
      if (problem !== null) problems.push(`Invalid value for ${at(setting.key)}: ${problem}.`);
    }
  }

  if (problems.length > 0) {
    throw new TributaryError('TRIB_ERR_INVALID_CONFIG', problems.length === 1 ? problems[0]! : `Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return { config, sources, warnings };
}

/**
 * Kafka reads `x.ms` before `x.minutes` before `x.hours`. When a less precise one comes from a
 * higher source than a more precise one, the higher source is what the operator meant: the more
 * precise values from lower sources are dropped (their source stays, for `config print`).
 */
function applyHigherSourceWins(merged: Map<SettingKey, Given>, mostPreciseFirst: readonly SettingKey[]): void {
  let winner = -1;
  let winnerRank = 0;
  mostPreciseFirst.forEach((key, index) => {
    const given = merged.get(key)!;
    const rank = RANK[given.source.kind];
    if (given.value !== null && rank > winnerRank) {
      winner = index;
      winnerRank = rank;
    }
  });
  for (let index = 0; index < winner; index++) {
    const key = mostPreciseFirst[index]!;
    const given = merged.get(key)!;
    if (given.value !== null) merged.set(key, { ...given, value: null });
  }
}

/** Resolves library options (no file, no environment): startBroker's configuration. */
export function resolveBrokerConfig(options: BrokerOptions): BrokerConfig {
  return resolveConfig({ options }).config;
}

/** A wildcard bind address cannot be advertised: clients need an address they can reach. */
function defaultAdvertisedHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? hostname() : host;
}

/** Effective retention.ms default: Kafka's log.retention.ms, else minutes, else hours; negative is forever. */
export function effectiveRetentionMs(config: BrokerConfig): number {
  const ms = config.logRetentionMs ?? (config.logRetentionMinutes !== null ? config.logRetentionMinutes * 60_000 : config.logRetentionHours * 3_600_000);
  return ms < 0 ? -1 : ms;
}

/** Effective segment.ms default: log.roll.ms, else log.roll.hours. */
export function effectiveRollMs(config: BrokerConfig): number {
  return config.logRollMs ?? config.logRollHours * 3_600_000;
}

/**
 * The broker-wide defaults of topic configs that differ from Kafka's own defaults: DescribeConfigs
 * reports them as STATIC_BROKER_CONFIG, and partition logs use them unless a topic overrides them.
 */
export function topicDefaultsOf(config: BrokerConfig): Record<string, string> {
  const values: Record<string, string> = {
    'max.message.bytes': String(config.messageMaxBytes),
    'retention.ms': String(effectiveRetentionMs(config)),
    'retention.bytes': String(config.logRetentionBytes),
    'segment.bytes': String(config.logSegmentBytes),
    'segment.ms': String(effectiveRollMs(config)),
    'message.timestamp.type': config.logMessageTimestampType,
    'index.interval.bytes': String(config.logIndexIntervalBytes),
  };
  const kafkaDefaults = new Map(TOPIC_CONFIGS.map((definition) => [definition.name, definition.default]));
  return Object.fromEntries(Object.entries(values).filter(([name, value]) => kafkaDefaults.get(name) !== value));
}

/** The setting's value as the file would write it; null when unset. */
export function settingText(setting: Setting, config: BrokerConfig): string | null {
  const value = config[setting.key];
  return value === null ? null : setting.type.toText(value as never);
}

/** Kafka's ConfigType of a Kafka-named setting. */
export function kafkaTypeOf(setting: Setting): number {
  if (setting.kafkaType !== undefined) return ConfigType[setting.kafkaType];
  const sample = setting.default ?? setting.type.fromText('0');
  return typeof sample === 'number' ? ConfigType.int : typeof sample === 'boolean' ? ConfigType.boolean : ConfigType.string;
}

// ---------------------------------------------------------------------------------------------
// The file

/** Reads and parses a configuration file; unreadable files and syntax errors stop start-up. */
export async function loadConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new TributaryError('TRIB_ERR_INVALID_CONFIG', `Cannot read the configuration file ${path}: ${reason}.`, { cause: error });
  }
  try {
    return { path, entries: parseProperties(text) };
  } catch (error) {
    if (error instanceof PropertiesSyntaxError) {
      throw new TributaryError('TRIB_ERR_INVALID_CONFIG', `${path}:${error.line}: ${error.message}.`);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Typos

/** The known name within two edits of `name` (ignoring case and . _ - differences), or null. */
function closestName(name: string, known: readonly string[]): string | null {
  const normalize = (value: string) => value.toLowerCase().replace(/[._-]/g, '.');
  const wanted = normalize(name);
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(wanted, normalize(candidate), bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, or `limit` when it is at least that. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin >= limit) return limit;
    previous = current;
  }
  return Math.min(previous[b.length]!, limit);
}
