/**
 * @platformatic/kafka as the typical Node.js client, in its own process.
 *
 *   node dist/bench/node-client.js produce HOST:PORT TOPIC SIZE SECONDS WARMUP ACKS
 *       `producer.send()` of BATCH records of SIZE bytes (null keys), CONCURRENCY sends in flight.
 *   node dist/bench/node-client.js consume HOST:PORT TOPIC SECONDS WARMUP
 *       `consumer.fetch()` of partition 0 from offset 0 (1 MiB per fetch, records decoded by the
 *       client), one fetch at a time, from offset 0 again whenever the partition is drained.
 * Prints one JSON line; CPU is this process's over the measured window.
 */
import { Consumer, Producer } from '@platformatic/kafka';

const BATCH = 1000;
const CONCURRENCY = 8;

async function produce(bootstrap: string, topic: string, size: number, seconds: number, warmup: number, acks: number): Promise<void> {
  const producer = new Producer({ clientId: 'tributary-bench', bootstrapBrokers: [bootstrap], acks, autocreateTopics: false });
  const value = Buffer.alloc(size, 'n');
  const messages = Array.from({ length: BATCH }, () => ({ topic, value }));
  const start = performance.now();
  const windowStart = start + warmup * 1000;
  const windowEnd = windowStart + seconds * 1000;
  let records = 0;
  let cpuStart: NodeJS.CpuUsage | null = null;
  let cpu: NodeJS.CpuUsage | null = null;
  const loop = async () => {
    for (;;) {
      const now = performance.now();
      if (now >= windowEnd) return;
      await producer.send({ messages });
      const done = performance.now();
      if (cpuStart === null && done >= windowStart) cpuStart = process.cpuUsage();
      if (done >= windowStart && done < windowEnd) records += BATCH;
      if (done >= windowEnd && cpu === null) cpu = process.cpuUsage(cpuStart ?? undefined);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  cpu ??= process.cpuUsage(cpuStart ?? undefined);
  await producer.close();
  const cpuUsed: NodeJS.CpuUsage = cpu;
  console.log(
    JSON.stringify({
      mode: 'produce',
      records,
      bytes: records * size,
      seconds,
      recordsPerSec: records / seconds,
      mbPerSec: (records * size) / seconds / 1e6,
      cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
      batch: BATCH,
      concurrency: CONCURRENCY,
    }),
  );
}

async function consume(bootstrap: string, topic: string, seconds: number, warmup: number): Promise<void> {
  const consumer = new Consumer({ clientId: 'tributary-bench', groupId: 'tributary-bench', bootstrapBrokers: [bootstrap] });
  const metadata = await consumer.metadata({ topics: [topic] });
  const topicId = metadata.topics.get(topic)?.id;
  if (topicId === undefined) throw new Error(`topic ${topic} not found`);
  const node = [...metadata.brokers.keys()][0]!;
  let offset = 0n;
  let records = 0;
  let bytes = 0;
  let wraps = 0;
  const windowStart = performance.now() + warmup * 1000;
  const windowEnd = windowStart + seconds * 1000;
  let cpuStart: NodeJS.CpuUsage | null = null;
  // Reads partition 0 from the start again whenever it reaches the end, for the whole window.
  for (;;) {
    const now = performance.now();
    if (cpuStart === null && now >= windowStart) cpuStart = process.cpuUsage();
    if (now >= windowEnd) break;
    const response = await consumer.fetch({
      node,
      maxWaitTime: 100,
      minBytes: 1,
      maxBytes: 50 * 1024 * 1024,
      topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1024 * 1024 }] }],
    });
    const batches = response.responses[0]?.partitions[0]?.records ?? [];
    const done = performance.now();
    const inWindow = done >= windowStart && done < windowEnd;
    for (const batch of batches) {
      for (const record of batch.records) {
        if (inWindow) {
          records++;
          bytes += record.value?.length ?? 0;
        }
      }
      offset = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    }
    if (batches.length === 0) {
      offset = 0n;
      wraps++;
    }
  }
  const cpu = process.cpuUsage(cpuStart ?? undefined);
  await consumer.close();
  console.log(
    JSON.stringify({
      mode: 'consume',
      records,
      bytes,
      seconds,
      recordsPerSec: records / seconds,
      mbPerSec: bytes / seconds / 1e6,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      wraps,
    }),
  );
}

const [mode, bootstrap, topic, ...rest] = process.argv.slice(2);
if (mode === 'produce' && bootstrap && topic) {
  await produce(bootstrap, topic, Number(rest[0] ?? 100), Number(rest[1] ?? 5), Number(rest[2] ?? 1), Number(rest[3] ?? 1));
} else if (mode === 'consume' && bootstrap && topic) {
  await consume(bootstrap, topic, Number(rest[0] ?? 5), Number(rest[1] ?? 1));
} else {
  console.error('usage: node-client.js produce HOST:PORT TOPIC SIZE SECONDS WARMUP ACKS | consume HOST:PORT TOPIC SECONDS WARMUP');
  process.exit(2);
}
