/**
 * OffsetCommit (8): stores a group's consumed positions durably in `__consumer_offsets`; the
 * response comes only after the write is fsynced. Members commit with their generation and member
 * id; generation -1 with no member id commits for a "simple" group (manually assigned partitions).
 * v1 carries a commit timestamp, v2-v4 a retention time (old expiry semantics), v6+ leader epochs,
 * v7+ group.instance.id.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeOffsetCommitRequest, encodeOffsetCommitResponse, type OffsetCommitResponseInput } from '../protocol/generated/offset-commit.js';
import type { OffsetCommitEntry } from '../coordinator/group/group-coordinator.js';
import { defineHandler } from './handler.js';

export const offsetCommitHandler = defineHandler({
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  decodeRequest: decodeOffsetCommitRequest,
  encodeResponse: encodeOffsetCommitResponse,
  async handle(request, { header, broker }): Promise<OffsetCommitResponseInput> {
    const version = header.apiVersion;
    const offsets: OffsetCommitEntry[] = request.topics.flatMap((topic) =>
      topic.partitions.map((partition) => ({
        topic: topic.name,
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
        leaderEpoch: version >= 6 ? partition.committedLeaderEpoch : -1,
        metadata: partition.committedMetadata,
        commitTimestamp: version === 1 ? partition.commitTimestamp : -1n,
      })),
    );
    const errors = await broker.groups.commitOffsets({
      groupId: request.groupId,
      generationId: request.generationIdOrMemberEpoch,
      memberId: request.memberId,
      groupInstanceId: version >= 7 ? request.groupInstanceId : null,
      retentionTimeMs: version >= 2 && version <= 4 ? request.retentionTimeMs : -1n,
      offsets,
    });
    let next = 0;
    return {
      throttleTimeMs: 0,
      topics: request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: errors[next++]! })),
      })),
    };
  },
});
