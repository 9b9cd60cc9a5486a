/**
 * Metadata (3): this broker, and the topics asked for (or all), each partition led by this broker.
 * Unknown topics are created here when the broker allows auto-creation and the client asks for it.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeMetadataRequest, encodeMetadataResponse, type MetadataResponseInput } from '../protocol/generated/metadata.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { KafkaProtocolError } from '../errors.js';
import type { Topic } from '../cluster/cluster.js';
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS, TOPIC_OPERATIONS } from '../cluster/authorized-operations.js';
import { defineHandler, type BrokerContext } from './handler.js';

type TopicMetadata = MetadataResponseInput['topics'][number];

export const metadataHandler = defineHandler({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  decodeRequest: decodeMetadataRequest,
  encodeResponse: encodeMetadataResponse,
  async handle(request, { header, broker }) {
    const version = header.apiVersion;
    const { cluster, config } = broker;
    const includeTopicOperations = version >= 8 && request.includeTopicAuthorizedOperations;
    const describe = (topic: Topic) => describeTopic(broker, topic, includeTopicOperations);

    // v0: an empty list means every topic; v1+: null means every topic, empty means none.
    const allTopics = request.topics === null || (version === 0 && request.topics.length === 0);
    let topics: TopicMetadata[];
    if (allTopics) {
      topics = [...cluster.topics()].map(describe);
    } else {
      const allowAutoCreate = config.autoCreateTopics && (version < 4 || request.allowAutoTopicCreation);
      topics = await Promise.all(
        (request.topics ?? []).map(async (requested): Promise<TopicMetadata> => {
          if (requested.name === null) {
            const topic = cluster.topicById(requested.topicId);
            if (topic !== undefined) return describe(topic);
            // The response's topic name only became nullable in v12.
            return missingTopic(version >= 12 ? null : '', requested.topicId, ErrorCode.UNKNOWN_TOPIC_ID);
          }
          const name = requested.name;
          const existing = cluster.topic(name);
          if (existing !== undefined) return describe(existing);
          if (!allowAutoCreate) return missingTopic(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          try {
            return describe(await cluster.createTopic(name, config.defaultPartitions, {}));
          } catch (error) {
            const raced = cluster.topic(name);
            if (raced !== undefined) return describe(raced);
            if (error instanceof KafkaProtocolError) return missingTopic(name, ZERO_UUID, error.errorCode);
            throw error;
          }
        }),
      );
    }

    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId: config.nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null }],
      clusterId: cluster.clusterId,
      controllerId: config.nodeId,
      topics,
      clusterAuthorizedOperations:
        version >= 8 && version <= 10 && request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
});

function describeTopic(broker: BrokerContext, topic: Topic, includeOperations: boolean): TopicMetadata {
  const nodeId = broker.config.nodeId;
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions: topic.partitions.map((partition) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: partition.index,
      leaderId: nodeId,
      leaderEpoch: partition.leaderEpoch,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: includeOperations ? TOPIC_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function missingTopic(name: string | null, topicId: string, errorCode: number): TopicMetadata {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
}
