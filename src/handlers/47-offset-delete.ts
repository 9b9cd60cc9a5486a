/**
 * OffsetDelete (47): removes committed offsets of a group. Allowed for Empty groups, and for consumer
 * groups with members only on topics none of them subscribes to (GROUP_SUBSCRIBED_TO_TOPIC
 * otherwise). A group-level error leaves the partition list empty, as in Kafka.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeOffsetDeleteRequest, encodeOffsetDeleteResponse, type OffsetDeleteResponseInput } from '../protocol/generated/offset-delete.js';
import { defineHandler } from './handler.js';

export const offsetDeleteHandler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  decodeRequest: decodeOffsetDeleteRequest,
  encodeResponse: encodeOffsetDeleteResponse,
  async handle(request, { broker }): Promise<OffsetDeleteResponseInput> {
    const partitions = request.topics.flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, partition: p.partitionIndex })));
    const { errorCode, partitionErrors } = await broker.groups.deleteOffsets(request.groupId, partitions);
    const errorOf = new Map(partitionErrors.map((p) => [`${p.partition}:${p.topic}`, p.errorCode] as const));
    return {
      errorCode,
      throttleTimeMs: 0,
      topics:
        partitionErrors.length === 0
          ? []
          : request.topics.map((topic) => ({
              name: topic.name,
              partitions: topic.partitions.map((p) => ({
                partitionIndex: p.partitionIndex,
                errorCode: errorOf.get(`${p.partitionIndex}:${topic.name}`)!,
              })),
            })),
    };
  },
});
