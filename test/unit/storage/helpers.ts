/** Shared helpers for the storage engine tests: batches, configs, a controllable clock, temp dirs. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../../../src/logger.js';
import { BATCH_HEADER_SIZE, batchCrcMatches, completeBatchSize, readBatchHeader, type RecordBatchHeader } from '../../../src/protocol/records/record-batch.js';
import { buildRecordBatch, decodeUncompressedBatch, type RecordInput } from '../../../src/protocol/records/records.js';
import type { LogConfig, PartitionLog, TopicRecord } from '../../../src/storage/engine.js';
import { DEFAULT_LOG_CONFIG } from '../../../src/storage/log-config.js';

export type TestLog = PartitionLog & { segmentBaseOffsets(): bigint[] };

export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, indexIntervalBytes: 256, ...overrides };
}

export function topicRecord(name = 'orders', topicId = '6f1c1f0e-0000-4000-8000-000000000001'): TopicRecord {
  return { name, topicId, partitionCount: 1, configs: {} };
}

/** A clock tests move by hand. */
export class TestClock {
  now: number;
  constructor(start = 1_700_000_000_000) {
    this.now = start;
  }
  readonly read = (): number => this.now;
}

/** One uncompressed batch of `count` records; values `${label}-${i}` padded to `valueSize` bytes. */
export function batchOf(count: number, options: { label?: string; valueSize?: number; timestamps?: bigint[]; timestamp?: bigint } = {}): Buffer {
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const text = `${options.label ?? 'v'}-${i}`;
    const value = options.valueSize === undefined ? text : text.padEnd(options.valueSize, '.');
    records.push({ value, timestamp: options.timestamps?.[i] ?? options.timestamp ?? 1_000n });
  }
  return buildRecordBatch(records);
}

export interface ParsedBatch {
  header: RecordBatchHeader;
  bytes: Buffer;
}

/** Splits read bytes into whole batches, asserting framing and CRC-32C of each. */
export function splitBatches(records: Buffer): ParsedBatch[] {
  const batches: ParsedBatch[] = [];
  let at = 0;
  while (at < records.length) {
    const size = completeBatchSize(records, at);
    assert.ok(size >= BATCH_HEADER_SIZE, `a whole batch at byte ${at} of ${records.length}`);
    assert.ok(batchCrcMatches(records, at, size), `CRC of the batch at byte ${at}`);
    batches.push({ header: readBatchHeader(records, at), bytes: records.subarray(at, at + size) });
    at += size;
  }
  return batches;
}

/** Values of every record in `records` (uncompressed batches), in order. */
export function valuesOf(records: Buffer): string[] {
  return splitBatches(records).flatMap((batch) => decodeUncompressedBatch(Buffer.from(batch.bytes)).records.map((record) => record.value?.toString('utf8') ?? ''));
}

/** Reads the whole log from `from` to its end, batch by batch. */
export async function readAll(log: PartitionLog, from = log.logStartOffset, maxBytes = 1 << 20): Promise<ParsedBatch[]> {
  const out: ParsedBatch[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, maxBytes);
    const batches = splitBatches(records);
    assert.ok(batches.length > 0, `read at ${offset} returned data`);
    for (const batch of batches) {
      out.push(batch);
      offset = batch.header.baseOffset + BigInt(batch.header.lastOffsetDelta) + 1n;
    }
  }
  return out;
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-storage-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A logger whose lines the test reads back, parsed. */
export function capturingLogger(): { logger: Logger; lines: () => Array<{ level: number; msg: string; [field: string]: unknown }> } {
  const written: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void written.push(line) });
  return { logger, lines: () => written.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line)) };
}
