/**
 * The composition root: configuration, storage engine, cluster state, handlers and listener, wired
 * together by `startBroker`, and taken apart in the right order by `close`.
 */
import { resolveBrokerConfig, topicDefaultsOf, type BrokerConfig, type BrokerOptions } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { Cluster } from './cluster/cluster.js';
import { ProducerIdAllocator } from './cluster/producer-ids.js';
import { GroupCoordinator, groupCoordinatorConfig } from './coordinator/group/group-coordinator.js';
import { HandlerRegistry, type BrokerContext } from './handlers/handler.js';
import { ALL_HANDLERS } from './handlers/index.js';
import { Listener } from './server/listener.js';
import { createDispatcher, mayOverlap } from './server/dispatch.js';
import type { StorageEngine } from './storage/engine.js';
import type { Readiness } from './admin/admin-server.js';
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
  /** The admin HTTP listener's bound address (/metrics, /health, /ready), or null when it is off. */
  readonly adminHost: string | null;
  readonly adminPort: number | null;
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
  const logger = givenLogger ?? createLogger(config.logLevel, config.logFormat);

  // The metrics read the broker's parts as they come up; the admin listener comes first and goes
  // last, so /health and /ready answer during a long recovery and during shutdown.
  let readiness: Readiness = 'starting';
  let cluster: Cluster | null = null;
  let groups: GroupCoordinator | null = null;
  let listener: Listener | null = null;
  let clusterId: string | null = null;
  // prom-client takes tens of milliseconds to load: only a broker with an admin listener pays for it.
  const { BrokerMetrics, AdminServer } =
    config.adminPort === null
      ? { BrokerMetrics: null, AdminServer: null }
      : { ...(await import('./metrics/broker-metrics.js')), ...(await import('./admin/admin-server.js')) };
  const metrics =
    BrokerMetrics === null
      ? null
      : new BrokerMetrics({
          cluster: () => cluster,
          groups: () => groups,
          connections: () =>
            listener === null
              ? null
              : {
                  active: listener.connectionCount,
                  opened: listener.connectionsOpened,
                  closed: listener.connectionsClosed,
                  refused: listener.connectionsRefused,
                },
          info: () => (clusterId === null ? null : { nodeId: config.nodeId, clusterId }),
        });
  const admin =
    metrics === null || AdminServer === null || config.adminPort === null
      ? null
      : new AdminServer({ host: config.adminHost, port: config.adminPort, logger, metrics, readiness: () => readiness });
  const adminAddress = admin === null ? null : await admin.listen();

  const engine: StorageEngine =
    config.storage === 'memory'
      ? new MemoryStorageEngine()
      : new FileStorageEngine({
          dataDir: config.dataDir,
          nodeId: config.nodeId,
          logger,
          rollFlushDelayMs: config.logRollFlushDelayMs,
          ...(metrics === null ? {} : { onDataSync: metrics.observeDataSync, onInlineWriteBackOff: metrics.countInlineWriteBackOff }),
        });

  try {
    const stored = await engine.open();
    clusterId = stored.clusterId;
    const runningCluster = new Cluster({
      engine,
      logger,
      clusterId: stored.clusterId,
      messageMaxBytes: config.messageMaxBytes,
      topicDefaults: topicDefaultsOf(config),
    });
    cluster = runningCluster;
    await runningCluster.load(stored.topics);
    const shutdown = new AbortController();
    // After the topics are loaded (it replays __consumer_offsets), before clients can connect.
    const runningGroups = new GroupCoordinator({ cluster: runningCluster, logger, config: groupCoordinatorConfig(config), shutdown: shutdown.signal });
    groups = runningGroups;
    await runningGroups.start();
    const advertised = { host: config.advertisedHost, port: config.advertisedPort ?? config.port };
    const context: BrokerContext = {
      config,
      cluster: runningCluster,
      logger,
      producerIds: new ProducerIdAllocator(engine, stored.producerIdBlockEnd),
      groups: runningGroups,
      advertised,
      shutdown: shutdown.signal,
      handlers: new HandlerRegistry(ALL_HANDLERS),
      requestMetrics: metrics?.requests ?? null,
    };
    const runningListener = new Listener({
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
    listener = runningListener;
    const bound = await runningListener.listen();
    advertised.port = config.advertisedPort ?? bound.port;

    const retention = setInterval(() => {
      runningCluster.enforceRetention(Date.now()).catch((error: unknown) => logger.error({ err: error }, 'retention failed'));
    }, config.retentionCheckIntervalMs);
    retention.unref();
    // The log cleaner compacts topics with cleanup.policy=compact (and __consumer_offsets); a run
    // still going when the next is due is not overlapped.
    let compacting = false;
    const cleaner = setInterval(() => {
      if (compacting) return;
      compacting = true;
      runningCluster
        .compactLogs(Date.now())
        .catch((error: unknown) => logger.error({ err: error }, 'log compaction failed'))
        .finally(() => (compacting = false));
    }, config.logCleanerBackoffMs);
    cleaner.unref();
    readiness = 'ready';

    let closing: Promise<void> | null = null;
    return {
      host: bound.host,
      port: bound.port,
      advertisedHost: advertised.host,
      advertisedPort: advertised.port,
      clusterId: stored.clusterId,
      nodeId: config.nodeId,
      config,
      groups: runningGroups,
      adminHost: adminAddress?.host ?? null,
      adminPort: adminAddress?.port ?? null,
      close() {
        closing ??= (async () => {
          readiness = 'stopping';
          clearInterval(retention);
          clearInterval(cleaner);
          shutdown.abort();
          try {
            await runningListener.close(SHUTDOWN_DRAIN_MS);
            await runningGroups.close();
            await runningCluster.close();
            await engine.close();
          } finally {
            await admin?.close();
          }
          logger.info('broker stopped');
          logger.flush();
        })();
        return closing;
      },
    };
  } catch (error) {
    await listener?.close(0).catch(() => undefined);
    await groups?.close().catch(() => undefined);
    await cluster?.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    throw error;
  }
}
