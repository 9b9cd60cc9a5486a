/**
 * Topic-level configuration: every topic config Kafka 3.9 defines, with Kafka's names, types and
 * defaults, so DescribeConfigs looks like Kafka's and tools that set common configs succeed.
 * `applied` says whether Tributary acts on a setting; the others are validated and stored only
 * (for example replication settings, which mean nothing on a single node).
 */
import type { CleanupPolicy, LogConfig } from '../storage/engine.js';

/** Kafka's ConfigType values as DescribeConfigs v3+ reports them. */
export const ConfigType = { boolean: 1, string: 2, int: 3, short: 4, long: 5, double: 6, list: 7, class: 8, password: 9 } as const;
/** Kafka's ConfigSource values. */
export const ConfigSource = { dynamicTopic: 1, staticBroker: 4, default: 5 } as const;

type ValueType = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';

export interface TopicConfigDefinition {
  name: string;
  type: ValueType;
  default: string;
  applied: boolean;
  /** Returns a description of what is accepted when `value` is invalid, else null. */
  validate?: (value: string) => string | null;
}

const LONG_MAX = '9223372036854775807';

function atLeast(min: bigint): (value: string) => string | null {
  return (value) => (BigInt(value) >= min ? null : `a value of at least ${min}`);
}

function oneOf(...allowed: string[]): (value: string) => string | null {
  return (value) => (allowed.includes(value) ? null : `one of ${allowed.join(', ')}`);
}

function listOf(...allowed: string[]): (value: string) => string | null {
  return (value) => {
    const items = value.split(',').map((item) => item.trim());
    return items.length > 0 && items.every((item) => allowed.includes(item))
      ? null
      : `a comma-separated list of ${allowed.join(', ')}`;
  };
}

function ratio(value: string): string | null {
  const number = Number(value);
  return number >= 0 && number <= 1 ? null : 'a number from 0 to 1';
}

export const TOPIC_CONFIGS: readonly TopicConfigDefinition[] = [
  { name: 'cleanup.policy', type: 'list', default: 'delete', applied: true, validate: listOf('delete', 'compact') },
  {
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    applied: true,
    // Tributary stores batches exactly as produced and never recompresses them.
    validate: (value) => (value === 'producer' ? null : "'producer' (Tributary keeps batches as the producer compressed them)"),
  },
  { name: 'delete.retention.ms', type: 'long', default: '86400000', applied: true, validate: atLeast(0n) },
  { name: 'file.delete.delay.ms', type: 'long', default: '60000', applied: false, validate: atLeast(0n) },
  { name: 'flush.messages', type: 'long', default: LONG_MAX, applied: false, validate: atLeast(1n) },
  { name: 'flush.ms', type: 'long', default: LONG_MAX, applied: false, validate: atLeast(0n) },
  { name: 'follower.replication.throttled.replicas', type: 'list', default: '', applied: false },
  { name: 'index.interval.bytes', type: 'int', default: '4096', applied: true, validate: atLeast(0n) },
  { name: 'leader.replication.throttled.replicas', type: 'list', default: '', applied: false },
  { name: 'local.retention.bytes', type: 'long', default: '-2', applied: false, validate: atLeast(-2n) },
  { name: 'local.retention.ms', type: 'long', default: '-2', applied: false, validate: atLeast(-2n) },
  { name: 'max.compaction.lag.ms', type: 'long', default: LONG_MAX, applied: true, validate: atLeast(1n) },
  { name: 'max.message.bytes', type: 'int', default: '1048588', applied: true, validate: atLeast(0n) },
  { name: 'message.timestamp.after.max.ms', type: 'long', default: LONG_MAX, applied: false, validate: atLeast(0n) },
  { name: 'message.timestamp.before.max.ms', type: 'long', default: LONG_MAX, applied: false, validate: atLeast(0n) },
  { name: 'message.timestamp.difference.max.ms', type: 'long', default: LONG_MAX, applied: false, validate: atLeast(0n) },
  { name: 'message.timestamp.type', type: 'string', default: 'CreateTime', applied: true, validate: oneOf('CreateTime', 'LogAppendTime') },
  { name: 'min.cleanable.dirty.ratio', type: 'double', default: '0.5', applied: true, validate: ratio },
  { name: 'min.compaction.lag.ms', type: 'long', default: '0', applied: true, validate: atLeast(0n) },
  { name: 'min.insync.replicas', type: 'int', default: '1', applied: false, validate: atLeast(1n) },
  { name: 'preallocate', type: 'boolean', default: 'false', applied: false },
  { name: 'remote.storage.enable', type: 'boolean', default: 'false', applied: false, validate: oneOf('false') },
  { name: 'retention.bytes', type: 'long', default: '-1', applied: true },
  { name: 'retention.ms', type: 'long', default: '604800000', applied: true, validate: atLeast(-1n) },
  { name: 'segment.bytes', type: 'int', default: '1073741824', applied: true, validate: atLeast(14n) },
  { name: 'segment.index.bytes', type: 'int', default: '10485760', applied: false, validate: atLeast(4n) },
  { name: 'segment.jitter.ms', type: 'long', default: '0', applied: false, validate: atLeast(0n) },
  { name: 'segment.ms', type: 'long', default: '604800000', applied: true, validate: atLeast(1n) },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', applied: false },
];

