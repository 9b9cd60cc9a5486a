/**
 * Read-only inspection of a data directory: what a stopped broker left, a torn tail, a flipped
 * byte, missing index files, retention eligibility, and that nothing is ever changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { KafkaClient, parseBrokerList } from '../../../src/client/client.js';
import { Producer } from '../../../src/client/producer.js';
import { createTopics } from '../../../src/client/admin.js';
import { CompressionCodec } from '../../../src/protocol/records/record-batch.js';
import { inspectDataDir, InspectError } from '../../../src/storage/file/inspect.js';
import { makeTempDir } from '../../helpers/broker.js';

async function snapshot(directory: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(directory, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const info = await stat(path);
    files.set(path, `${info.size}:${info.mtimeMs}:${(await readFile(path)).toString('base64')}`);
  }
  return files;
}

test('inspects a stopped broker, finds torn tails and bad checksums, and changes nothing', async () => {
  const dir = await makeTempDir();
  try {
    const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir: dir.path, logLevel: 'silent' });
    const client = new KafkaClient({ brokers: parseBrokerList(`127.0.0.1:${broker.port}`) });
    await createTopics(client, [
      { name: 'kept', partitions: 2, replicationFactor: -1, configs: {} },
      { name: 'old-data', partitions: 1, replicationFactor: -1, configs: { 'retention.ms': '60000', 'segment.bytes': '200' } },
    ]);
    const producer = new Producer(client, { acks: -1, lingerMs: 0 });
    const old = 1_600_000_000_000n;
    for (let i = 0; i < 4; i++) await producer.send({ topic: 'old-data', value: Buffer.alloc(150, i), timestamp: old + BigInt(i) });
    await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'kept', partition: 1, value: Buffer.from(`r${i}`) })));
    const zstd = new Producer(client, { acks: -1, compression: CompressionCodec.zstd });
    await zstd.send({ topic: 'kept', partition: 0, value: Buffer.from('z') });
    client.close();
    await broker.close();

    const clean = await inspectDataDir(dir.path, { nowMs: Number(old) + 10_000_000 });
    assert.equal(clean.cleanShutdown, true);
    assert.equal(clean.clusterId, broker.clusterId);
    assert.deepEqual(clean.topics.map((t) => [t.name, t.partitions, t.records]), [
      ['kept', 2, 21],
      ['old-data', 1, 4],
    ]);
    const kept1 = clean.partitions.find((p) => p.topic === 'kept' && p.partition === 1)!;
    assert.equal(kept1.logEndOffset, 20n);
    assert.equal(kept1.segments[0]!.tail.outcome, 'end');
    assert.equal(kept1.segments[0]!.index?.consistent, true, 'a clean close writes the index files');
    assert.deepEqual(clean.codecs, { none: kept1.segments[0]!.batches + 4, zstd: 1 });
    const oldData = clean.partitions.find((p) => p.topic === 'old-data')!;
    assert.equal(oldData.segments.length, 4, 'segment.bytes=200 rolled a segment per record');
    assert.equal(oldData.recoveryPoint, 4n, 'a clean close moves the recovery point to the log end');
    assert.deepEqual(oldData.segments.map((s) => s.sealed), [true, true, true, false], 'every segment but the active one is sealed');
    assert.deepEqual(oldData.retention, { applies: true, retentionMs: 60000, retentionBytes: -1, eligibleSegments: 4, eligibleBytes: oldData.sizeBytes });
    assert.equal(kept1.retention.eligibleSegments, 0);

    // Damage a copy of what a crash could leave: a torn tail and a flipped byte, no index files.
    const segment = join(kept1.directory, kept1.segments[0]!.file);
    await appendFile(segment, Buffer.alloc(30, 7));
    const bytes = await readFile(segment);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(segment, bytes);
    await unlink(segment.replace(/\.log$/, '.index'));
    const before = await snapshot(dir.path);
    const damaged = await inspectDataDir(dir.path, { filter: 'kept-1', verifyCrc: true });
    assert.deepEqual(await snapshot(dir.path), before, 'inspection changes nothing');
    const report = damaged.partitions[0]!;
    assert.deepEqual(damaged.partitions.map((p) => `${p.topic}-${p.partition}`), ['kept-1']);
    assert.equal(report.segments[0]!.tail.outcome, 'torn');
    assert.equal(report.segments[0]!.tail.validBytes, bytes.length - 30);
    assert.equal(report.segments[0]!.crcErrors, 1);
    assert.equal(report.segments[0]!.index, null);

    assert.equal((await inspectDataDir(dir.path, { filter: 'kept' })).partitions.length, 2);
    await assert.rejects(inspectDataDir(dir.path, { filter: 'kept-7' }), InspectError);
    await assert.rejects(inspectDataDir(join(dir.path, 'kept-0')), /is not a Tributary data directory/);
  } finally {
    await dir.remove();
  }
});
