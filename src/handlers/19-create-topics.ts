/**
 * CreateTopics (19): validates each topic (name, partitions, replication on a single node, manual
 * assignments, configs) and creates it unless ValidateOnly. From v5 the response describes the
 * topic as created: partitions, replication factor and every config in effect.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import {
  decodeCreateTopicsRequest,
  encodeCreateTopicsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponseInput,
} from '../protocol/generated/create-topics.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { KafkaProtocolError } from '../errors.js';
import { topicConfigEntries } from '../cluster/topic-configs.js';
import { MAX_PARTITIONS_PER_REQUEST } from '../cluster/cluster.js';
import { defineHandler, type BrokerContext } from './handler.js';

type CreatableTopic = CreateTopicsRequest['topics'][number];
type TopicResult = CreateTopicsResponseInput['topics'][number];

/**
 * The partition count a creation asks for, checking replication against the one broker there is.
 * Throws KafkaProtocolError with the code Kafka would answer.
 */
function plannedPartitions(topic: CreatableTopic, broker: BrokerContext): number {
  const nodeId = broker.config.nodeId;
  if (topic.assignments.length > 0) {
    if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
      throw new KafkaProtocolError(
        ErrorCode.INVALID_REQUEST,
        'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.',
      );
    }
    const indexes = topic.assignments.map((assignment) => assignment.partitionIndex).sort((a, b) => a - b);
    if (indexes.some((index, position) => index !== position)) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
    }
    for (const assignment of topic.assignments) {
      if (assignment.brokerIds.length !== 1 || assignment.brokerIds[0] !== nodeId) {
        throw new KafkaProtocolError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Partition ${assignment.partitionIndex} is assigned to brokers [${assignment.brokerIds.join(', ')}]; this single-node cluster has only broker ${nodeId}.`,
        );
      }
    }
    return topic.assignments.length;
  }
  const replicationFactor = topic.replicationFactor === -1 ? 1 : topic.replicationFactor;
  if (replicationFactor < 1) {
    throw new KafkaProtocolError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
  }
  if (replicationFactor > 1) {
    throw new KafkaProtocolError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only 1 broker(s) are registered.`,
    );
  }
  return topic.numPartitions === -1 ? broker.config.defaultPartitions : topic.numPartitions;
}

async function createOne(topic: CreatableTopic, validateOnly: boolean, broker: BrokerContext): Promise<TopicResult> {
  const configs: Record<string, string | null> = {};
  for (const config of topic.configs) configs[config.name] = config.value;
  try {
    const partitionCount = plannedPartitions(topic, broker);
    broker.cluster.validateNewTopic(topic.name, partitionCount, configs);
    const accepted = configs as Record<string, string>;
    const created = validateOnly ? null : await broker.cluster.createTopic(topic.name, partitionCount, accepted);
    const entries = created !== null ? broker.cluster.topicConfigEntries(created) : topicConfigEntries(accepted, broker.cluster.topicDefaults());
    return {
      name: topic.name,
      topicId: created?.topicId ?? ZERO_UUID,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: partitionCount,
      replicationFactor: 1,
      configs: entries.map((entry) => ({
        name: entry.name,
        value: entry.value,
        readOnly: false,
        configSource: entry.source,
        isSensitive: false,
      })),
    };
  } catch (error) {
    if (!(error instanceof KafkaProtocolError)) throw error;
    return failed(topic.name, error.errorCode, error.message);
  }
}

function failed(name: string, errorCode: number, errorMessage: string): TopicResult {
  return { name, topicId: ZERO_UUID, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null };
}

export const createTopicsHandler = defineHandler({
  apiKey: ApiKey.CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  decodeRequest: decodeCreateTopicsRequest,
  encodeResponse: encodeCreateTopicsResponse,
  async handle(request, { broker }) {
    // As Kafka: a request adding too many partitions in total is refused whole, before anything is made.
    const requestedPartitions = request.topics.reduce(
      (sum, topic) => sum + (topic.assignments.length > 0 ? topic.assignments.length : topic.numPartitions === -1 ? broker.config.defaultPartitions : Math.max(0, topic.numPartitions)),
      0,
    );
    if (requestedPartitions > MAX_PARTITIONS_PER_REQUEST) {
      const message = `Excessively large number of partitions per request: ${requestedPartitions}, at most ${MAX_PARTITIONS_PER_REQUEST}.`;
      return { throttleTimeMs: 0, topics: request.topics.map((topic) => failed(topic.name, ErrorCode.POLICY_VIOLATION, message)) };
    }
    const counts = new Map<string, number>();
    for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
    const topics: TopicResult[] = [];
    // One at a time, in request order: creations are serialised by the cluster anyway.
    for (const topic of request.topics) {
      if (counts.get(topic.name)! > 1) {
        topics.push(failed(topic.name, ErrorCode.INVALID_REQUEST, `Create topics request from client contains multiple entries for topic ${topic.name}`));
      } else {
        topics.push(await createOne(topic, request.validateOnly, broker));
      }
    }
    return { throttleTimeMs: 0, topics };
  },
});
