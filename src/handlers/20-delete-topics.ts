/** DeleteTopics (20): by name (v0-5) or by name or topic id (v6+). */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeDeleteTopicsRequest, encodeDeleteTopicsResponse, type DeleteTopicsResponseInput } from '../protocol/generated/delete-topics.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { KafkaProtocolError } from '../errors.js';
import { defineHandler } from './handler.js';

type TopicResult = DeleteTopicsResponseInput['responses'][number];

export const deleteTopicsHandler = defineHandler({
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  decodeRequest: decodeDeleteTopicsRequest,
  encodeResponse: encodeDeleteTopicsResponse,
  async handle(request, { header, broker }) {
    const requested =
      header.apiVersion >= 6
        ? request.topics.map((topic) => ({ name: topic.name, topicId: topic.topicId }))
        : request.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }));
    const responses: TopicResult[] = [];
    for (const { name, topicId } of requested) {
      const byId = name === null;
      const topic = byId ? broker.cluster.topicById(topicId) : broker.cluster.topic(name);
      if (topic === undefined) {
        responses.push({
          name,
          topicId,
          errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: byId ? `Topic id ${topicId} does not exist` : `This server does not host this topic: ${name}`,
        });
        continue;
      }
      try {
        await broker.cluster.deleteTopic(topic.name);
        // A topic created later under the same name must not inherit the old one's committed offsets.
        await broker.groups.onTopicsDeleted([topic.name]);
        responses.push({ name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        if (!(error instanceof KafkaProtocolError)) throw error;
        responses.push({ name: topic.name, topicId: topic.topicId, errorCode: error.errorCode, errorMessage: error.message });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
});
