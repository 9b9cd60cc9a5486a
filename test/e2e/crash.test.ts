/**
 * Crash safety of the CLI broker: KafkaJS producers write with acks=all while the broker process is
 * SIGKILLed in the middle of production (several hundred acknowledgements in, with requests in
 * flight). After each restart on the same data directory every acknowledged message must be at its
 * acknowledged offset with its exact value, and every partition must read cleanly to its high
 * watermark: contiguous offsets, CRC-valid whole batches, no torn batch visible. A clean SIGTERM
 * must exit 0 and lose nothing either.
 *
 * SIGKILL ends the process, not the machine: this checks that an acknowledged write has reached the
 * file and that recovery copes with a batch cut off mid-write, not what survives a power cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startCliBroker, type CliBroker } from '../interop/helpers/cli-broker.js';
import { WireClient } from '../helpers/wire-client.js';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { buildRecordBatch, decodeRecordBatches } from '../../src/protocol/records/records.js';
import { BATCH_LOG_OVERHEAD, Offsets } from '../../src/protocol/records/record-batch.js';
import { prng } from '../helpers/prng.js';

const TOPIC = 'crash';
// The idle SIGTERM test auto-creates TOPIC with the default single partition.
const PARTITIONS = 3;
const PRODUCERS = 4;
const LOOPS_PER_PRODUCER = 2;
const ACKS_BEFORE_KILL = 300;

/** partition/offset -> value of every acknowledged message. */
type Acked = Map<string, string>;

function kafka(port: number, clientId: string) {
  return new kafkajs.Kafka({
    clientId,
    brokers: [`127.0.0.1:${port}`],
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 10_000,
    // No retries: a retried send could land twice; an acknowledgement must mean one write.
    retry: { retries: 0 },
  });
}

interface Production {
  /** Acknowledged in this production run. */
  acks: number;
  /** Sends that were awaiting their answer when the run was stopped. */
  inFlightAtStop: number;
  failures: string[];
}

/**
 * Runs PRODUCERS KafkaJS producers (LOOPS_PER_PRODUCER concurrent send loops each) until `stopWhen`
 * says so; `stop` then kills or terminates the broker while sends are still outstanding.
 */
async function produce(port: number, round: string, acked: Acked, stopAfterAcks: number, stop: () => Promise<void>): Promise<Production> {
  const producers = await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      const producer = kafka(port, `crash-${round}-${p}`).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    }),
  );
  const production: Production = { acks: 0, inFlightAtStop: 0, failures: [] };
  let inFlight = 0;
  let stopping = false;
  let reachedTarget: () => void;
  const target = new Promise<void>((resolve) => (reachedTarget = resolve));

  const loops = producers.flatMap((producer, p) =>
    Array.from({ length: LOOPS_PER_PRODUCER }, async (_, l) => {
      const random = prng(round.length * 1000 + p * 10 + l);
      for (let seq = 0; !stopping; seq++) {
        const partition = Math.floor(random() * PARTITIONS);
        const count = 1 + Math.floor(random() * 8);
        const values = Array.from({ length: count }, (_, i) => `${round}-p${p}l${l}-s${seq}-i${i}-${'x'.repeat(Math.floor(random() * 6000))}`);
        inFlight++;
        try {
          const [result] = await producer.send({
            topic: TOPIC,
            acks: -1,
            compression: seq % 3 === 0 ? kafkajs.CompressionTypes.GZIP : kafkajs.CompressionTypes.None,
            messages: values.map((value) => ({ partition, value })),
          });
          if (result === undefined || result.errorCode !== 0) throw new Error(`unexpected produce result ${JSON.stringify(result)}`);
          const base = Number(result.baseOffset);
          values.forEach((value, i) => acked.set(`${partition}/${base + i}`, value));
          production.acks += count;
          if (production.acks >= stopAfterAcks) reachedTarget();
        } catch (error) {
          // Expected once the broker is gone; before that it is a failure of the test.
          if (!stopping) production.failures.push(`${round} p${p}l${l} seq ${seq}: ${(error as Error).message}`);
          return;
        } finally {
          inFlight--;
        }
      }
    }),
  );

  const allEnded = Promise.all(loops);
  await Promise.race([target, allEnded]);
  assert.deepEqual(production.failures, [], 'no send failed while the broker was up');
  // Stop while sends are outstanding: 8 loops each always has one request waiting for its answer.
  production.inFlightAtStop = inFlight;
  stopping = true;
  await stop();
  await allEnded;
  await Promise.all(producers.map((producer) => Promise.race([producer.disconnect(), new Promise((resolve) => setTimeout(resolve, 2000))])));
  return production;
}

