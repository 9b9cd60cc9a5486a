/**
 * One function per producing client. Each writes the given jobs (one topic and codec each) and
 * returns the delivery reports the client gave: for every message, the partition and offset the
 * broker acknowledged, when the client reports them.
 */
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { Producer as PlatformaticProducer } from '@platformatic/kafka';
import { KCAT, PYTHON, loadConfluentJs } from './clients.js';
import { jsonLines, runOk } from './process.js';
import { PARTITIONS, type Message, type ProducerCapabilities } from './dataset.js';

export interface Job {
  topic: string;
  codec: string;
  messages: Message[];
}

export interface DeliveryReport {
  job: number;
  index: number;
  partition: number;
  offset: number;
}

export interface ProduceOutcome {
  reports: DeliveryReport[];
  /** Whether the client reports offsets for every message (kcat does not). */
  reportsOffsets: boolean;
  info: Record<string, unknown>;
}

export interface ProducerClient {
  name: string;
  codecs: string[];
  caps: ProducerCapabilities;
  produce(bootstrap: string, jobs: Job[]): Promise<ProduceOutcome>;
}

const PRODUCE_PY = fileURLToPath(new URL('../../../../test/interop/python/produce.py', import.meta.url));

const b64 = (value: Buffer | null) => (value === null ? null : value.toString('base64'));

function pythonProducer(name: string, client: 'kafka-python' | 'confluent', codecs: string[], caps: ProducerCapabilities): ProducerClient {
  return {
    name,
    codecs,
    caps,
    async produce(bootstrap, jobs) {
      const input = JSON.stringify({
        bootstrap,
        client,
        clientId: `${name}-producer`,
        jobs: jobs.map((job) => ({
          topic: job.topic,
          codec: job.codec,
          messages: job.messages.map((m) => ({
            partition: m.partition,
            key: b64(m.key),
            value: b64(m.value),
            headers: m.headers.map((h) => [h.key, b64(h.value)]),
            timestamp: m.timestamp,
          })),
        })),
      });
      const result = await runOk(PYTHON, [PRODUCE_PY], { input, timeoutMs: 120_000 });
      const lines = jsonLines(result.stdout);
      const done = lines.find((line) => line.done === true);
      if (done === undefined) throw new Error(`${name} producer printed no completion line`);
      return { reports: lines.filter((line) => line.done !== true), reportsOffsets: true, info: done.info };
    },
  };
}

const LIBRDKAFKA_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const fullCaps: ProducerCapabilities = {
  nullKey: true,
  emptyKey: true,
  nullValue: true,
  emptyValue: true,
  headers: true,
  nullHeaderValue: true,
  emptyHeaderValue: true,
  duplicateHeaderKeys: true,
  explicitTimestamps: true,
};

/**
 * kcat reads messages from stdin: `key<\x1f>value<\x1e>`, one partition per run, headers (-H) the
 * same for every message of a run, -Z turning empty keys/values into nulls, no timestamps.
 */
const KCAT_KEY_DELIMITER = 0x1f;
const KCAT_MESSAGE_DELIMITER = 0x1e;
export const KCAT_PARTITION_HEADERS: Array<Array<{ key: string; value: string }>> = [
  [],
  [{ key: 'trace-id', value: 'kcat-partition-1' }],
  [
    { key: 'dup', value: 'first' },
    { key: 'dup', value: 'second' },
    { key: 'empty', value: '' },
  ],
];

