/**
 * The client's view of a cluster: bootstrap from a list of addresses, cluster metadata, a connection
 * per broker, routing to partition leaders, to the controller and to group coordinators, and
 * bounded retries of retriable failures.
 *
 * Connections are keyed by purpose as well as by broker: group coordination (JoinGroup long-polls
 * for a whole rebalance) and fetches (long polls too) get their own connection, because a broker
 * answers the requests of one connection in order and a heartbeat must not wait behind a fetch.
 * Java's client does the same for its coordinator connection.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { Api } from './apis.js';
import { Connection, formatAddress, type BrokerAddress } from './connection.js';
import { BrokerConnectionError, KafkaError, RequestTimeoutError, isRetriableError } from './errors.js';

export interface ClientOptions {
  /** Bootstrap addresses, tried in order. */
  brokers: BrokerAddress[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Attempts of an operation that keeps failing with retriable errors (default 8). */
  retries?: number;
  /** First backoff between attempts, doubled each time up to 1 s (default 100 ms). */
  retryBackoffMs?: number;
}

export interface BrokerMetadata {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicMetadata {
  name: string;
  /** ZERO_UUID when the broker does not report topic ids (Metadata < v10). */
  topicId: string;
  errorCode: number;
  isInternal: boolean;
  /** Sorted by partition index. */
  partitions: PartitionMetadata[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: Map<number, BrokerMetadata>;
  topics: Map<string, TopicMetadata>;
}

/** What a connection is used for; each purpose gets its own connection to a broker. */
export type ConnectionPurpose = 'default' | 'fetch' | 'group';

/** Parses `host:port[,host:port]`; `[v6addr]:port` for IPv6. Throws a RangeError naming the bad entry. */
export function parseBrokerList(list: string): BrokerAddress[] {
  const entries = list
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new RangeError('no broker address given');
  return entries.map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(entry) ?? /^(?:\[([^\]]+)\]|([^:]+))$/.exec(entry);
    if (match === null) throw new RangeError(`"${entry}" is not host:port`);
    const host = match[1] ?? match[2]!;
    const port = match[3] === undefined ? 9092 : Number(match[3]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`"${entry}" has an invalid port`);
    return { host, port };
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class KafkaClient {
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  private readonly bootstrap: BrokerAddress[];
  private readonly connectTimeoutMs: number;
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  /** Open or opening connections by key (`<purpose>@<host:port>`). */
  private readonly connections = new Map<string, Promise<Connection>>();
  private bootstrapConnection: Promise<Connection> | null = null;
  private metadataCache: ClusterMetadata | null = null;
  private readonly coordinators = new Map<string, Promise<BrokerMetadata>>();
  private closed = false;

  constructor(options: ClientOptions) {
    if (options.brokers.length === 0) throw new RangeError('at least one bootstrap broker is needed');
    this.bootstrap = options.brokers;
    this.clientId = options.clientId ?? 'tributary-cli';
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.retries = options.retries ?? 8;
    this.retryBackoffMs = options.retryBackoffMs ?? 100;
  }

  /** The bootstrap addresses as given, for messages. */
  get bootstrapAddresses(): string[] {
    return this.bootstrap.map(formatAddress);
  }

  // ---- connections ----

  private connectionOptions() {
    return { clientId: this.clientId, connectTimeoutMs: this.connectTimeoutMs, requestTimeoutMs: this.requestTimeoutMs };
  }

  /**
   * A connection to any bootstrap broker (the first that answers), kept for metadata and for
   * requests any broker can serve.
   */
  async anyConnection(): Promise<Connection> {
    this.assertOpen();
    if (this.bootstrapConnection !== null) {
      const existing = await this.bootstrapConnection.catch(() => null);
      if (existing !== null && !existing.isClosed) return existing;
      this.bootstrapConnection = null;
    }
    const opening = this.openBootstrap();
    this.bootstrapConnection = opening;
    opening.catch(() => {
      if (this.bootstrapConnection === opening) this.bootstrapConnection = null;
    });
    return opening;
  }

  private async openBootstrap(): Promise<Connection> {
    const failures: string[] = [];
    let lastError: unknown = null;
    for (const address of this.bootstrap) {
      try {
        return await Connection.open(address, this.connectionOptions());
      } catch (error) {
        if (!(error instanceof BrokerConnectionError) && !(error instanceof RequestTimeoutError)) throw error;
        failures.push(error.message);
        lastError = error;
      }
    }
    throw new BrokerConnectionError(
      this.bootstrapAddresses,
      failures.length === 1 ? failures[0]! : `cannot connect to any of the brokers: ${failures.map((text) => text.replace(/^cannot connect to /, '')).join(', ')}`,
      { cause: lastError, bootstrap: true },
    );
  }

  /** The connection to broker `nodeId` for `purpose`, opened on first use and reopened when broken. */
  async brokerConnection(nodeId: number, purpose: ConnectionPurpose = 'default'): Promise<Connection> {
    this.assertOpen();
    let broker = this.metadataCache?.brokers.get(nodeId);
    if (broker === undefined) broker = (await this.refreshMetadata(null)).brokers.get(nodeId);
    if (broker === undefined) {
      throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `looking up broker ${nodeId}`, `broker ${nodeId} is not in the cluster metadata`);
    }
    return this.addressConnection(broker, purpose);
  }