const BY_NAME = new Map(TOPIC_CONFIGS.map((definition) => [definition.name, definition]));

export function topicConfigDefinition(name: string): TopicConfigDefinition | undefined {
  return BY_NAME.get(name);
}

const INT_MAX = 2n ** 31n - 1n;
const INT_MIN = -(2n ** 31n);
const LONG_MAX_N = 2n ** 63n - 1n;
const LONG_MIN_N = -(2n ** 63n);

function isIntegerText(value: string): boolean {
  return /^-?\d+$/.test(value.trim());
}

/**
 * Checks one topic config. Returns null when valid, else a message naming the config and what it
 * accepts (sent back to the client with INVALID_CONFIG).
 */
export function validateTopicConfig(name: string, value: string | null): string | null {
  const definition = BY_NAME.get(name);
  if (definition === undefined) return `Unknown topic config name: ${name}`;
  if (value === null) return `Null value not supported for topic config ${name}`;
  const trimmed = value.trim();
  const expected = (what: string) => `Invalid value ${value} for configuration ${name}: expected ${what}`;
  switch (definition.type) {
    case 'int':
    case 'long': {
      if (!isIntegerText(trimmed)) return expected(`an integer`);
      const number = BigInt(trimmed);
      const [min, max] = definition.type === 'int' ? [INT_MIN, INT_MAX] : [LONG_MIN_N, LONG_MAX_N];
      if (number < min || number > max) return expected(`a ${definition.type} from ${min} to ${max}`);
      break;
    }
    case 'double':
      if (trimmed === '' || Number.isNaN(Number(trimmed))) return expected('a number');
      break;
    case 'boolean':
      if (trimmed !== 'true' && trimmed !== 'false') return expected('true or false');
      break;
    default:
      break;
  }
  const problem = definition.validate?.(trimmed) ?? null;
  return problem === null ? null : expected(problem);
}

/**
 * The value in effect for `name`: the topic's override, else the broker's default for it (from the
 * broker settings such as log.retention.ms), else Kafka's default.
 */
export function effectiveTopicConfig(
  overrides: Readonly<Record<string, string>>,
  name: string,
  brokerDefaults: Readonly<Record<string, string>> = {},
): string {
  return overrides[name] ?? brokerDefaults[name] ?? BY_NAME.get(name)?.default ?? '';
}

/** cleanup.policy as the engines take it: Kafka accepts the list in any order, with spaces. */
export function cleanupPolicyOf(value: string): CleanupPolicy {
  // Asked for every produced batch: a plain `delete` topic is answered without splitting the value.
  if (!value.includes('compact')) return 'delete';
  const items = new Set(value.split(',').map((item) => item.trim()));
  const compact = items.has('compact');
  if (!compact) return 'delete';
  return items.has('delete') ? 'compact,delete' : 'compact';
}

