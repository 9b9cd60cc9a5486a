/**
 * One function per consuming client, each reading whole partitions WITHOUT a consumer group
 * (assign/fetch, never subscribe) from the beginning up to a known end offset, and reporting every
 * record in one normalised shape for the comparison in dataset.ts.
 */
import { fileURLToPath } from 'node:url';
import { Consumer as PlatformaticConsumer } from '@platformatic/kafka';
import { KCAT, PYTHON, loadConfluentJs } from './clients.js';
import { jsonLines, runOk } from './process.js';
import type { ConsumedRecord, ConsumerQuirks, Header } from './dataset.js';
import { withTimeout } from './producers.js';

export interface PartitionToRead {
  topic: string;
  partition: number;
  /** High watermark: read offsets [0, end). */
  end: number;
}

export interface ConsumeOutcome {
  records: ConsumedRecord[];
  info: Record<string, unknown>;
}

export interface ConsumerClient {
  name: string;
  /** Codecs the client can decompress (in this environment). */
  codecs: string[];
  quirks?: ConsumerQuirks;
  /** (producer, codec) pairs this client cannot decode, with the reason: not read, reported. */
  cannotRead?: Array<{ producer: string; codec: string; reason: string }>;
  consume(bootstrap: string, partitions: PartitionToRead[]): Promise<ConsumeOutcome>;
}

export const CONSUME_PY = fileURLToPath(new URL('../../../../test/interop/python/consume.py', import.meta.url));

export const unb64 = (value: string | null): Buffer | null => (value === null ? null : Buffer.from(value, 'base64'));

/** A record as the Python scripts print it (bytes in base64). */
export function recordFromJson(line: any): ConsumedRecord {
  return {
    topic: line.topic,
    partition: line.partition,
    offset: line.offset,
    timestamp: line.timestamp,
    key: unb64(line.key),
    value: unb64(line.value),
    headers: (line.headers as Array<[string, string | null]>).map(([key, value]) => ({ key, value: unb64(value) })),
  };
}

function pythonConsumer(name: string, client: 'kafka-python' | 'confluent', codecs: string[]): ConsumerClient {
  return {
    name,
    codecs,
    async consume(bootstrap, partitions) {
      const input = JSON.stringify({ bootstrap, client, clientId: `${name}-consumer`, partitions, timeoutSeconds: 90 });
      const result = await runOk(PYTHON, [CONSUME_PY], { input, timeoutMs: 120_000 });
      const lines = jsonLines(result.stdout);
      const done = lines.find((line) => line.done === true);
      if (done === undefined) throw new Error(`${name} consumer printed no completion line`);
      const records = lines.filter((line) => line.done !== true).map(recordFromJson);
      return { records, info: done.info };
    },
  };
}

const ALL_CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export const kafkaPythonConsumer = pythonConsumer('kafka-python', 'kafka-python', ALL_CODECS);
export const confluentPythonConsumer = pythonConsumer('confluent-python', 'confluent', ALL_CODECS);

/**
 * kcat's output format: the fixed fields separated by \x1f, then key and value (whose lengths %K and
 * %S give, so any bytes are safe), then the %h header rendering and a record terminator.
 */
export const KCAT_FORMAT = '%t\\x1f%p\\x1f%o\\x1f%T\\x1f%K\\x1f%S\\x1f%k%s%h\\x1e\\x1d\\n';
const KCAT_TERMINATOR = Buffer.from([0x1e, 0x1d, 0x0a]);