export const kcatProducer: ProducerClient = {
  name: 'kcat',
  codecs: LIBRDKAFKA_CODECS,
  caps: {
    nullKey: true,
    emptyKey: false,
    nullValue: true,
    emptyValue: false,
    headers: false,
    nullHeaderValue: false,
    emptyHeaderValue: true,
    duplicateHeaderKeys: true,
    explicitTimestamps: false,
    forbiddenKeyBytes: [KCAT_KEY_DELIMITER, KCAT_MESSAGE_DELIMITER],
    forbiddenValueBytes: [KCAT_KEY_DELIMITER, KCAT_MESSAGE_DELIMITER],
  },
  async produce(bootstrap, jobs) {
    const info: Record<string, unknown> = {};
    for (const job of jobs) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const messages = job.messages.filter((m) => m.partition === partition);
        const input = Buffer.concat(
          messages.flatMap((m) => {
            if (m.value === null && m.key === null) throw new Error('kcat cannot send a null key with a null value');
            const parts: Buffer[] = [];
            if (m.key !== null) parts.push(m.key, Buffer.from([KCAT_KEY_DELIMITER]));
            parts.push(m.value ?? Buffer.alloc(0), Buffer.from([KCAT_MESSAGE_DELIMITER]));
            return parts;
          }),
        );
        const args = ['-P', '-b', bootstrap, '-t', job.topic, '-p', String(partition), '-K', '\\x1f', '-D', '\\x1e', '-Z'];
        args.push('-X', `compression.codec=${job.codec}`, '-X', 'client.id=kcat-producer', '-X', 'enable.idempotence=true', '-X', 'acks=all');
        for (const header of KCAT_PARTITION_HEADERS[partition]!) args.push('-H', `${header.key}=${header.value}`);
        await runOk(KCAT, args, { input, timeoutMs: 60_000 });
      }
    }
    return { reports: [], reportsOffsets: false, info };
  },
};

/** kcat runs set headers per partition: apply them to the expected messages. */
export function withKcatHeaders(messages: Message[]): Message[] {
  return messages.map((m) => ({
    ...m,
    headers: KCAT_PARTITION_HEADERS[m.partition]!.map((h) => ({ key: h.key, value: Buffer.from(h.value) })),
  }));
}

// kafka-python 2.0.2's send() asserts every header value is bytes: no null header values.
export const kafkaPythonProducer = pythonProducer('kafka-python', 'kafka-python', ['none', 'gzip', 'snappy', 'lz4', 'zstd'], { ...fullCaps, nullHeaderValue: false });
export const confluentPythonProducer = pythonProducer('confluent-python', 'confluent', LIBRDKAFKA_CODECS, fullCaps);

export const confluentJsProducer: ProducerClient = {
  name: 'confluent-js',
  codecs: LIBRDKAFKA_CODECS,
  // node-rdkafka-style headers are `{ name: string | Buffer }` objects: no null header values; and
  // the binding sends an empty Buffer (key, value or header value) as null, so no empty ones either.
  caps: { ...fullCaps, nullHeaderValue: false, emptyKey: false, emptyValue: false, emptyHeaderValue: false },
  async produce(bootstrap, jobs) {
    const { Producer, librdkafkaVersion } = loadConfluentJs();
    const reports: DeliveryReport[] = [];
    for (const [jobIndex, job] of jobs.entries()) {
      const producer = new Producer({
        'metadata.broker.list': bootstrap,
        'client.id': 'confluent-js-producer',
        dr_cb: true,
        'enable.idempotence': true,
        acks: 'all',
        'compression.codec': job.codec,
        'linger.ms': 5,
      });
      await new Promise<void>((resolve, reject) => {
        producer.once('ready', () => resolve());
        producer.once('connection.failure', (error: Error) => reject(error));
        producer.connect({ timeout: 15_000 }, (error: Error | null) => (error ? reject(error) : undefined));
      });
      producer.setPollInterval(20);
      const delivered = new Promise<void>((resolve, reject) => {
        let remaining = job.messages.length;
        producer.on('delivery-report', (error: Error | null, report: { partition: number; offset: number; opaque: number }) => {
          if (error) {
            reject(new Error(`confluent-js delivery failed for ${job.topic} message ${report?.opaque}: ${error.message}`));
            return;
          }
          reports.push({ job: jobIndex, index: report.opaque, partition: report.partition, offset: Number(report.offset) });
          if (--remaining === 0) resolve();
        });
      });
      job.messages.forEach((m, index) => {
        const headers = m.headers.map((h) => ({ [h.key]: h.value! }));
        producer.produce(job.topic, m.partition, m.value, m.key, m.timestamp ?? undefined, index, headers);
      });
      try {
        await withTimeout(delivered, 60_000, `confluent-js delivery reports for ${job.topic}`);
      } finally {
        await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
      }
    }
    return { reports, reportsOffsets: true, info: { librdkafka: librdkafkaVersion } };
  },
};

