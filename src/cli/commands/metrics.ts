/**
 * `tributary metrics`: reads a broker's Prometheus endpoint (the admin listener, `--admin-port`)
 * and shows it the way an operator checks a broker: who it is and how long it has run, connections,
 * requests and bytes per API with latency quantiles, partitions, consumer group lag, fsync latency,
 * event-loop delay and memory. With `--interval` it scrapes twice and shows rates and the
 * latencies of that interval only; `--raw` lists the samples themselves. It speaks plain HTTP and
 * the text format, so it reads any Tributary broker without Prometheus installed.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { EXIT_CODES_HELP, CliError, ExitCode, action, formatBytes, print, printJson, renderFields, renderTable, usageError, usageExitCodes, warn } from '../output.js';
import { MetricSet, bucketsBetween, histogramQuantile, parsePrometheusText, PrometheusFormatError, type Bucket, type Sample } from '../prometheus-text.js';
import { parseDuration } from '../brokers.js';
import { byTopicPartition } from '../../util/topic-partition-order.js';
import { importPackage } from '../../util/import-package.js';

export const ADMIN_ENV = 'TRIBUTARY_ADMIN';

interface MetricsFlags {
  admin?: string;
  interval?: number;
  raw?: string | true;
  json?: boolean;
  timeout: number;
}

/** `host:port`, `:port`, a bare port, or a URL → the URL of the metrics endpoint. */
export function metricsUrl(address: string): URL {
  const text = address.trim();
  let url: URL;
  try {
    if (/^https?:\/\//.test(text)) url = new URL(text);
    else if (/^\d+(\/|$)/.test(text)) url = new URL(`http://127.0.0.1:${text}`);
    else if (text.startsWith(':')) url = new URL(`http://127.0.0.1${text}`);
    else url = new URL(`http://${text}`);
  } catch {
    throw usageError(`invalid --admin "${address}": expected host:port, a port, or an http:// URL`);
  }
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
  return url;
}

/**
 * GET with node:http (fetch() refuses some ports, e.g. 1 or 6000, as "bad ports"), imported here
 * because this file is loaded by every command, `start` included, and needs HTTP only when it runs.
 */
async function httpGet(url: URL, timeoutMs: number): Promise<{ status: number; body: string }> {
  const { get } =
    url.protocol === 'https:' ? await importPackage<typeof import('node:https')>('node:https') : await importPackage<typeof import('node:http')>('node:http');
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
  });
}

async function scrape(url: URL, timeoutMs: number): Promise<MetricSet> {
  let response: { status: number; body: string };
  try {
    response = await httpGet(url, timeoutMs);
  } catch (error) {
    const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new CliError(
      ExitCode.unreachable,
      `cannot read ${url.href} (${cause}). Is the broker running with its admin listener on? Start it with --admin-port P (or admin.port) and point --admin (or ${ADMIN_ENV}) at that port.`,
    );
  }
  if (response.status !== 200) throw new CliError(ExitCode.failed, `${url.href} answered HTTP ${response.status}; is that the broker's admin listener?`);
  try {
    return new MetricSet(parsePrometheusText(response.body));
  } catch (error) {
    if (error instanceof PrometheusFormatError) throw new CliError(ExitCode.failed, `${url.href}: ${error.message}`);
    throw error;
  }
}

/** 0.000421 → "0.42 ms"; 2.5 → "2.50 s". */
export function formatSeconds(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  if (seconds >= 1) return `${seconds.toFixed(2)} s`;
  const ms = seconds * 1000;
  return `${ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)} ms`;
}

function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const parts = [Math.floor(s / 86_400) + 'd', Math.floor((s % 86_400) / 3600) + 'h', Math.floor((s % 3600) / 60) + 'm', (s % 60) + 's'];
  const first = parts.findIndex((part) => !part.startsWith('0'));
  return parts.slice(first === -1 ? 3 : first).join(' ');
}

