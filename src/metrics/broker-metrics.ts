/**
 * The broker's Prometheus metrics, with prom-client. Names carry a `tributary_` prefix and Kafka's
 * label names (`api`, `version`, `topic`, `partition`, `group`).
 *
 * Nothing here runs per message or per request: the request path adds into RequestMetrics' arrays,
 * and everything else (partition offsets and sizes, consumer lag, connections) is read from the
 * broker's own state when /metrics is scraped, by the metrics' `collect` functions. The only metric
 * updated as things happen is the fsync histogram, once per fdatasync.
 *
 * Process metrics (CPU, memory, file descriptors, GC, event-loop delay measured with
 * perf_hooks.monitorEventLoopDelay: `nodejs_eventloop_lag_*_seconds`, reset at each scrape) are
 * prom-client's defaults, kept in one registry per process since they describe the process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { ApiKey } from '../protocol/generated/api-keys.js';
import type { Cluster } from '../cluster/cluster.js';
import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import { VERSION } from '../version.js';
import { API_KEY_SLOTS, REQUEST_DURATION_BUCKETS, RequestMetrics, VERSION_SLOTS } from './request-metrics.js';

/** fdatasync latency buckets, seconds: page-cache-only devices to slow disks. */
export const FSYNC_DURATION_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** What the collectors read; each is null until that part of the broker has started. */
export interface MetricsSources {
  cluster(): Cluster | null;
  groups(): GroupCoordinator | null;
  connections(): { active: number; opened: number; closed: number; refused: number } | null;
  info(): { nodeId: number; clusterId: string } | null;
}

const API_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, key] of Object.entries(ApiKey)) names[key] = name;
  return names;
})();

function apiName(apiKey: number): string {
  return API_NAMES[apiKey] ?? String(apiKey);
}

let processRegistry: Registry | null = null;

