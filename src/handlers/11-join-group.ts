/**
 * JoinGroup (11): a member joins (or rejoins) a group and waits until the rebalance completes; the
 * response names the generation, the selected protocol and the leader, and gives the leader every
 * member's metadata. v4+ first joins get MEMBER_ID_REQUIRED; v5+ carry group.instance.id (static
 * membership); v9 may tell a static leader to skip the assignment. The group logic is in
 * coordinator/group.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeJoinGroupRequest, encodeJoinGroupResponse, type JoinGroupResponseInput } from '../protocol/generated/join-group.js';
import { defineHandler } from './handler.js';

export const joinGroupHandler = defineHandler({
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  decodeRequest: decodeJoinGroupRequest,
  encodeResponse: encodeJoinGroupResponse,
  async handle(request, { header, connection, broker }): Promise<JoinGroupResponseInput> {
    const version = header.apiVersion;
    const result = await broker.groups.joinGroup(request.groupId, {
      memberId: request.memberId,
      groupInstanceId: version >= 5 ? request.groupInstanceId : null,
      requireKnownMemberId: version >= 4,
      supportSkippingAssignment: version >= 9,
      clientId: header.clientId ?? '',
      // Kafka reports the client's address as Java's InetAddress.toString() does.
      clientHost: `/${connection.remoteAddress}`,
      // v0 had no rebalance timeout: the session timeout served as both.
      rebalanceTimeoutMs: version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
      sessionTimeoutMs: request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols: request.protocols,
      reason: request.reason,
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: result.protocolType,
      // Nullable only from v7.
      protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
      leader: result.leaderId,
      skipAssignment: result.skipAssignment,
      memberId: result.memberId,
      members: result.members,
    };
  },
});