const rate = (delta: number, seconds: number) => Math.round((delta / seconds) * 10) / 10;

interface Summary {
  url: string;
  intervalSeconds: number | null;
  broker: { nodeId: string | null; clusterId: string | null; version: string | null; uptimeSeconds: number | null };
  connections: { active: number; opened: number; closed: number; refused: number };
  requests: Array<{ api: string; count: number; perSecond: number | null; requestBytes: number; responseBytes: number; p50Seconds: number | null; p99Seconds: number | null }>;
  partitions: Array<{ topic: string; partition: number; logStartOffset: number; logEndOffset: number; sizeBytes: number; recordsPerSecond: number | null }>;
  groups: { byState: Record<string, number>; lag: Array<{ group: string; topic: string; partition: number; committedOffset: number | null; lag: number }> };
  fsync: { count: number; p50Seconds: number | null; p99Seconds: number | null };
  eventLoop: { p99Seconds: number | null; maxSeconds: number | null };
  memory: { residentBytes: number | null; heapUsedBytes: number | null };
}

/** Quantiles of a histogram: over everything, or over the interval between two scrapes. */
function quantiles(name: string, labels: Record<string, string>, now: MetricSet, earlier: MetricSet | null): { p50: number | null; p99: number | null } {
  let buckets: Bucket[] = now.buckets(name, labels);
  if (earlier !== null) buckets = bucketsBetween(earlier.buckets(name, labels), buckets);
  return { p50: histogramQuantile(0.5, buckets), p99: histogramQuantile(0.99, buckets) };
}

function summarize(url: URL, now: MetricSet, earlier: MetricSet | null, intervalSeconds: number | null): Summary {
  const delta = (name: string, labels: Record<string, string> = {}) => now.sum(name, labels) - (earlier?.sum(name, labels) ?? 0);
  const info = now.all('tributary_broker_info')[0]?.labels ?? {};
  const started = now.value('process_start_time_seconds');

  const apis = [...new Set(now.all('tributary_requests_total').map((sample) => sample.labels.api ?? '?'))];
  const requests = apis
    .map((api) => {
      const latency = quantiles('tributary_request_duration_seconds', { api }, now, earlier);
      const count = now.sum('tributary_requests_total', { api });
      return {
        api,
        count,
        perSecond: intervalSeconds === null ? null : rate(delta('tributary_requests_total', { api }), intervalSeconds),
        requestBytes: now.sum('tributary_request_bytes_total', { api }),
        responseBytes: now.sum('tributary_response_bytes_total', { api }),
        p50Seconds: latency.p50,
        p99Seconds: latency.p99,
      };
    })
    .sort((a, b) => b.count - a.count || (a.api < b.api ? -1 : 1));

  const partitions = now
    .all('tributary_log_end_offset')
    .map((sample) => {
      const labels = { topic: sample.labels.topic ?? '', partition: sample.labels.partition ?? '' };
      return {
        topic: labels.topic,
        partition: Number(labels.partition),
        logStartOffset: now.value('tributary_log_start_offset', labels) ?? 0,
        logEndOffset: sample.value,
        sizeBytes: now.value('tributary_log_size_bytes', labels) ?? 0,
        recordsPerSecond: intervalSeconds === null ? null : rate(delta('tributary_log_end_offset', labels), intervalSeconds),
      };
    })
    .sort(byTopicPartition);

  const lag = now
    .all('tributary_consumer_group_lag')
    .map((sample) => {
      const labels = { group: sample.labels.group ?? '', topic: sample.labels.topic ?? '', partition: sample.labels.partition ?? '' };
      return { group: labels.group, topic: labels.topic, partition: Number(labels.partition), committedOffset: now.value('tributary_consumer_group_committed_offset', labels), lag: sample.value };
    })
    .sort((a, b) => (a.group !== b.group ? (a.group < b.group ? -1 : 1) : byTopicPartition(a, b)));

  const byState: Record<string, number> = {};
  for (const sample of now.all('tributary_consumer_groups')) if (sample.value > 0) byState[sample.labels.state ?? '?'] = sample.value;

  const fsync = quantiles('tributary_log_fsync_duration_seconds', {}, now, earlier);
  return {
    url: url.href,
    intervalSeconds,
    broker: {
      nodeId: info.node_id ?? null,
      clusterId: info.cluster_id ?? null,
      version: info.version ?? null,
      uptimeSeconds: started === null ? null : Date.now() / 1000 - started,
    },
    connections: {
      active: now.sum('tributary_connections_active'),
      opened: now.sum('tributary_connections_opened_total'),
      closed: now.sum('tributary_connections_closed_total'),
      refused: now.sum('tributary_connections_refused_total'),
    },
    requests,
    partitions,
    groups: { byState, lag },
    fsync: { count: delta('tributary_log_fsync_duration_seconds_count'), p50Seconds: fsync.p50, p99Seconds: fsync.p99 },
    eventLoop: { p99Seconds: now.value('nodejs_eventloop_lag_p99_seconds'), maxSeconds: now.value('nodejs_eventloop_lag_max_seconds') },
    memory: { residentBytes: now.value('process_resident_memory_bytes'), heapUsedBytes: now.value('nodejs_heap_size_used_bytes') },
  };
}

