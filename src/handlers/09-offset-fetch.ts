/**
 * OffsetFetch (9): a group's committed offsets; -1 (and no error) for partitions without one,
 * unknown groups included. v2+ may ask for every committed partition (topics null) and report
 * group errors at the top; v0-v1 report them per partition. v8+ asks for several groups at once.
 * Without transactions no commit is ever pending, so RequireStable (v7+) changes nothing.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeOffsetFetchRequest, encodeOffsetFetchResponse, type OffsetFetchResponseInput } from '../protocol/generated/offset-fetch.js';
import type { OffsetFetchResult } from '../coordinator/group/group-coordinator.js';
import { defineHandler } from './handler.js';

type Topics = Array<{ name: string; partitionIndexes: number[] }> | null;

function toTopics(result: OffsetFetchResult) {
  return result.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((p) => ({
      partitionIndex: p.partition,
      committedOffset: p.offset,
      committedLeaderEpoch: p.leaderEpoch,
      metadata: p.metadata,
      errorCode: p.errorCode,
    })),
  }));
}

export const offsetFetchHandler = defineHandler({
  apiKey: ApiKey.OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  decodeRequest: decodeOffsetFetchRequest,
  encodeResponse: encodeOffsetFetchResponse,
  handle(request, { header, broker }): OffsetFetchResponseInput {
    const version = header.apiVersion;
    const fetch = (groupId: string, topics: Topics) =>
      broker.groups.fetchOffsets(groupId, topics === null ? null : topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes })));

    if (version >= 8) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((group) => {
          const result = fetch(group.groupId, group.topics);
          return { groupId: group.groupId, errorCode: result.errorCode, topics: toTopics(result) };
        }),
      };
    }
    const result = fetch(request.groupId, request.topics);
    if (result.errorCode !== ErrorCode.NONE && version < 2) {
      // v0-v1 have no group-level error: every requested partition carries it.
      return {
        throttleTimeMs: 0,
        topics: (request.topics ?? []).map((topic) => ({
          name: topic.name,
          partitions: topic.partitionIndexes.map((partitionIndex) => ({
            partitionIndex,
            committedOffset: -1n,
            metadata: '',
            errorCode: result.errorCode,
          })),
        })),
      };
    }
    return { throttleTimeMs: 0, errorCode: result.errorCode, topics: toTopics(result) };
  },
});
