/**
 * OffsetForLeaderEpoch (23): the end offset of a leader epoch, which consumers use to detect log
 * truncation (KIP-320). A single node's partitions only ever have epoch 0, which ends at the log
 * end; an epoch we never had has no end offset.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeOffsetForLeaderEpochRequest, encodeOffsetForLeaderEpochResponse } from '../protocol/generated/offset-for-leader-epoch.js';
import { defineHandler } from './handler.js';
import { leaderEpochError } from './leader-epoch.js';

export const offsetForLeaderEpochHandler = defineHandler({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeOffsetForLeaderEpochRequest,
  encodeResponse: encodeOffsetForLeaderEpochResponse,
  handle(request, { broker }) {
    const topics = request.topics.map((topic) => ({
      topic: topic.topic,
      partitions: topic.partitions.map(({ partition: index, currentLeaderEpoch, leaderEpoch }) => {
        const partition = broker.cluster.partition(topic.topic, index);
        if (partition === undefined) {
          return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: index, leaderEpoch: -1, endOffset: -1n };
        }
        const epochError = leaderEpochError(partition, currentLeaderEpoch);
        if (epochError !== ErrorCode.NONE) return { errorCode: epochError, partition: index, leaderEpoch: -1, endOffset: -1n };
        if (leaderEpoch === partition.leaderEpoch) {
          return { errorCode: ErrorCode.NONE, partition: index, leaderEpoch, endOffset: partition.highWatermark };
        }
        return { errorCode: ErrorCode.NONE, partition: index, leaderEpoch: -1, endOffset: -1n };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
