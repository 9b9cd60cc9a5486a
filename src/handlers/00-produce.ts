/**
 * Produce (0), v3+ (record batch v2 only). Each partition's records must be exactly one valid batch;
 * it is validated (framing, CRC-32C, counts, size) without decoding its records, checked against
 * its producer's sequence state, and appended. acks=1 answers once the batch is written, acks=-1
 * once it is fsynced, acks=0 not at all (but a failure closes the connection, as Kafka does, so
 * the producer notices).
 *
 * Every partition is handed to its log synchronously, before the first await: requests pipelined
 * on one connection therefore reach each partition in the order they were sent.
 *
 * Compacted topics (cleanup.policy includes compact) refuse records without a key, as Kafka does
 * (INVALID_RECORD, each keyless record listed in recordErrors). That needs the records: an
 * uncompressed batch is walked on the spot, a compressed one is decompressed first, and the
 * partition holds later appends back meanwhile (Partition.appendAfterCheck) to keep the order.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeProduceRequest, encodeProduceResponse, type ProduceResponseInput } from '../protocol/generated/produce.js';
import { BATCH_HEADER_SIZE, CompressionCodec, compressionOf, isTransactional, validateProducedBatch, type RecordBatchHeader } from '../protocol/records/record-batch.js';
import { keylessRecordIndexes, walkRecords } from '../protocol/records/record-filter.js';
import type { AppendOutcome } from '../cluster/partition.js';
import { ProtocolViolation } from '../server/connection.js';
import { defineHandler, type BrokerContext } from './handler.js';

type PartitionResponse = ProduceResponseInput['responses'][number]['partitionResponses'][number];

function failure(index: number, errorCode: number, message: string | null, recordErrors: PartitionResponse['recordErrors'] = []): PartitionResponse {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors, errorMessage: message };
}

/** Kafka's answer (LogValidator.validateKey) when records without a key reach a compacted topic. */
function keylessRefusal(topicName: string, index: number, keyless: number[]): PartitionResponse | null {
  if (keyless.length === 0) return null;
  const message = `Compacted topic cannot accept message without key in topic partition ${topicName}-${index}.`;
  return failure(
    index,
    ErrorCode.INVALID_RECORD,
    message,
    keyless.map((batchIndex) => ({ batchIndex, batchIndexErrorMessage: message })),
  );
}

/**
 * The keyless records of a batch for a compacted topic. An uncompressed batch (its framing already
 * validated) is walked on the spot; a compressed one must be decompressed, asynchronously.
 */
function keylessCheck(records: Buffer, header: RecordBatchHeader, topicName: string, index: number): PartitionResponse | null | Promise<PartitionResponse | null> {
  if (compressionOf(header.attributes) === CompressionCodec.none) {
    try {
      const walked = walkRecords(header, records.subarray(BATCH_HEADER_SIZE, header.sizeInBytes));
      return keylessRefusal(topicName, index, walked.flatMap((record, i) => (record.key === null ? [i] : [])));
    } catch (error) {
      return failure(index, ErrorCode.INVALID_RECORD, error instanceof Error ? error.message : String(error));
    }
  }
  return keylessRecordIndexes(records).then(
    (keyless) => keylessRefusal(topicName, index, keyless),
    (error: unknown) => failure(index, ErrorCode.CORRUPT_MESSAGE, `the compressed records cannot be read: ${error instanceof Error ? error.message : String(error)}`),
  );
}

function appendPartition(
  broker: BrokerContext,
  topicName: string,
  index: number,
  records: Buffer | null,
  acks: number,
): PartitionResponse | Promise<PartitionResponse> {
  const topic = broker.cluster.topic(topicName);
  const partition = topic?.partitions[index];
  if (topic === undefined || partition === undefined) {
    return failure(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic-partition: ${topicName}-${index}`);
  }
  if (topic.internal) {
    return failure(index, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topicName}`);
  }
  if (records === null) return failure(index, ErrorCode.INVALID_RECORD, 'records are null');
  const validation = validateProducedBatch(records, broker.cluster.maxMessageBytes(topic));
  if (!validation.ok) return failure(index, validation.errorCode, validation.message);
  if (isTransactional(validation.header.attributes)) {
    return failure(index, ErrorCode.INVALID_TXN_STATE, 'transactional produce is not supported by Tributary yet');
  }
  const answer = (outcome: AppendOutcome): PartitionResponse => {
    if (!('result' in outcome)) return failure(index, outcome.errorCode, outcome.message);
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: outcome.result.baseOffset,
      logAppendTimeMs: outcome.result.logAppendTime,
      logStartOffset: outcome.result.logStartOffset,
      recordErrors: [],
      errorMessage: null,
    };
  };
  if (broker.cluster.isCompacted(topic)) {
    const check = keylessCheck(records, validation.header, topicName, index);
    if (check === null) return partition.append(records, validation.header, acks === -1).then(answer);
    if (!(check instanceof Promise)) return check;
    return partition
      .appendAfterCheck(check, records, validation.header, acks === -1)
      .then((outcome) => ('index' in outcome ? outcome : answer(outcome)));
  }
  return partition.append(records, validation.header, acks === -1).then(answer);
}

export const produceHandler = defineHandler({
  apiKey: ApiKey.Produce,
  minVersion: 3,
  maxVersion: 11,
  decodeRequest: decodeProduceRequest,
  encodeResponse: encodeProduceResponse,
  handle(request, { broker }) {
    const { acks } = request;
    const pending = request.topicData.map((topic) => ({
      name: topic.name,
      partitions: topic.partitionData.map((data): PartitionResponse | Promise<PartitionResponse> => {
        if (acks !== 0 && acks !== 1 && acks !== -1) {
          return failure(data.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${acks}`);
        }
        if (request.transactionalId !== null) {
          return failure(data.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactions are not supported by Tributary yet');
        }
        return appendPartition(broker, topic.name, data.index, data.records, acks);
      }),
    }));

    return Promise.all(
      pending.map(async (topic) => ({ name: topic.name, partitionResponses: await Promise.all(topic.partitions) })),
    ).then((responses) => {
      if (acks === 0) {
        const failed = responses.flatMap((topic) => topic.partitionResponses).find((p) => p.errorCode !== ErrorCode.NONE);
        if (failed !== undefined) {
          throw new ProtocolViolation(`acks=0 produce failed with error ${failed.errorCode}: ${failed.errorMessage ?? ''}`);
        }
        return null;
      }
      return { responses, throttleTimeMs: 0 };
    });
  },
});