function renderSummary(summary: Summary): string {
  const { broker, connections, fsync, eventLoop, memory } = summary;
  const interval = summary.intervalSeconds;
  const totalIn = summary.requests.reduce((sum, r) => sum + r.requestBytes, 0);
  const totalOut = summary.requests.reduce((sum, r) => sum + r.responseBytes, 0);
  const groupStates = Object.entries(summary.groups.byState).map(([state, count]) => `${count} ${state}`);
  const sections = [
    renderFields([
      ['BROKER', broker.nodeId === null ? summary.url : `node ${broker.nodeId}, cluster ${broker.clusterId}, Tributary ${broker.version}`],
      ['UPTIME', broker.uptimeSeconds === null ? null : formatUptime(broker.uptimeSeconds)],
      ['CONNECTIONS', `${connections.active} open (${connections.opened} opened, ${connections.closed} closed, ${connections.refused} refused)`],
      ['TRAFFIC', `${formatBytes(totalIn)} in, ${formatBytes(totalOut)} out since start`],
      ['GROUPS', groupStates.length === 0 ? 'none' : groupStates.join(', ')],
      [interval === null ? 'FSYNC' : `FSYNC (${interval} s)`, fsync.count === 0 ? 'none' : `${fsync.count}, p50 ${formatSeconds(fsync.p50Seconds)}, p99 ${formatSeconds(fsync.p99Seconds)}`],
      ['EVENT LOOP', eventLoop.p99Seconds === null ? null : `delay p99 ${formatSeconds(eventLoop.p99Seconds)}, max ${formatSeconds(eventLoop.maxSeconds)} since the previous scrape`],
      ['MEMORY', memory.residentBytes === null ? null : `${formatBytes(memory.residentBytes)} resident, ${formatBytes(memory.heapUsedBytes ?? 0)} heap used`],
    ]),
  ];
  const latencyNote = interval === null ? 'since start' : `over the last ${interval} s`;
  sections.push(
    `REQUESTS (latency ${latencyNote})\n` +
      renderTable(
        ['API', 'REQUESTS', ...(interval === null ? [] : ['PER-SECOND']), 'IN', 'OUT', 'P50', 'P99'],
        summary.requests.map((r) => [
          r.api,
          r.count,
          ...(interval === null ? [] : [r.perSecond]),
          formatBytes(r.requestBytes),
          formatBytes(r.responseBytes),
          formatSeconds(r.p50Seconds),
          formatSeconds(r.p99Seconds),
        ]),
      ),
  );
  if (summary.partitions.length > 0) {
    sections.push(
      'PARTITIONS\n' +
        renderTable(
          ['TOPIC', 'PARTITION', 'LOG-START', 'LOG-END', 'SIZE', ...(interval === null ? [] : ['RECORDS/S'])],
          summary.partitions.map((p) => [p.topic, p.partition, p.logStartOffset, p.logEndOffset, formatBytes(p.sizeBytes), ...(interval === null ? [] : [p.recordsPerSecond])]),
        ),
    );
  }
  if (summary.groups.lag.length > 0) {
    sections.push(
      'CONSUMER GROUP LAG\n' +
        renderTable(
          ['GROUP', 'TOPIC', 'PARTITION', 'COMMITTED', 'LAG'],
          summary.groups.lag.map((l) => [l.group, l.topic, l.partition, l.committedOffset, l.lag]),
        ),
    );
  }
  return sections.join('\n\n');
}

