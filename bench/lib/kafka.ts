/**
 * The benchmark's Kafka side: request frames built with the project's own codec (the broker
 * validates them like any client's), and a tiny request/response client for set-up (CreateTopics).
 */
import { connect } from 'node:net';
import { once } from 'node:events';
import { Reader } from '../../src/protocol/primitives/reader.js';
import { Writer } from '../../src/protocol/primitives/writer.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/frame.js';
import { API_CODECS } from '../../src/protocol/generated/registry.js';
import { buildRecordBatch, type RecordInput } from '../../src/protocol/records/records.js';

export const PRODUCE_VERSION = 9;

/** Encodes one complete request frame (int32 size + header + body). */
export function requestFrame(apiKey: number, apiVersion: number, correlationId: number, body: unknown): Buffer {
  const codec = API_CODECS.get(apiKey);
  if (codec === undefined) throw new Error(`no codec for API ${apiKey}`);
  const writer = new Writer();
  writer.int32(0);
  encodeRequestHeader(writer, { apiKey, apiVersion, correlationId, clientId: 'tributary-bench' });
  codec.encodeRequest(writer, apiVersion, body);
  const bytes = writer.toBuffer();
  bytes.writeInt32BE(bytes.length - 4, 0);
  return bytes;
}

/** An uncompressed v2 batch of `recordSize`-byte values (null keys) of at most `batchBytes` bytes. */
export function batchOfSmallRecords(batchBytes: number, recordSize: number): Buffer {
  const value = Buffer.alloc(recordSize, 'x');
  const records: RecordInput[] = [];
  let batch = buildRecordBatch([{ value }]);
  for (;;) {
    records.push({ value });
    const next = buildRecordBatch(records);
    if (next.length > batchBytes) break;
    batch = next;
  }
  return batch;
}

/** One batch holding a single record, its value sized so that the batch is exactly `batchBytes`. */
export function batchOfOneRecord(batchBytes: number): Buffer {
  let valueSize = batchBytes - 70;
  for (let attempt = 0; attempt < 8; attempt++) {
    const batch = buildRecordBatch([{ value: Buffer.alloc(valueSize, 'y') }]);
    if (batch.length === batchBytes) return batch;
    valueSize += batchBytes - batch.length;
  }
  return buildRecordBatch([{ value: Buffer.alloc(valueSize, 'y') }]);
}

/** A Produce v9 frame carrying `batch` for each of `partitions` partitions of `topic`. */
export function produceFrame(topic: string, partitions: number, batch: Buffer, acks: number, correlationId = 1): Buffer {
  return requestFrame(0, PRODUCE_VERSION, correlationId, {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: Array.from({ length: partitions }, (_, index) => ({ index, records: batch })) }],
  });
}

/** Sends one request and decodes its response (set-up only: one request at a time). */
export async function request<T>(host: string, port: number, apiKey: number, apiVersion: number, body: unknown): Promise<T> {
  const socket = connect(port, host);
  await once(socket, 'connect');
  try {
    socket.write(requestFrame(apiKey, apiVersion, 1, body));
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) break;
    }
    const reader = new Reader(received.subarray(4));
    decodeResponseHeader(reader, apiKey, apiVersion);
    const decoded = API_CODECS.get(apiKey)!.decodeResponse(reader, apiVersion) as T;
    if (!reader.ok) throw new Error(`undecodable response to API ${apiKey}: ${reader.error}`);
    return decoded;
  } finally {
    socket.destroy();
  }
}

export async function createTopic(host: string, port: number, name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const response = await request<{ topics: Array<{ name: string; errorCode: number; errorMessage: string | null }> }>(host, port, 19, 5, {
    topics: [
      {
        name,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
      },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  const topic = response.topics[0];
  if (topic === undefined || (topic.errorCode !== 0 && topic.errorCode !== 36)) {
    throw new Error(`CreateTopics ${name} failed: ${topic?.errorCode} ${topic?.errorMessage ?? ''}`);
  }
}
