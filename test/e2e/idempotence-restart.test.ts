/**
 * Idempotent producers across broker restarts: after a clean stop or a SIGKILL, a producer that
 * retries its last batch gets the original offset back instead of a duplicate, continues at the
 * next sequence, and is still refused on a gap — the producer state is restored from its snapshot
 * and the log written after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { buildRecordBatch } from '../../src/protocol/records/records.js';
import { makeTempDir } from '../helpers/broker.js';
import { startCliBroker } from '../helpers/cli-process.js';
import { WireClient } from '../helpers/wire-client.js';

const TOPIC = 'idempotent-restart';

async function produce(client: WireClient, producerId: bigint, baseSequence: number, count = 3) {
  const records = buildRecordBatch(
    Array.from({ length: count }, (_, i) => ({ value: `seq ${baseSequence + i}` })),
    { producerId, producerEpoch: 0, baseSequence },
  );
  const response = await client.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  });
  return response.responses[0].partitionResponses[0] as { errorCode: number; baseOffset: bigint };
}

async function logEnd(client: WireClient): Promise<bigint> {
  const response = await client.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  return response.topics[0].partitions[0].offset;
}

for (const how of ['SIGTERM', 'SIGKILL'] as const) {
  test(`a retried batch is not written twice after a ${how} restart`, async () => {
    const dir = await makeTempDir();
    const args = ['--port', '0', '--data-dir', dir.path, '--log-level', 'warn'];
    try {
      const first = await startCliBroker(args);
      const before = await WireClient.connect(first.port);
      await before.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
      });
      const init = await before.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
      const producerId: bigint = init.producerId;
      for (let batch = 0; batch < 4; batch++) {
        const response = await produce(before, producerId, batch * 3);
        assert.equal(response.errorCode, ErrorCode.NONE);
        assert.equal(response.baseOffset, BigInt(batch * 3));
      }
      before.close();
      if (how === 'SIGTERM') assert.equal(await first.stop(), 0);
      else await first.kill();

      const second = await startCliBroker(args);
      const after = await WireClient.connect(second.port);
      try {
        const retry = await produce(after, producerId, 9);
        assert.equal(retry.errorCode, ErrorCode.NONE);
        assert.equal(retry.baseOffset, 9n, 'the retry is acknowledged with its original offset');
        assert.equal(await logEnd(after), 12n, 'and not written again');
        const next = await produce(after, producerId, 12);
        assert.equal(next.errorCode, ErrorCode.NONE);
        assert.equal(next.baseOffset, 12n);
        assert.equal((await produce(after, producerId, 40)).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
        const fresh = await after.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
        assert.ok(fresh.producerId > producerId, 'producer ids are never handed out twice');
      } finally {
        after.close();
        await second.stop();
      }
    } finally {
      await dir.remove();
    }
  });
}
