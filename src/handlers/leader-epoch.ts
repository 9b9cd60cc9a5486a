/**
 * KIP-320's check of the leader epoch a client believes is current, shared by Fetch, ListOffsets and
 * OffsetForLeaderEpoch: a newer epoch than ours is unknown to us, an older one is fenced, -1 skips
 * the check.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { Partition } from '../cluster/partition.js';

export function leaderEpochError(partition: Partition, currentLeaderEpoch: number): number {
  if (currentLeaderEpoch > partition.leaderEpoch) return ErrorCode.UNKNOWN_LEADER_EPOCH;
  if (currentLeaderEpoch >= 0 && currentLeaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  return ErrorCode.NONE;
}
