import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProducerStateTable, lastSequenceOf, PRODUCER_ID_EXPIRATION_MS } from '../../../src/cluster/producer-state.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { readBatchHeader } from '../../../src/protocol/records/record-batch.js';
import { buildRecordBatch } from '../../../src/protocol/records/records.js';
import type { AppendResult } from '../../../src/storage/engine.js';

function header(producerId: bigint, epoch: number, baseSequence: number, count = 1) {
  const records = Array.from({ length: count }, (_, i) => ({ value: `r${i}` }));
  return readBatchHeader(buildRecordBatch(records, { producerId, producerEpoch: epoch, baseSequence }));
}

function written(baseOffset: bigint, count = 1): AppendResult {
  return { baseOffset, lastOffset: baseOffset + BigInt(count - 1), logAppendTime: -1n, logStartOffset: 0n };
}

test('sequence numbers wrap past Int32.MAX as producers wrap them', () => {
  assert.equal(lastSequenceOf(0, 4), 4);
  assert.equal(lastSequenceOf(2 ** 31 - 2, 2), 0);
  assert.equal(lastSequenceOf(2 ** 31 - 1, 0), 2 ** 31 - 1);
});

test('a snapshot restores duplicates, sequence gaps and fenced epochs', async () => {
  const table = new ProducerStateTable();
  table.record(header(7n, 3, 0, 2), Promise.resolve(written(10n, 2)), 1000);
  table.record(header(7n, 3, 2, 2), Promise.resolve(written(12n, 2)), 1000);
  await Promise.resolve();
  const restored = new ProducerStateTable();
  assert.equal(restored.restore(table.snapshot(14n), 0n, 20n), 14n);

  const duplicate = restored.check(header(7n, 3, 0, 2));
  assert.equal(duplicate.kind, 'duplicate');
  assert.equal(duplicate.kind === 'duplicate' && (await duplicate.batch.result).baseOffset, 10n);
  assert.deepEqual(restored.check(header(7n, 3, 4)), { kind: 'append' });
  const gap = restored.check(header(7n, 3, 9));
  assert.equal(gap.kind === 'error' && gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  const fenced = restored.check(header(7n, 2, 4));
  assert.equal(fenced.kind === 'error' && fenced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
});

test('a snapshot leaves out batches at or beyond its end offset, and is refused beyond the log end', async () => {
  const table = new ProducerStateTable();
  table.record(header(1n, 0, 0), Promise.resolve(written(0n)), 1000);
  table.record(header(1n, 0, 1), Promise.resolve(written(1n)), 1000);
  await Promise.resolve();
  const snapshot = table.snapshot(1n);
  const restored = new ProducerStateTable();
  assert.equal(restored.restore(snapshot, 0n, 5n), 1n);
  assert.equal(restored.check(header(1n, 0, 1)).kind, 'append', 'the batch at offset 1 is replayed from the log, not restored');
  assert.equal(new ProducerStateTable().restore(snapshot, 0n, 0n), null, 'a log that lost offset 0 cannot use the snapshot');
  assert.equal(new ProducerStateTable().restore(Buffer.from('not json'), 0n, 5n), null);
});

test('replayed batches rebuild the state, and silent producers expire', () => {
  const table = new ProducerStateTable();
  table.replay(header(5n, 1, 0, 3), written(0n, 3), 0);
  assert.equal(table.check(header(5n, 1, 0, 3)).kind, 'duplicate');
  assert.equal(table.check(header(5n, 1, 3)).kind, 'append');
  table.expire(PRODUCER_ID_EXPIRATION_MS + 1);
  assert.equal(table.size, 0);
  assert.equal(table.check(header(5n, 1, 99)).kind, 'append', 'an unknown producer is accepted at any sequence');
});