export const kafkajsProducer: ProducerClient = {
  name: 'kafkajs',
  // KafkaJS ships gzip only; snappy/lz4/zstd need third-party codec packages.
  codecs: ['none', 'gzip'],
  caps: { ...fullCaps, nullHeaderValue: false },
  async produce(bootstrap, jobs) {
    const kafka = new kafkajs.Kafka({ clientId: 'kafkajs-producer', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 3 } });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const reports: DeliveryReport[] = [];
    try {
      for (const [jobIndex, job] of jobs.entries()) {
        const compression = job.codec === 'gzip' ? kafkajs.CompressionTypes.GZIP : kafkajs.CompressionTypes.None;
        // Several sends, so each partition gets several batches.
        for (let start = 0; start < job.messages.length; start += 12) {
          const chunk = job.messages.slice(start, start + 12);
          const result = await producer.send({
            topic: job.topic,
            acks: -1,
            compression,
            messages: chunk.map((m) => {
              const headers: Record<string, Buffer | Buffer[]> = {};
              for (const h of m.headers) {
                const existing = headers[h.key];
                if (existing === undefined) headers[h.key] = h.value!;
                else headers[h.key] = Array.isArray(existing) ? [...existing, h.value!] : [existing, h.value!];
              }
              return { partition: m.partition, key: m.key, value: m.value, headers, ...(m.timestamp !== null ? { timestamp: String(m.timestamp) } : {}) };
            }),
          });
          const baseByPartition = new Map(result.map((r) => [r.partition, Number(r.baseOffset)]));
          const seen = new Map<number, number>();
          chunk.forEach((m, i) => {
            const n = seen.get(m.partition) ?? 0;
            seen.set(m.partition, n + 1);
            reports.push({ job: jobIndex, index: start + i, partition: m.partition, offset: baseByPartition.get(m.partition)! + n });
          });
        }
      }
    } finally {
      await producer.disconnect();
    }
    return { reports, reportsOffsets: true, info: {} };
  },
};

/** Codecs @platformatic/kafka can compress with on this Node version (zstd needs node:zlib's zstd). */
export async function platformaticCodecs(): Promise<string[]> {
  const { compressionsAlgorithms } = (await import('@platformatic/kafka')) as any;
  return ['none', 'gzip', 'snappy', 'lz4', 'zstd'].filter((codec) => codec === 'none' || compressionsAlgorithms[codec]?.available === true);
}

export const platformaticProducer: ProducerClient = {
  name: 'platformatic',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  caps: { ...fullCaps, nullHeaderValue: true },
  async produce(bootstrap, jobs) {
    const producer = new PlatformaticProducer({ clientId: 'platformatic-producer', bootstrapBrokers: [bootstrap], idempotent: true, acks: -1, retries: 3 });
    const reports: DeliveryReport[] = [];
    try {
      for (const [jobIndex, job] of jobs.entries()) {
        for (let start = 0; start < job.messages.length; start += 12) {
          const chunk = job.messages.slice(start, start + 12);
          const result = await producer.send({
            compression: job.codec as any,
            messages: chunk.map((m) => ({
              topic: job.topic,
              partition: m.partition,
              key: m.key as any,
              value: m.value as any,
              headers: new Map(m.headers.map((h) => [Buffer.from(h.key, 'utf8'), h.value as any])),
              ...(m.timestamp !== null ? { timestamp: BigInt(m.timestamp) } : {}),
            })),
          });
          const baseByPartition = new Map((result.offsets ?? []).map((o) => [o.partition, Number(o.offset)]));
          const seen = new Map<number, number>();
          chunk.forEach((m, i) => {
            const n = seen.get(m.partition) ?? 0;
            seen.set(m.partition, n + 1);
            const base = baseByPartition.get(m.partition);
            reports.push({ job: jobIndex, index: start + i, partition: m.partition, offset: base === undefined ? -1 : base + n });
          });
        }
      }
    } finally {
      await producer.close();
    }
    return { reports, reportsOffsets: true, info: {} };
  },
};

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}
