/**
 * ListOffsets (2): the earliest, latest or max-timestamp offset of a partition, or the first offset
 * whose record timestamp is at or after a given time. v0 answers in its old shape, a list holding
 * that one offset (Kafka's v0 listed segment base offsets before the time; clients ask for one).
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeListOffsetsRequest, encodeListOffsetsResponse, type ListOffsetsResponseInput } from '../protocol/generated/list-offsets.js';
import type { Partition } from '../cluster/partition.js';
import type { TimestampOffset } from '../storage/engine.js';
import { defineHandler } from './handler.js';
import { leaderEpochError } from './leader-epoch.js';

type PartitionResponse = ListOffsetsResponseInput['topics'][number]['partitions'][number];

/** Kafka's special timestamps in ListOffsets requests. */
export const OffsetSpec = {
  latest: -1n,
  earliest: -2n,
  maxTimestamp: -3n,
  earliestLocal: -4n,
  latestTiered: -5n,
} as const;

async function lookup(partition: Partition, timestamp: bigint): Promise<TimestampOffset | null> {
  switch (timestamp) {
    case OffsetSpec.latest:
      return { offset: partition.highWatermark, timestamp: -1n };
    case OffsetSpec.earliest:
    case OffsetSpec.earliestLocal:
      return { offset: partition.logStartOffset, timestamp: -1n };
    case OffsetSpec.maxTimestamp:
      return partition.log.maxTimestamp();
    case OffsetSpec.latestTiered:
      // Nothing is ever tiered to remote storage here.
      return null;
    default:
      return partition.log.offsetForTimestamp(timestamp);
  }
}

export const listOffsetsHandler = defineHandler({
  apiKey: ApiKey.ListOffsets,
  minVersion: 0,
  maxVersion: 9,
  decodeRequest: decodeListOffsetsRequest,
  encodeResponse: encodeListOffsetsResponse,
  async handle(request, { header, broker }) {
    const oldStyle = header.apiVersion === 0;
    const topics = await Promise.all(
      request.topics.map(async (requested) => ({
        name: requested.name,
        partitions: await Promise.all(
          requested.partitions.map(async (p): Promise<PartitionResponse> => {
            const failed = (errorCode: number): PartitionResponse => ({
              partitionIndex: p.partitionIndex,
              errorCode,
              oldStyleOffsets: [],
              timestamp: -1n,
              offset: -1n,
              leaderEpoch: -1,
            });
            const partition = broker.cluster.partition(requested.name, p.partitionIndex);
            if (partition === undefined) return failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            const epochError = leaderEpochError(partition, p.currentLeaderEpoch);
            if (epochError !== ErrorCode.NONE) return failed(epochError);
            let found: TimestampOffset | null;
            try {
              found = await lookup(partition, p.timestamp);
            } catch (error) {
              broker.logger.error({ err: error, topic: requested.name, partition: p.partitionIndex }, 'offset lookup failed');
              return failed(ErrorCode.KAFKA_STORAGE_ERROR);
            }
            if (oldStyle) {
              const offset = found?.offset ?? partition.highWatermark;
              return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, oldStyleOffsets: p.maxNumOffsets > 0 ? [offset] : [] };
            }
            return {
              partitionIndex: p.partitionIndex,
              errorCode: ErrorCode.NONE,
              oldStyleOffsets: [],
              timestamp: found?.timestamp ?? -1n,
              offset: found?.offset ?? -1n,
              leaderEpoch: found === null ? -1 : partition.leaderEpoch,
            };
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
});