function renderRaw(samples: Sample[]): string {
  return renderTable(
    ['NAME', 'LABELS', 'VALUE'],
    samples.map((sample) => [
      sample.name,
      Object.entries(sample.labels)
        .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
        .join(','),
      sample.value,
    ]),
  );
}

async function runMetrics(flags: MetricsFlags): Promise<void> {
  const address = flags.admin;
  if (address === undefined || address === '') {
    throw usageError(`give the admin listener's address with --admin host:port (or ${ADMIN_ENV}); the broker serves it when started with --admin-port P`);
  }
  const url = metricsUrl(address);
  let earlier: MetricSet | null = null;
  if (flags.interval !== undefined) {
    earlier = await scrape(url, flags.timeout);
    // On stderr, so that stdout stays the report (or the JSON) alone.
    warn(`scraped ${url.href}; scraping again in ${flags.interval} s`);
    await new Promise((resolve) => setTimeout(resolve, flags.interval! * 1000));
  }
  const now = await scrape(url, flags.timeout);

  if (flags.raw !== undefined) {
    const prefix = flags.raw === true ? '' : flags.raw;
    const samples = now.samples.filter((sample) => sample.name.startsWith(prefix));
    if (flags.json) printJson(samples);
    else print(samples.length === 0 ? `no metric starts with '${prefix}'` : renderRaw(samples));
    return;
  }
  const summary = summarize(url, now, earlier, flags.interval ?? null);
  if (flags.json) printJson(summary);
  else print(renderSummary(summary));
}

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new InvalidArgumentError('Expected seconds, more than 0 and at most 3600.');
  return seconds;
}

export function registerMetricsCommand(program: Command): void {
  const command = usageExitCodes(new Command('metrics'))
    .description("check a broker's metrics: traffic and latency per API, partitions, group lag, fsync, event loop, memory")
    .addOption(new Option('-a, --admin <address>', 'admin listener: host:port, a port on 127.0.0.1, or a URL').env(ADMIN_ENV))
    .addOption(new Option('-i, --interval <seconds>', 'scrape twice this far apart: rates, and latencies of that interval only').argParser(positiveSeconds))
    .option('--raw [prefix]', 'list the samples (of metrics whose name starts with prefix) instead of the summary')
    .option('--json', 'print the summary (or the samples) as JSON')
    .addOption(new Option('--timeout <duration>', 'timeout of each scrape (ms, or 5s, 1m)').default(10_000, '10s').argParser(parseDuration))
    .addHelpText(
      'after',
      `\nThe broker serves its metrics when started with --admin-port P.\n\nExamples:\n  $ tributary metrics --admin 127.0.0.1:9644\n  $ tributary metrics -a 9644 --interval 5\n  $ tributary metrics -a 9644 --raw tributary_log\n${EXIT_CODES_HELP.replace('cannot connect to the brokers (--brokers, TRIBUTARY_BROKERS)', `cannot reach the admin listener (--admin, ${ADMIN_ENV})`)}`,
    )
    .action(action(runMetrics));
  program.addCommand(command);
}