/** True when a topic's cleanup.policy includes compact (its produce path refuses keyless records). */
export function isCompactedTopic(overrides: Readonly<Record<string, string>>, brokerDefaults: Readonly<Record<string, string>> = {}): boolean {
  return cleanupPolicyOf(effectiveTopicConfig(overrides, 'cleanup.policy', brokerDefaults)) !== 'delete';
}

/**
 * Checks the rules between topic configs that Kafka enforces (LogConfig.validateValues) on the
 * values in effect; null when they hold, else the message to send with INVALID_CONFIG.
 */
export function topicConfigConflict(overrides: Readonly<Record<string, string | null>>, brokerDefaults: Readonly<Record<string, string>> = {}): string | null {
  const value = (name: string) => overrides[name] ?? brokerDefaults[name] ?? BY_NAME.get(name)?.default ?? '';
  const minLag = BigInt(value('min.compaction.lag.ms').trim());
  const maxLag = BigInt(value('max.compaction.lag.ms').trim());
  if (minLag > maxLag) {
    return `conflict topic config setting min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag})`;
  }
  return null;
}

/** Translates a topic's configs into the settings the storage engine acts on. */
export function logConfigOf(overrides: Readonly<Record<string, string>>, brokerDefaults: Readonly<Record<string, string>> = {}): LogConfig {
  const value = (name: string) => effectiveTopicConfig(overrides, name, brokerDefaults);
  const cleanupPolicy = cleanupPolicyOf(value('cleanup.policy'));
  const segmentMs = clampToSafe(value('segment.ms'));
  const maxCompactionLagMs = clampToSafe(value('max.compaction.lag.ms'));
  return {
    segmentBytes: Number(value('segment.bytes')),
    // Kafka rolls a compacted log's active segment by max.compaction.lag.ms too (LogConfig.maxSegmentMs):
    // the cleaner never touches the active segment, so that is what bounds a record's wait.
    segmentMs: cleanupPolicy !== 'delete' && maxCompactionLagMs > 0 ? Math.min(segmentMs, maxCompactionLagMs) : segmentMs,
    retentionMs: clampToSafe(value('retention.ms')),
    retentionBytes: clampToSafe(value('retention.bytes')),
    indexIntervalBytes: Number(value('index.interval.bytes')),
    timestampType: value('message.timestamp.type') === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
    cleanupPolicy,
    minCleanableDirtyRatio: Number(value('min.cleanable.dirty.ratio')),
    deleteRetentionMs: clampToSafe(value('delete.retention.ms')),
    minCompactionLagMs: clampToSafe(value('min.compaction.lag.ms')),
    maxCompactionLagMs,
  };
}

/** Longs beyond 2^53 mean "practically forever"; clamp them to a safe JS number. */
function clampToSafe(value: string): number {
  const number = BigInt(value);
  if (number > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (number < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(number);
}

export interface ConfigEntry {
  name: string;
  value: string;
  /** ConfigSource: dynamicTopic when the topic overrides it, staticBroker when a broker setting sets its default, else default. */
  source: number;
  type: number;
}

/** Every topic config with the value in effect for a topic, sorted by name as Kafka lists them. */
export function topicConfigEntries(overrides: Readonly<Record<string, string>>, brokerDefaults: Readonly<Record<string, string>>): ConfigEntry[] {
  return TOPIC_CONFIGS.map((definition) => {
    const override = overrides[definition.name];
    const brokerDefault = brokerDefaults[definition.name];
    return {
      name: definition.name,
      value: override ?? brokerDefault ?? definition.default,
      source: override !== undefined ? ConfigSource.dynamicTopic : brokerDefault !== undefined ? ConfigSource.staticBroker : ConfigSource.default,
      type: ConfigType[definition.type],
    };
  });
}