export function parseKcatOutput(output: Buffer, topics: string[]): ConsumedRecord[] {
  const records: ConsumedRecord[] = [];
  let at = 0;
  const recordStarts = topics.map((topic) => Buffer.from(`${topic}\x1f`, 'utf8'));
  while (at < output.length) {
    const fields: string[] = [];
    for (let i = 0; i < 6; i++) {
      const end = output.indexOf(0x1f, at);
      if (end < 0) throw new Error(`kcat output: truncated record at byte ${at}`);
      fields.push(output.toString('utf8', at, end));
      at = end + 1;
    }
    const [recordTopic, partition, offset, timestamp, keyLength, valueLength] = fields as [string, string, string, string, string, string];
    const take = (length: number): Buffer | null => {
      if (length < 0) return null;
      const bytes = Buffer.from(output.subarray(at, at + length));
      at += length;
      return bytes;
    };
    const key = take(Number(keyLength));
    const value = take(Number(valueLength));
    // The header rendering ends at the terminator that is followed by the next record or the end.
    let end = output.indexOf(KCAT_TERMINATOR, at);
    while (end >= 0) {
      const after = end + KCAT_TERMINATOR.length;
      if (after === output.length || recordStarts.some((start) => output.subarray(after, after + start.length).equals(start))) break;
      end = output.indexOf(KCAT_TERMINATOR, end + 1);
    }
    if (end < 0) throw new Error(`kcat output: no record terminator after byte ${at}`);
    const rendered = Buffer.from(output.subarray(at, end));
    at = end + KCAT_TERMINATOR.length;
    records.push({ topic: recordTopic, partition: Number(partition), offset: Number(offset), timestamp: Number(timestamp), key, value, headers: { rendered } });
  }
  return records;
}

export const kcatConsumer: ConsumerClient = {
  name: 'kcat',
  codecs: ALL_CODECS,
  async consume(bootstrap, partitions) {
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const records: ConsumedRecord[] = [];
    const queue = [...topics];
    // A few kcat processes at a time: each reads one whole topic (all partitions) to its end and exits.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let topic = queue.shift(); topic !== undefined; topic = queue.shift()) {
          const args = ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', KCAT_FORMAT, '-X', 'client.id=kcat-consumer'];
          const result = await runOk(KCAT, args, { timeoutMs: 60_000 });
          records.push(...parseKcatOutput(result.stdout, [topic]));
        }
      }),
    );
    return { records, info: {} };
  },
};

export const confluentJsConsumer: ConsumerClient = {
  name: 'confluent-js',
  codecs: ALL_CODECS,
  // node-rdkafka-style headers are `{ name: Buffer }`: a null header value arrives as an empty Buffer.
  quirks: { nullHeaderValueReadsEmpty: true },
  async consume(bootstrap, partitions) {
    const { KafkaConsumer, librdkafkaVersion } = loadConfluentJs();
    const consumer = new KafkaConsumer(
      {
        'metadata.broker.list': bootstrap,
        'client.id': 'confluent-js-consumer',
        // librdkafka wants a group id even for assign(); no group is joined without subscribe().
        'group.id': 'interop-unused',
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'fetch.wait.max.ms': 100,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 15_000 }, (error: Error | null) => (error ? reject(error) : resolve())));
    const records: ConsumedRecord[] = [];
    try {
      const remaining = new Map(partitions.filter((p) => p.end > 0).map((p) => [`${p.topic}/${p.partition}`, p.end]));
      consumer.assign(partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: 0 })));
      const readAll = (async () => {
        while (remaining.size > 0) {
          const batch: any[] = await new Promise((resolve, reject) =>
            consumer.consume(500, (error: Error | null, messages: any[]) => (error ? reject(error) : resolve(messages))),
          );
          for (const message of batch) {
            const headers: Header[] = (message.headers ?? []).flatMap((header: Record<string, Buffer>) =>
              Object.entries(header).map(([key, value]) => ({ key, value: value ?? null })),
            );
            records.push({
              topic: message.topic,
              partition: message.partition,
              offset: Number(message.offset),
              timestamp: Number(message.timestamp),
              key: message.key === undefined || message.key === null ? null : Buffer.from(message.key),
              value: message.value === null ? null : Buffer.from(message.value),
              headers,
            });
            const position = `${message.topic}/${message.partition}`;
            if (Number(message.offset) + 1 >= (remaining.get(position) ?? Infinity)) remaining.delete(position);
          }
        }
      })();
      await withTimeout(readAll, 90_000, `confluent-js consumer (still reading ${[...remaining.keys()].join(', ')})`);
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    }
    return { records, info: { librdkafka: librdkafkaVersion } };
  },
};