  private async addressConnection(address: BrokerAddress, purpose: ConnectionPurpose): Promise<Connection> {
    const key = `${purpose}@${formatAddress(address)}`;
    const existing = this.connections.get(key);
    if (existing !== undefined) {
      const connection = await existing.catch(() => null);
      if (connection !== null && !connection.isClosed) return connection;
      if (this.connections.get(key) === existing) this.connections.delete(key);
    }
    const opening = Connection.open({ host: address.host, port: address.port }, this.connectionOptions());
    this.connections.set(key, opening);
    opening.catch(() => {
      if (this.connections.get(key) === opening) this.connections.delete(key);
    });
    return opening;
  }

  // ---- metadata ----

  get metadata(): ClusterMetadata | null {
    return this.metadataCache;
  }

  /**
   * Asks for fresh metadata of `topics` (null: every topic) and merges it into the cache. Brokers
   * and cluster fields are replaced; topics asked about are replaced, others kept.
   */
  async refreshMetadata(topics: string[] | null, options: { allowAutoTopicCreation?: boolean } = {}): Promise<ClusterMetadata> {
    const connection = await this.anyConnection();
    const { response } = await connection.request(Api.Metadata, () => ({
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
    }));
    const fresh = new Map<string, TopicMetadata>();
    for (const topic of response.topics) {
      if (topic.name === null) continue;
      fresh.set(topic.name, {
        name: topic.name,
        topicId: topic.topicId ?? ZERO_UUID,
        errorCode: topic.errorCode,
        isInternal: topic.isInternal,
        partitions: topic.partitions
          .map((partition) => ({
            partition: partition.partitionIndex,
            errorCode: partition.errorCode,
            leaderId: partition.leaderId,
            leaderEpoch: partition.leaderEpoch,
            replicas: partition.replicaNodes,
            isr: partition.isrNodes,
            offlineReplicas: partition.offlineReplicas,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    const topicsMap = topics === null ? fresh : new Map([...(this.metadataCache?.topics ?? new Map<string, TopicMetadata>()), ...fresh]);
    this.metadataCache = {
      clusterId: response.clusterId,
      controllerId: response.controllerId,
      brokers: new Map(response.brokers.map((broker) => [broker.nodeId, { nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack }])),
      topics: topicsMap,
    };
    return this.metadataCache;
  }

  /**
   * The metadata of one topic, refreshed until it has a leader for every partition (right after
   * creation a topic may briefly answer LEADER_NOT_AVAILABLE). Throws a KafkaError
   * (UNKNOWN_TOPIC_OR_PARTITION, ...) when the topic cannot be used.
   */
  async topicMetadata(topic: string, options: { allowAutoTopicCreation?: boolean; refresh?: boolean } = {}): Promise<TopicMetadata> {
    const cached = this.metadataCache?.topics.get(topic);
    if (options.refresh !== true && cached !== undefined && isUsable(cached)) return cached;
    return this.retry(`looking up topic '${topic}'`, async () => {
      const metadata = await this.refreshMetadata([topic], { allowAutoTopicCreation: options.allowAutoTopicCreation ?? false });
      const found = metadata.topics.get(topic);
      if (found === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `looking up topic '${topic}'`);
      if (found.errorCode !== ErrorCode.NONE) {
        // UNKNOWN_TOPIC_OR_PARTITION is retriable in Kafka's table, but a topic that does not exist
        // will not appear by waiting: fail at once. (A topic being auto-created answers
        // LEADER_NOT_AVAILABLE until it is ready, which is retried.)
        if (found.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          throw new NonRetriable(new KafkaError(found.errorCode, `looking up topic '${topic}'`));
        }
        throw new KafkaError(found.errorCode, `looking up topic '${topic}'`);
      }
      const leaderless = found.partitions.find((partition) => partition.errorCode !== ErrorCode.NONE || partition.leaderId < 0);
      if (leaderless !== undefined) {
        throw new KafkaError(leaderless.errorCode === ErrorCode.NONE ? ErrorCode.LEADER_NOT_AVAILABLE : leaderless.errorCode, `looking up partition ${leaderless.partition} of '${topic}'`);
      }
      return found;
    });
  }

  /** The leader's broker id of a partition, from the cache (refreshed when unknown). */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const metadata = await this.topicMetadata(topic);
    const found = metadata.partitions[partition]?.partition === partition ? metadata.partitions[partition] : metadata.partitions.find((p) => p.partition === partition);
    if (found === undefined) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `looking up partition ${partition} of '${topic}'`,
        `topic '${topic}' has ${metadata.partitions.length} partitions (0-${metadata.partitions.length - 1})`,
      );
    }
    return found.leaderId;
  }

  /** Drops the cached metadata of `topic`, so the next lookup asks again (after NOT_LEADER...). */
  invalidateTopic(topic: string): void {
    this.metadataCache?.topics.delete(topic);
  }

  /** The controller (where topic changes go); any broker when the cluster does not name one. */
  async controllerConnection(): Promise<Connection> {
    const metadata = this.metadataCache ?? (await this.refreshMetadata([]));
    if (metadata.controllerId >= 0 && metadata.brokers.has(metadata.controllerId)) return this.brokerConnection(metadata.controllerId);
    return this.anyConnection();
  }

  // ---- group coordinators ----

  /** The coordinator of `groupId`, from FindCoordinator (cached until invalidated). */
  async coordinatorOf(groupId: string): Promise<BrokerMetadata> {
    const cached = this.coordinators.get(groupId);
    if (cached !== undefined) {
      const found = await cached.catch(() => null);
      if (found !== null) return found;
    }
    const lookup = this.retry(`finding the coordinator of group '${groupId}'`, async () => {
      const connection = await this.anyConnection();
      const { response, version } = await connection.request(Api.FindCoordinator, (version) =>
        version >= 4 ? { keyType: 0, coordinatorKeys: [groupId] } : { key: groupId, keyType: 0 },
      );
      const answer =
        version >= 4
          ? response.coordinators[0]
          : { nodeId: response.nodeId, host: response.host, port: response.port, errorCode: response.errorCode, errorMessage: response.errorMessage };
      if (answer === undefined) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `finding the coordinator of group '${groupId}'`);
      if (answer.errorCode !== ErrorCode.NONE) throw new KafkaError(answer.errorCode, `finding the coordinator of group '${groupId}'`, answer.errorMessage);
      return { nodeId: answer.nodeId, host: answer.host, port: answer.port, rack: null };
    });
    this.coordinators.set(groupId, lookup);
    lookup.catch(() => {
      if (this.coordinators.get(groupId) === lookup) this.coordinators.delete(groupId);
    });
    return lookup;
  }

  /** A connection to the coordinator of `groupId`. */
  async coordinatorConnection(groupId: string, purpose: ConnectionPurpose = 'default'): Promise<Connection> {
    const coordinator = await this.coordinatorOf(groupId);
    return this.addressConnection(coordinator, purpose);
  }

  invalidateCoordinator(groupId: string): void {
    this.coordinators.delete(groupId);
  }

  // ---- retries ----

  /**
   * Runs `attempt` until it succeeds, retrying retriable failures (Kafka's retriable error codes,
   * lost connections, timeouts) with exponential backoff, at most `retries` times. `onRetry` runs
   * before each new attempt (refresh metadata, forget a coordinator). Wrap an error in NonRetriable
   * to stop at once.
   */
  async retry<T>(what: string, attempt: (attemptNumber: number) => Promise<T>, onRetry?: (error: unknown) => void): Promise<T> {
    let backoff = this.retryBackoffMs;
    for (let attemptNumber = 1; ; attemptNumber++) {
      try {
        return await attempt(attemptNumber);
      } catch (error) {
        if (error instanceof NonRetriable) throw error.error;
        if (!isRetriableError(error) || attemptNumber > this.retries || this.closed) throw error;
        onRetry?.(error);
        if (error instanceof KafkaError && isCoordinatorError(error.errorCode)) {
          // The cached coordinator may be the stale one; find it again.
          this.coordinators.clear();
        }
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
    // Unreachable; keeps the compiler sure every path returns.
    throw new Error(`retry of ${what} ended without a result`);
  }

  close(): void {
    this.closed = true;
    const all = [...this.connections.values(), ...(this.bootstrapConnection ? [this.bootstrapConnection] : [])];
    this.connections.clear();
    this.bootstrapConnection = null;
    for (const opening of all) opening.then((connection) => connection.close(), () => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new BrokerConnectionError(this.bootstrapAddresses, 'the client is closed');
  }
}

/** Wraps an error that must not be retried even though its kind usually is. */
export class NonRetriable extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super('not retriable');
    this.error = error;
  }
}

export function isCoordinatorError(code: number): boolean {
  return code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

function isUsable(topic: TopicMetadata): boolean {
  return topic.errorCode === ErrorCode.NONE && topic.partitions.length > 0 && topic.partitions.every((p) => p.errorCode === ErrorCode.NONE && p.leaderId >= 0);
}