/** prom-client's process metrics, made once per process on first use. */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly requests = new RequestMetrics();
  private readonly fsyncDuration: Histogram;
  private readonly inlineWriteBackOffs: Counter;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const requests = this.requests;

    new Gauge({
      name: 'tributary_broker_info',
      help: 'Always 1; the labels describe the broker.',
      labelNames: ['version', 'node_id', 'cluster_id'],
      registers,
      collect() {
        this.reset();
        const info = sources.info();
        if (info !== null) this.set({ version: VERSION, node_id: String(info.nodeId), cluster_id: info.clusterId }, 1);
      },
    });

    // Requests, from the accumulators of the request path.
    new Counter({
      name: 'tributary_requests_total',
      help: 'Requests processed, by API and version.',
      labelNames: ['api', 'version'],
      registers,
      collect() {
        this.reset();
        for (let apiKey = 0; apiKey < API_KEY_SLOTS; apiKey++) {
          for (let version = 0; version < VERSION_SLOTS; version++) {
            const count = requests.requests[apiKey * VERSION_SLOTS + version]!;
            if (count > 0) this.inc({ api: apiName(apiKey), version: String(version) }, count);
          }
        }
      },
    });
    this.registry.registerMetric(new RequestDurationHistogram(requests) as unknown as Metric);
    const bytesCounter = (name: string, help: string, values: Float64Array) =>
      new Counter({
        name,
        help,
        labelNames: ['api'],
        registers,
        collect() {
          this.reset();
          for (let apiKey = 0; apiKey < API_KEY_SLOTS; apiKey++) {
            if (values[apiKey]! > 0) this.inc({ api: apiName(apiKey) }, values[apiKey]!);
          }
        },
      });
    bytesCounter('tributary_request_bytes_total', 'Bytes of request frames received (size prefix included), by API.', requests.requestBytes);
    bytesCounter('tributary_response_bytes_total', 'Bytes of response frames sent (size prefix included), by API.', requests.responseBytes);

    // Connections.
    new Gauge({
      name: 'tributary_connections_active',
      help: 'Client connections open now.',
      registers,
      collect() {
        this.set(sources.connections()?.active ?? 0);
      },
    });
    const connectionCounter = (name: string, help: string, read: (c: NonNullable<ReturnType<MetricsSources['connections']>>) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const connections = sources.connections();
          if (connections !== null) this.inc(read(connections));
        },
      });
    connectionCounter('tributary_connections_opened_total', 'Client connections accepted.', (c) => c.opened);
    connectionCounter('tributary_connections_closed_total', 'Client connections closed, by either side.', (c) => c.closed);
    connectionCounter('tributary_connections_refused_total', 'Connections refused because max.connections was reached.', (c) => c.refused);

    // Partitions, read from the cluster at scrape time.
    const partitionGauge = (name: string, help: string, read: (partition: { highWatermark: bigint; logStartOffset: bigint; log: { sizeInBytes: number } }) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          const cluster = sources.cluster();
          if (cluster === null) return;
          for (const topic of cluster.topics()) {
            for (const partition of topic.partitions) this.set({ topic: topic.name, partition: String(partition.index) }, read(partition));
          }
        },
      });
    partitionGauge('tributary_log_end_offset', 'Offset after the last record of a partition (its high watermark).', (p) => Number(p.highWatermark));
    partitionGauge('tributary_log_start_offset', 'First offset still in a partition.', (p) => Number(p.logStartOffset));
    partitionGauge('tributary_log_size_bytes', 'Bytes of log data held for a partition.', (p) => p.log.sizeInBytes);

    // Consumer groups, read from the group coordinator at scrape time.
    const lagGauge = (name: string, help: string, read: (row: { lag: bigint | null; committedOffset: bigint | null }) => bigint | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['group', 'topic', 'partition'],
        registers,
        collect() {
          this.reset();
          const groups = sources.groups();
          if (groups === null) return;
          for (const { groupId } of groups.listGroups().groups) {
            for (const row of groups.describeLag(groupId)?.partitions ?? []) {
              const value = read(row);
              if (value !== null) this.set({ group: groupId, topic: row.topic, partition: String(row.partition) }, Number(value));
            }
          }
        },
      });
    lagGauge('tributary_consumer_group_lag', 'Log end offset minus the committed offset, per group and partition.', (row) => row.lag);
    lagGauge('tributary_consumer_group_committed_offset', 'Committed offset, per group and partition.', (row) => row.committedOffset);
    new Gauge({
      name: 'tributary_consumer_groups',
      help: 'Consumer groups, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const group of sources.groups()?.listGroups().groups ?? []) counts.set(group.state, (counts.get(group.state) ?? 0) + 1);
        for (const [state, count] of counts) this.set({ state }, count);
      },
    });

    // Storage.
    this.fsyncDuration = new Histogram({
      name: 'tributary_log_fsync_duration_seconds',
      help: 'Duration of each fdatasync of a log segment (group commit of acks=all appends, flushes, rolls).',
      buckets: [...FSYNC_DURATION_BUCKETS],
      registers,
    });
    this.inlineWriteBackOffs = new Counter({
      name: 'tributary_log_inline_write_backoffs_total',
      help: 'Times slow appends held the event loop too long and appends went to the thread pool for a while.',
      registers,
    });
  }

  /** The file engine's fsync hook. */
  readonly observeDataSync = (durationSeconds: number): void => {
    this.fsyncDuration.observe(durationSeconds);
  };

  readonly countInlineWriteBackOff = (): void => {
    this.inlineWriteBackOffs.inc();
  };

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  /** The exposition text: the broker's metrics, then the process's. */
  async render(): Promise<string> {
    const [broker, process] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return `${broker}\n${process}`;
  }
}

/**
 * `tributary_request_duration_seconds{api}`, a Prometheus histogram built from RequestMetrics'
 * counts at scrape time. prom-client's Histogram cannot be loaded from counts, so this implements
 * the metric interface its Registry reads (name, help, type, get()).
 */
class RequestDurationHistogram {
  readonly name = 'tributary_request_duration_seconds';
  readonly help = 'Time from the start of processing a request to its response being ready (a Fetch includes its long poll), by API.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly requests: RequestMetrics;

  constructor(requests: RequestMetrics) {
    this.requests = requests;
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> }> {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (let apiKey = 0; apiKey < API_KEY_SLOTS; apiKey++) {
      const counts = this.requests.durationCountsOf(apiKey);
      let total = 0;
      for (const count of counts) total += count;
      if (total === 0) continue;
      const api = apiName(apiKey);
      let cumulative = 0;
      REQUEST_DURATION_BUCKETS.forEach((bound, index) => {
        cumulative += counts[index]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { api, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { api, le: '+Inf' }, value: total });
      values.push({ metricName: `${this.name}_sum`, labels: { api }, value: this.requests.durationSums[apiKey]! });
      values.push({ metricName: `${this.name}_count`, labels: { api }, value: total });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Registry.resetMetrics() calls this; the counts belong to the request path and stay. */
  reset(): void {}
}
