/** DeleteRecords (21): moves a partition's log start offset forward (-1 means the high watermark). */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeDeleteRecordsRequest, encodeDeleteRecordsResponse } from '../protocol/generated/delete-records.js';
import { defineHandler } from './handler.js';

export const deleteRecordsHandler = defineHandler({
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeDeleteRecordsRequest,
  encodeResponse: encodeDeleteRecordsResponse,
  async handle(request, { broker }) {
    const topics = await Promise.all(
      request.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(
          topic.partitions.map(async ({ partitionIndex, offset }) => {
            const partition = broker.cluster.partition(topic.name, partitionIndex);
            if (partition === undefined) {
              return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
            }
            const target = offset === -1n ? partition.highWatermark : offset;
            if (target < 0n || target > partition.highWatermark) {
              return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE };
            }
            try {
              const lowWatermark = await partition.log.deleteRecordsBefore(target);
              return { partitionIndex, lowWatermark, errorCode: ErrorCode.NONE };
            } catch (error) {
              broker.logger.error({ err: error, topic: topic.name, partition: partitionIndex }, 'delete records failed');
              return { partitionIndex, lowWatermark: -1n, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
