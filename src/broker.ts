/**
 * The composition root: configuration, storage engine, cluster state, handlers and listener, wired
 * together by `startBroker`, and taken apart in the right order by `close`.
 */
import { resolveBrokerConfig, type BrokerConfig, type BrokerOptions } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { Cluster } from './cluster/cluster.js';
import { ProducerIdAllocator } from './cluster/producer-ids.js';
import { GroupCoordinator, groupCoordinatorConfig } from './coordinator/group/group-coordinator.js';
import { HandlerRegistry, type BrokerContext } from './handlers/handler.js';
import { ALL_HANDLERS } from './handlers/index.js';
import { Listener } from './server/listener.js';
import { createDispatcher, mayOverlap } from './server/dispatch.js';
import type { StorageEngine } from './storage/engine.js';
import { FileStorageEngine } from './storage/file/file-engine.js';
import { MemoryStorageEngine } from './storage/memory/memory-engine.js';

export interface StartBrokerOptions extends BrokerOptions {
  /** A pino logger to use instead of one made from `logLevel`. */
  logger?: Logger;
}

export interface RunningBroker {
  /** The address the listener is bound to. */
  readonly host: string;
  readonly port: number;
  /** What clients are told to connect to: `${advertisedHost}:${advertisedPort}`. */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly config: BrokerConfig;
  /** Consumer groups: list, describe and lag (committed offsets against log end offsets). */
  readonly groups: GroupCoordinator;
  /** Stops accepting, answers in-flight requests, flushes and fsyncs the log, closes everything. */
  close(): Promise<void>;
}

/** How long a graceful shutdown waits for in-flight requests before closing their connections. */
const SHUTDOWN_DRAIN_MS = 10_000;

/**
 * Starts a broker. As a library the defaults suit tests: port 0 (any free port) and in-memory
 * storage unless a `dataDir` is given. The command line passes its own defaults (9092, ./data).
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { logger: givenLogger, ...brokerOptions } = options;
  const config = resolveBrokerConfig({
    port: 0,
    storage: brokerOptions.dataDir === undefined ? 'memory' : 'file',
    ...brokerOptions,
  });
  const logger = givenLogger ?? createLogger(config.logLevel);
  const engine: StorageEngine =
    config.storage === 'memory' ? new MemoryStorageEngine() : new FileStorageEngine({ dataDir: config.dataDir, logger });

  const stored = await engine.open();
  const cluster = new Cluster({ engine, logger, clusterId: stored.clusterId, messageMaxBytes: config.messageMaxBytes });
  let listener: Listener | null = null;
  let groups: GroupCoordinator | null = null;
  try {
    await cluster.load(stored.topics);
    const shutdown = new AbortController();
    // After the topics are loaded (it replays __consumer_offsets), before clients can connect.
    groups = new GroupCoordinator({ cluster, logger, config: groupCoordinatorConfig(config), shutdown: shutdown.signal });
    await groups.start();
    const advertised = { host: config.advertisedHost, port: config.advertisedPort ?? config.port };
    const context: BrokerContext = {
      config,
      cluster,
      logger,
      producerIds: new ProducerIdAllocator(engine, stored.producerIdBlockEnd),
      groups,
      advertised,
      shutdown: shutdown.signal,
      handlers: new HandlerRegistry(ALL_HANDLERS),
    };
    listener = new Listener({
      host: config.host,
      port: config.port,
      maxConnections: config.maxConnections,
      connectionsMaxIdleMs: config.connectionsMaxIdleMs,
      maxRequestBytes: config.maxRequestBytes,
      maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
      logger,
      dispatch: createDispatcher(context),
      mayOverlap,
    });
    const bound = await listener.listen();
    advertised.port = config.advertisedPort ?? bound.port;

    const retention = setInterval(() => {
      cluster.enforceRetention(Date.now()).catch((error: unknown) => logger.error({ err: error }, 'retention failed'));
    }, config.retentionCheckIntervalMs);
    retention.unref();

    let closing: Promise<void> | null = null;
    const runningListener = listener;
    const runningGroups = groups;
    return {
      host: bound.host,
      port: bound.port,
      advertisedHost: advertised.host,
      advertisedPort: advertised.port,
      clusterId: stored.clusterId,
      nodeId: config.nodeId,
      config,
      groups,
      close() {
        closing ??= (async () => {
          clearInterval(retention);
          shutdown.abort();
          await runningListener.close(SHUTDOWN_DRAIN_MS);
          await runningGroups.close();
          await cluster.close();
          await engine.close();
          logger.info('broker stopped');
          logger.flush();
        })();
        return closing;
      },
    };
  } catch (error) {
    await listener?.close(0).catch(() => undefined);
    await groups?.close().catch(() => undefined);
    await cluster.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    throw error;
  }
}
