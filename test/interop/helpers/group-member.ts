/**
 * One Node consumer-group member in its own process, so a test can stop it cleanly (SIGTERM: finish
 * the record in hand, commit, leave the group, exit 0) or SIGKILL it. Run as
 * `node dist/test/interop/helpers/group-member.js '<json spec>'` (see MemberSpec); it prints one
 * JSON line per event on stdout (see MemberEvent in group-members.ts): its assignments and
 * revocations as the client reports them, every record it processes, and every commit the broker
 * acknowledged. Records are processed one at a time and each is committed (synchronously) before
 * the next: at-least-once, with at most one processed-but-uncommitted record at any time.
 *
 * The same event lines come from python/group_member.py for kafka-python and confluent-kafka.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface MemberSpec {
  client: 'kafkajs' | 'platformatic' | 'confluent-js';
  bootstrap: string;
  group: string;
  topic: string;
  clientId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /**
   * confluent-js: partition.assignment.strategy (e.g. 'roundrobin', 'cooperative-sticky'; default
   * librdkafka's). KafkaJS: 'RoundRobinAssigner' for its built-in assigner, otherwise the same logic
   * named 'roundrobin'. @platformatic/kafka: always 'roundrobin'.
   */
  strategy?: string;
  /** group.instance.id (static membership): confluent-js and @platformatic/kafka. */
  groupInstanceId?: string;
}

const write = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

/** Work in progress on the current record: a clean stop waits for it. */
let inFlight: Promise<void> = Promise.resolve();
let stopping = false;
const assignment = new Set<number>();

/** The next offset this member committed itself, per partition. */
const committed = new Map<number, number>();

/**
 * Whether to process a record: as a careful application does, a member processes only records of
 * partitions it owns (others are the new owner's: dropped, not committed), and never a record below
 * what it committed itself. The clients here can hand out records fetched before a rebalance after
 * it (a batch that spans the rebalance), while the new assignment starts again from the committed
 * offset, so the same record can come twice in a row: the second copy is "stale".
 */
function shouldProcess(partition: number, offset: number): boolean {
  if (!assignment.has(partition)) {
    write({ ev: 'dropped', p: partition, o: offset });
    return false;
  }
  if (offset < (committed.get(partition) ?? 0)) {
    write({ ev: 'stale', p: partition, o: offset });
    return false;
  }
  return true;
}

function noteCommitted(partition: number, next: number): void {
  committed.set(partition, Math.max(committed.get(partition) ?? 0, next));
  write({ ev: 'committed', p: partition, o: next });
}

async function runKafkaJs(spec: MemberSpec): Promise<() => Promise<void>> {
  const { default: kafkajs } = await import('kafkajs');
  const { version } = createRequire(import.meta.url)('kafkajs/package.json') as { version: string };
  // KafkaJS calls its round robin assigner "RoundRobinAssigner"; every other client calls the same
  // algorithm "roundrobin". The same logic under Kafka's name lets KafkaJS share a group with them.
  const roundrobin: import('kafkajs').PartitionAssigner = (config) => ({ ...kafkajs.PartitionAssigners.roundRobin(config), name: 'roundrobin' });
  const kafka = new kafkajs.Kafka({
    clientId: spec.clientId,
    brokers: [spec.bootstrap],
    // Rebalances show up as logged errors; real problems come through the CRASH event.
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const consumer = kafka.consumer({
    groupId: spec.group,
    sessionTimeout: spec.sessionTimeoutMs,
    heartbeatInterval: spec.heartbeatIntervalMs,
    rebalanceTimeout: 60_000,
    maxWaitTimeInMs: 100,
    partitionAssigners: spec.strategy === 'RoundRobinAssigner' ? [kafkajs.PartitionAssigners.roundRobin] : [roundrobin],
  });
  consumer.on(consumer.events.REBALANCING, () => write({ ev: 'rebalancing' }));
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const partitions = [...(payload.memberAssignment[spec.topic] ?? [])].sort((a, b) => a - b);
    assignment.clear();
    for (const p of partitions) assignment.add(p);
    write({ ev: 'assigned', partitions, assignment: partitions, protocol: payload.groupProtocol, leader: payload.isLeader, memberId: payload.memberId });
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => write({ ev: 'error', message: `crash: ${payload.error.message} (restart: ${payload.restart})` }));
  await consumer.connect();
  await consumer.subscribe({ topics: [spec.topic], fromBeginning: true });
  write({ ev: 'started', info: { kafkajs: version } });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      if (stopping || !shouldProcess(partition, Number(message.offset))) return;
      const work = (async () => {
        const offset = Number(message.offset);
        write({ ev: 'record', p: partition, o: offset, v: message.value?.toString('utf8') ?? null });
        try {
          await consumer.commitOffsets([{ topic, partition, offset: String(offset + 1) }]);
          noteCommitted(partition, offset + 1);
        } catch (error) {
          write({ ev: 'commitFailed', p: partition, o: offset + 1, error: (error as Error).message });
        }
      })();
      inFlight = work;
      await work;
    },
  });
  return async () => {
    await consumer.disconnect();
  };
}

