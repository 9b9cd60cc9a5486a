/**
 * Produce (0), v3+ (record batch v2 only). Each partition's records must be exactly one valid batch;
 * it is validated (framing, CRC-32C, counts, size) without decoding its records, checked against
 * its producer's sequence state, and appended. acks=1 answers once the batch is written, acks=-1
 * once it is fsynced, acks=0 not at all (but a failure closes the connection, as Kafka does, so
 * the producer notices).
 *
 * Every partition is handed to its log synchronously, before the first await: requests pipelined
 * on one connection therefore reach each partition in the order they were sent.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeProduceRequest, encodeProduceResponse, type ProduceResponseInput } from '../protocol/generated/produce.js';
import { isTransactional, validateProducedBatch } from '../protocol/records/record-batch.js';
import type { AppendOutcome } from '../cluster/partition.js';
import { ProtocolViolation } from '../server/connection.js';
import { defineHandler, type BrokerContext } from './handler.js';

type PartitionResponse = ProduceResponseInput['responses'][number]['partitionResponses'][number];

function failure(index: number, errorCode: number, message: string | null): PartitionResponse {
  return { index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: message };
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
  return partition.append(records, validation.header, acks === -1).then((outcome: AppendOutcome): PartitionResponse => {
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
  });
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