/** Reads a partition to its high watermark with raw fetches, checking every batch on the way. */
async function readPartition(wire: WireClient, partition: number): Promise<{ values: Map<number, string>; highWatermark: number; problems: string[] }> {
  const values = new Map<number, string>();
  const problems: string[] = [];
  let next = 0;
  let highWatermark = -1;
  for (let round = 0; round < 1000; round++) {
    const response = await wire.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic: TOPIC, partitions: [{ partition, fetchOffset: BigInt(next), partitionMaxBytes: 8 * 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const data = response.responses[0].partitions[0];
    if (data.errorCode !== 0) {
      problems.push(`partition ${partition}: fetch at ${next} answered error ${data.errorCode}`);
      break;
    }
    highWatermark = Number(data.highWatermark);
    if (Number(data.logStartOffset) !== 0) problems.push(`partition ${partition}: log start offset ${data.logStartOffset}, expected 0`);
    if (next >= highWatermark) break;
    const records: Buffer = data.records ?? Buffer.alloc(0);
    let batches;
    try {
      batches = await decodeRecordBatches(records, { verifyCrc: true });
    } catch (error) {
      problems.push(`partition ${partition}: undecodable batch at/after offset ${next}: ${(error as Error).message}`);
      break;
    }
    if (batches.length === 0) {
      problems.push(`partition ${partition}: fetch at ${next} below the high watermark ${highWatermark} returned no whole batch (${records.length} bytes)`);
      break;
    }
    let wholeBytes = 0;
    for (const { header, records: batchRecords } of batches) {
      wholeBytes += header.sizeInBytes;
      for (const record of batchRecords) {
        if (record.offset < BigInt(next)) continue;
        if (record.offset !== BigInt(next)) problems.push(`partition ${partition}: offset ${record.offset} follows ${next - 1} (gap)`);
        next = Number(record.offset) + 1;
        values.set(Number(record.offset), record.value?.toString('utf8') ?? '<null>');
      }
      const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
      if (Number(lastOffset) + 1 !== next) problems.push(`partition ${partition}: batch at ${header.baseOffset} claims last offset ${lastOffset} but its records end at ${next - 1}`);
    }
    if (next >= highWatermark && wholeBytes !== records.length) {
      const tail = records.subarray(wholeBytes);
      const claimed = tail.length >= BATCH_LOG_OVERHEAD ? tail.readInt32BE(Offsets.batchLength) + BATCH_LOG_OVERHEAD : -1;
      problems.push(`partition ${partition}: ${tail.length} bytes of a partial batch (claiming ${claimed} bytes) after the last whole batch at the high watermark: a torn batch is visible`);
    }
    if (problems.length > 20) break;
  }
  if (next !== highWatermark) problems.push(`partition ${partition}: read up to ${next}, high watermark ${highWatermark}`);
  return { values, highWatermark, problems };
}

/**
 * Makes the tail of two partitions look like a write cut off by a crash: partition 0 ends in the
 * first 100 bytes of a much longer batch, partition 1 in a whole batch whose CRC does not match.
 * Recovery must drop both; none of their 'torn-' records may ever be served.
 */
async function tearTails(dataDir: string): Promise<void> {
  const batch = buildRecordBatch(Array.from({ length: 50 }, (_, i) => ({ value: `torn-${i}-${'y'.repeat(200)}` })));
  const lastSegment = async (partition: number) => {
    const dir = join(dataDir, `${TOPIC}-${partition}`);
    const logs = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
    assert.ok(logs.length > 0, `a segment file in ${dir}`);
    return join(dir, logs.at(-1)!);
  };
  await appendFile(await lastSegment(0), batch.subarray(0, 100));
  const corrupt = Buffer.from(batch);
  corrupt[corrupt.length - 10]! ^= 0xff;
  await appendFile(await lastSegment(1), corrupt);
}

/** Every acknowledged message is at its offset with its value; the log reads cleanly to the end. */
async function verify(port: number, acked: Acked, when: string, partitions = PARTITIONS): Promise<{ records: number; unacknowledged: number }> {
  const wire = await WireClient.connect(port);
  const problems: string[] = [];
  let records = 0;
  let unacknowledged = 0;
  try {
    for (let partition = 0; partition < partitions; partition++) {
      const read = await readPartition(wire, partition);
      problems.push(...read.problems);
      records += read.values.size;
      for (const [offset, value] of read.values) {
        if (!/^(r\d|clean)-p\dl\d-s\d+-i\d-x*$/.test(value)) problems.push(`partition ${partition} offset ${offset}: a value no producer sent: ${value.slice(0, 60)}`);
        if (!acked.has(`${partition}/${offset}`)) unacknowledged++;
      }
      for (const [position, value] of acked) {
        const [p, o] = position.split('/').map(Number) as [number, number];
        if (p !== partition) continue;
        const got = read.values.get(o);
        if (got === undefined) problems.push(`partition ${p} offset ${o}: acknowledged (${value.slice(0, 40)}…) but missing (high watermark ${read.highWatermark})`);
        else if (got !== value) problems.push(`partition ${p} offset ${o}: acknowledged ${value.slice(0, 40)}… but reads ${got.slice(0, 40)}…`);
      }
    }
  } finally {
    wire.close();
  }
  assert.deepEqual(problems.slice(0, 30), [], `${when}: ${problems.length} problems`);
  return { records, unacknowledged };
}

test('acknowledged messages survive SIGKILLs in the middle of production, and the log stays readable', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-crash-'));
  let broker: CliBroker | null = await startCliBroker({ dataDir });
  try {
    const admin = kafka(broker.port, 'crash-admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await admin.disconnect();

    const acked: Acked = new Map();
    for (let round = 1; round <= 3; round++) {
      const running: CliBroker = broker;
      const production = await produce(running.port, `r${round}`, acked, ACKS_BEFORE_KILL, async () => {
        const exit = await running.kill();
        assert.equal(exit.signal, 'SIGKILL');
      });
      broker = null;
      assert.ok(production.acks >= ACKS_BEFORE_KILL, `round ${round}: ${production.acks} acknowledgements before the kill`);
      assert.ok(production.inFlightAtStop > 0, `round ${round}: requests were in flight when the broker was killed`);
      // The last round also gets a torn and a corrupt batch at the end of the log for certain.
      if (round === 3) await tearTails(dataDir);

      broker = await startCliBroker({ dataDir });
      const { records, unacknowledged } = await verify(broker.port, acked, `after SIGKILL ${round}`);
      const truncations = broker.stderr().split('\n').filter((line) => line.includes('recovery truncated')).length;
      t.diagnostic(
        `round ${round}: ${production.acks} acknowledged, ${production.inFlightAtStop} sends in flight at the kill; ` +
          `${records} records after restart (${unacknowledged} written but never acknowledged); recovery truncated ${truncations} partition tails`,
      );
    }

    // A clean stop after all that: exit code 0, nothing lost.
    const running: CliBroker = broker;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const production = await produce(running.port, 'clean', acked, 200, async () => {
      exit = await running.stop();
    });
    broker = null;
    assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM exits 0\n${running.stderr().slice(-2000)}`);
    assert.ok(production.acks >= 200);
    broker = await startCliBroker({ dataDir });
    await verify(broker.port, acked, 'after SIGTERM');
  } finally {
    await broker?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('SIGTERM while idle exits 0 with everything acknowledged kept, and SIGINT does too', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-sigterm-'));
  try {
    const first = await startCliBroker({ dataDir });
    assert.equal(first.stdout().trim().split('\n').length, 1, 'one line on stdout');
    const producer = kafka(first.port, 'sigterm').producer();
    await producer.connect();
    const values = Array.from({ length: 50 }, (_, i) => `clean-p0l0-s${i}-i0-${'x'.repeat(i * 10)}`);
    const [result] = await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ partition: 0, value })) });
    await producer.disconnect();
    assert.deepEqual(await first.stop(), { code: 0, signal: null }, first.stderr().slice(-2000));

    const acked: Acked = new Map(values.map((value, i) => [`0/${Number(result!.baseOffset) + i}`, value]));
    const second = await startCliBroker({ dataDir });
    try {
      const { records } = await verify(second.port, acked, 'after SIGTERM', 1);
      assert.equal(records, 50);
    } finally {
      second.child.kill('SIGINT');
      assert.deepEqual(await second.exited, { code: 0, signal: null }, `SIGINT exits 0\n${second.stderr().slice(-2000)}`);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