async function runPlatformatic(spec: MemberSpec): Promise<() => Promise<void>> {
  const { Consumer } = await import('@platformatic/kafka');
  // The package exports no package.json: read it next to its entry point (dist/index.js).
  const entry = createRequire(import.meta.url).resolve('@platformatic/kafka');
  const { version } = JSON.parse(readFileSync(new URL('../package.json', pathToFileURL(entry)), 'utf8')) as { version: string };
  const consumer = new Consumer({
    clientId: spec.clientId,
    groupId: spec.group,
    bootstrapBrokers: [spec.bootstrap],
    sessionTimeout: spec.sessionTimeoutMs,
    heartbeatInterval: spec.heartbeatIntervalMs,
    rebalanceTimeout: 60_000,
    retries: 10,
    // Its default announces the subscription as version 1 but leaves out the owned partitions that
    // version 1 adds, so a librdkafka (or Java) leader cannot parse it and gives this member nothing
    // (librdkafka logs "Protocol read buffer underflow ... rd_kafka_buf_read_topic_partitions").
    // Version 0 is what platformatic actually writes.
    protocols: [{ name: 'roundrobin', version: 0 }],
    ...(spec.groupInstanceId !== undefined ? { groupInstanceId: spec.groupInstanceId } : {}),
  });
  // It rejoins in the background while the stream goes on; no revocation callback tells the
  // application. The start of a rebalance is that signal: from then on the member owns nothing
  // until it hears its new assignment, and a record that arrives meanwhile waits for it. Dropping
  // that record would lose it when the member keeps its partition: the stream goes on from its own
  // position there, not from the committed offset.
  const rebalance: { done: Promise<void> | null; end: () => void } = { done: null, end: () => undefined };
  const endRebalance = () => {
    rebalance.end();
    rebalance.done = null;
  };
  consumer.on('consumer:group:rebalance', () => {
    assignment.clear();
    rebalance.done ??= new Promise<void>((resolve) => (rebalance.end = resolve));
    write({ ev: 'rebalancing' });
  });
  consumer.on('consumer:group:join', (payload: { assignments?: Array<{ topic: string; partitions: number[] }>; memberId?: string; generationId?: number; isLeader?: boolean }) => {
    const assignments = payload.assignments ?? consumer.assignments ?? [];
    const partitions = assignments.filter((a) => a.topic === spec.topic).flatMap((a) => a.partitions).sort((a, b) => a - b);
    assignment.clear();
    for (const p of partitions) assignment.add(p);
    write({ ev: 'assigned', partitions, assignment: partitions, generation: payload.generationId, leader: payload.isLeader, memberId: payload.memberId });
    endRebalance();
  });
  consumer.on('error', (error: Error) => write({ ev: 'error', message: error.message }));
  const stream = await consumer.consume({ topics: [spec.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false, maxWaitTime: 100 });
  stream.on('error', (error: Error) => write({ ev: 'error', message: `stream: ${error.message}` }));
  write({ ev: 'started', info: { platformatic: version } });
  const loop = (async () => {
    for await (const message of stream) {
      if (stopping) break;
      if (rebalance.done !== null) await rebalance.done;
      if (stopping) break;
      const offset = Number(message.offset);
      if (!shouldProcess(message.partition, offset)) continue;
      const work = (async () => {
        write({ ev: 'record', p: message.partition, o: offset, v: message.value?.toString('utf8') ?? null });
        try {
          await message.commit();
          noteCommitted(message.partition, offset + 1);
        } catch (error) {
          write({ ev: 'commitFailed', p: message.partition, o: offset + 1, error: (error as Error).message });
        }
      })();
      inFlight = work;
      await work;
    }
  })();
  return async () => {
    endRebalance(); // a record waiting for the rebalance's outcome is not processed: the loop stops
    await stream.close();
    await loop.catch(() => undefined);
    await consumer.close(true);
  };
}

async function runConfluentJs(spec: MemberSpec): Promise<() => Promise<void>> {
  const { KafkaConsumer, librdkafkaVersion } = createRequire(import.meta.url)('@confluentinc/kafka-javascript');
  const conf: Record<string, unknown> = {
    'metadata.broker.list': spec.bootstrap,
    'client.id': spec.clientId,
    'group.id': spec.group,
    'enable.auto.commit': false,
    'session.timeout.ms': spec.sessionTimeoutMs,
    'heartbeat.interval.ms': spec.heartbeatIntervalMs,
    'fetch.wait.max.ms': 100,
    // The default handler assigns (eager) or incrementally assigns (cooperative) after the event.
    rebalance_cb: true,
  };
  if (spec.strategy !== undefined) conf['partition.assignment.strategy'] = spec.strategy;
  if (spec.groupInstanceId !== undefined) conf['group.instance.id'] = spec.groupInstanceId;
  const consumer = new KafkaConsumer(conf, { 'auto.offset.reset': 'earliest' });
  consumer.on('rebalance', (error: { code: number; message: string }, partitions: Array<{ topic: string; partition: number }>) => {
    const list = partitions.filter((p) => p.topic === spec.topic).map((p) => p.partition).sort((a, b) => a - b);
    const incremental = consumer.rebalanceProtocol() === 'COOPERATIVE';
    if (error.code === -175) {
      if (!incremental) assignment.clear();
      for (const p of list) assignment.add(p);
      write({ ev: 'assigned', partitions: list, assignment: [...assignment].sort((a, b) => a - b), protocol: consumer.rebalanceProtocol() });
    } else if (error.code === -174) {
      if (incremental) for (const p of list) assignment.delete(p);
      else assignment.clear();
      write({ ev: 'revoked', partitions: list, assignment: [...assignment].sort((a, b) => a - b) });
    } else {
      write({ ev: 'error', message: `rebalance: ${error.message}` });
    }
  });
  consumer.on('event.error', (error: Error) => write({ ev: 'error', message: error.message }));
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: 30_000 }, (error: Error | null) => (error ? reject(error) : resolve())));
  consumer.subscribe([spec.topic]);
  write({ ev: 'started', info: { librdkafka: librdkafkaVersion } });
  let running = true;
  const loop = (async () => {
    while (running && !stopping) {
      const batch: any[] = await new Promise((resolve, reject) => consumer.consume(100, (error: Error | null, messages: any[]) => (error ? reject(error) : resolve(messages))));
      for (const message of batch) {
        if (stopping) break;
        const offset = Number(message.offset);
        if (!shouldProcess(message.partition, offset)) continue;
        write({ ev: 'record', p: message.partition, o: offset, v: message.value === null ? null : Buffer.from(message.value).toString('utf8') });
        try {
          // This process runs nothing else, so a blocking commit is fine here.
          consumer.commitMessageSync(message);
          noteCommitted(message.partition, offset + 1);
        } catch (error) {
          write({ ev: 'commitFailed', p: message.partition, o: offset + 1, error: (error as Error).message });
        }
      }
    }
  })();
  inFlight = loop.catch((error: Error) => {
    write({ ev: 'error', message: `consume: ${error.message}` });
  });
  return async () => {
    running = false;
    await inFlight;
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  };
}

async function main(spec: MemberSpec): Promise<void> {
  let close: (() => Promise<void>) | null = null;
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    stopping = true;
    try {
      await inFlight;
      await close?.();
      write({ ev: 'closed' });
      process.exit(0);
    } catch (error) {
      write({ ev: 'error', message: `close: ${(error as Error).message}` });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // Should the test process die without stopping this member, do not linger.
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(3);
    }
  }, 1000).unref();
  const start = { kafkajs: runKafkaJs, platformatic: runPlatformatic, 'confluent-js': runConfluentJs }[spec.client];
  close = await start(spec);
  if (stopping) await close();
}

// Only when started as a script with a spec (never when a test runner loads the file).
const [, script, specJson] = process.argv;
if (script !== undefined && /group-member\.js$/.test(script) && specJson !== undefined) {
  main(JSON.parse(specJson) as MemberSpec).catch((error: Error) => {
    write({ ev: 'error', message: `start: ${error.stack ?? error.message}` });
    process.exit(1);
  });
}