/** Codecs @platformatic/kafka can decompress on this Node version (zstd needs node:zlib's zstd). */
async function platformaticDecodableCodecs(): Promise<string[]> {
  const { compressionsAlgorithms } = (await import('@platformatic/kafka')) as any;
  return ALL_CODECS.filter((codec) => codec === 'none' || compressionsAlgorithms[codec]?.available === true);
}
export const PLATFORMATIC_CODECS = await platformaticDecodableCodecs();

/** @platformatic/kafka without a group: Consumer.fetch() (Fetch by topic id) from offset 0 to the end. */
export const platformaticConsumer: ConsumerClient = {
  name: 'platformatic',
  codecs: PLATFORMATIC_CODECS,
  cannotRead: [
    {
      producer: 'kafka-python',
      codec: 'snappy',
      reason: "@platformatic/wasm-utils' snappyDecompress traps ('unreachable') on the xerial framing Java clients and kafka-python write; it reads raw snappy only",
    },
  ],
  async consume(bootstrap, partitions) {
    const consumer = new PlatformaticConsumer({ clientId: 'platformatic-consumer', bootstrapBrokers: [bootstrap], groupId: 'interop-unused', retries: 3 });
    const records: ConsumedRecord[] = [];
    try {
      const topics = [...new Set(partitions.map((p) => p.topic))];
      const metadata = await consumer.metadata({ topics });
      const [nodeId] = [...metadata.brokers.keys()];
      for (const p of partitions) {
        const topicId = metadata.topics.get(p.topic)?.id;
        if (topicId === undefined) throw new Error(`platformatic: no metadata for topic ${p.topic}`);
        let offset = 0n;
        while (offset < BigInt(p.end)) {
          const response = await consumer
            .fetch({
              node: nodeId!,
              maxWaitTime: 100,
              topics: [{ topicId, partitions: [{ partition: p.partition, fetchOffset: offset, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
            })
            .catch((error: Error & { errors?: Error[] }) => {
              const causes = (error.errors ?? []).map((cause) => `${cause.message}${cause.cause ? ` (${(cause.cause as Error).message})` : ''}`);
              throw new Error(`platformatic: fetch of ${p.topic}/${p.partition} at offset ${offset} failed: ${error.message} ${[...new Set(causes)].join('; ')}`);
            });
          const data = response.responses[0]?.partitions[0];
          if (data === undefined) throw new Error(`platformatic: empty fetch response for ${p.topic}/${p.partition}`);
          if (data.errorCode !== 0) throw new Error(`platformatic: fetch of ${p.topic}/${p.partition} at ${offset} answered error ${data.errorCode}`);
          const before = offset;
          for (const batch of data.records ?? []) {
            for (const record of batch.records) {
              const recordOffset = batch.firstOffset + BigInt(record.offsetDelta);
              if (recordOffset < offset) continue;
              records.push({
                topic: p.topic,
                partition: p.partition,
                offset: Number(recordOffset),
                timestamp: Number(batch.firstTimestamp + record.timestampDelta),
                key: record.key,
                value: record.value,
                headers: record.headers.map(([key, value]) => ({ key: key === null ? '<null>' : key.toString('utf8'), value })),
              });
              offset = recordOffset + 1n;
            }
          }
          if (offset === before) throw new Error(`platformatic: fetch of ${p.topic}/${p.partition} at ${offset} made no progress (high watermark ${data.highWatermark})`);
        }
      }
    } finally {
      await consumer.close();
    }
    return { records, info: {} };
  },
};
