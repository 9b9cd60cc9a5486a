/** CreatePartitions (37): grows a topic to a new partition count (never shrinks it). */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import {
  decodeCreatePartitionsRequest,
  encodeCreatePartitionsResponse,
  type CreatePartitionsRequest,
} from '../protocol/generated/create-partitions.js';
import { KafkaProtocolError } from '../errors.js';
import { MAX_PARTITIONS_PER_REQUEST } from '../cluster/cluster.js';
import { defineHandler, type BrokerContext } from './handler.js';

async function growTopic(topic: CreatePartitionsRequest['topics'][number], validateOnly: boolean, broker: BrokerContext): Promise<void> {
  const nodeId = broker.config.nodeId;
  const existing = broker.cluster.topic(topic.name);
  if (topic.assignments !== null) {
    const newPartitions = existing === undefined ? 0 : topic.count - existing.partitions.length;
    if (newPartitions > 0 && topic.assignments.length !== newPartitions) {
      throw new KafkaProtocolError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Increasing the number of partitions by ${newPartitions} but ${topic.assignments.length} assignments provided.`,
      );
    }
    for (const assignment of topic.assignments) {
      if (assignment.brokerIds.length !== 1 || assignment.brokerIds[0] !== nodeId) {
        throw new KafkaProtocolError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Assignment [${assignment.brokerIds.join(', ')}] is not possible: this single-node cluster has only broker ${nodeId}.`,
        );
      }
    }
  }
  await broker.cluster.createPartitions(topic.name, topic.count, validateOnly);
}

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeCreatePartitionsRequest,
  encodeResponse: encodeCreatePartitionsResponse,
  async handle(request, { broker }) {
    const added = request.topics.reduce((sum, topic) => {
      const current = broker.cluster.topic(topic.name)?.partitions.length ?? 0;
      return sum + Math.max(0, topic.count - current);
    }, 0);
    if (added > MAX_PARTITIONS_PER_REQUEST) {
      const errorMessage = `Excessively large number of partitions per request: ${added}, at most ${MAX_PARTITIONS_PER_REQUEST}.`;
      return { throttleTimeMs: 0, results: request.topics.map((topic) => ({ name: topic.name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage })) };
    }
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const results = [];
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        results.push({ name: topic.name, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate topic in request: ${topic.name}` });
        continue;
      }
      try {
        await growTopic(topic, request.validateOnly, broker);
        results.push({ name: topic.name, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        if (!(error instanceof KafkaProtocolError)) throw error;
        results.push({ name: topic.name, errorCode: error.errorCode, errorMessage: error.message });
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
