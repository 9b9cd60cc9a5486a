/**
 * The broker's configuration: one typed shape with Kafka's defaults, validated once at start-up.
 * Invalid values stop start-up with a TributaryError naming the setting and what it accepts.
 */
import { hostname } from 'node:os';
import { TributaryError } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';

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
  dataDir: string;
  nodeId: number;
  logLevel: LogLevel;
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
}

export type BrokerOptions = Partial<BrokerConfig>;

export const DEFAULT_CONFIG: Readonly<Omit<BrokerConfig, 'advertisedHost'>> = {
  host: '127.0.0.1',
  port: 9092,
  advertisedPort: null,
  storage: 'file',
  dataDir: './data',
  nodeId: 1,
  logLevel: 'info',
  autoCreateTopics: true,
  defaultPartitions: 1,
  maxRequestBytes: 100 * 1024 * 1024,
  maxConnections: 10_000,
  connectionsMaxIdleMs: 600_000,
  maxInFlightRequestsPerConnection: 64,
  messageMaxBytes: 1_048_588,
  fetchMaxBytes: 57_671_680,
  retentionCheckIntervalMs: 300_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  offsetsRetentionMinutes: 10_080,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetsTopicPartitions: 1,
};

function invalid(setting: string, value: unknown, accepted: string): never {
  throw new TributaryError(
    'TRIB_ERR_INVALID_CONFIG',
    `Invalid value ${JSON.stringify(value)} for ${setting}: expected ${accepted}.`,
  );
}

function integerIn(setting: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) invalid(setting, value, `an integer from ${min} to ${max}`);
  return value;
}

/** A wildcard bind address cannot be advertised: clients need an address they can reach. */
function defaultAdvertisedHost(host: string): string {
  return host === '0.0.0.0' || host === '::' || host === '' ? hostname() : host;
}

export function resolveBrokerConfig(options: BrokerOptions): BrokerConfig {
  const merged = { ...DEFAULT_CONFIG, ...stripUndefined(options) };
  const config: BrokerConfig = {
    ...merged,
    advertisedHost: options.advertisedHost ?? defaultAdvertisedHost(merged.host),
  };
  if (typeof config.host !== 'string') invalid('host', config.host, 'a host name or IP address');
  integerIn('port', config.port, 0, 65535);
  if (config.advertisedPort !== null) integerIn('advertisedPort', config.advertisedPort, 1, 65535);
  if (config.storage !== 'file' && config.storage !== 'memory') invalid('storage', config.storage, "'file' or 'memory'");
  if (config.storage === 'file' && (typeof config.dataDir !== 'string' || config.dataDir === '')) {
    invalid('dataDir', config.dataDir, 'a directory path');
  }
  integerIn('nodeId', config.nodeId, 0, 2 ** 31 - 1);
  if (!LOG_LEVELS.includes(config.logLevel)) invalid('logLevel', config.logLevel, LOG_LEVELS.join(', '));
  if (typeof config.autoCreateTopics !== 'boolean') invalid('autoCreateTopics', config.autoCreateTopics, 'true or false');
  integerIn('defaultPartitions', config.defaultPartitions, 1, 100_000);
  integerIn('maxRequestBytes', config.maxRequestBytes, 1024, 2 ** 31 - 1);
  integerIn('maxConnections', config.maxConnections, 1, 1_000_000);
  integerIn('connectionsMaxIdleMs', config.connectionsMaxIdleMs, 1, 2 ** 31 - 1);
  integerIn('maxInFlightRequestsPerConnection', config.maxInFlightRequestsPerConnection, 1, 10_000);
  integerIn('messageMaxBytes', config.messageMaxBytes, 0, 2 ** 31 - 1);
  integerIn('fetchMaxBytes', config.fetchMaxBytes, 0, 2 ** 31 - 1);
  integerIn('retentionCheckIntervalMs', config.retentionCheckIntervalMs, 1, 2 ** 31 - 1);
  integerIn('groupInitialRebalanceDelayMs', config.groupInitialRebalanceDelayMs, 0, 2 ** 31 - 1);
  integerIn('groupMinSessionTimeoutMs', config.groupMinSessionTimeoutMs, 1, 2 ** 31 - 1);
  integerIn('groupMaxSessionTimeoutMs', config.groupMaxSessionTimeoutMs, config.groupMinSessionTimeoutMs, 2 ** 31 - 1);
  integerIn('offsetsRetentionMinutes', config.offsetsRetentionMinutes, 1, 2 ** 31 - 1);
  integerIn('offsetsRetentionCheckIntervalMs', config.offsetsRetentionCheckIntervalMs, 1, 2 ** 31 - 1);
  integerIn('offsetsTopicPartitions', config.offsetsTopicPartitions, 1, 1000);
  return config;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
