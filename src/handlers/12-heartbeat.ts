/**
 * Heartbeat (12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin,
 * ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID that it is no longer part of the group.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeHeartbeatRequest, encodeHeartbeatResponse } from '../protocol/generated/heartbeat.js';
import { defineHandler } from './handler.js';

export const heartbeatHandler = defineHandler({
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeHeartbeatRequest,
  encodeResponse: encodeHeartbeatResponse,
  handle(request, { header, broker }) {
    const groupInstanceId = header.apiVersion >= 3 ? request.groupInstanceId : null;
    return {
      throttleTimeMs: 0,
      errorCode: broker.groups.heartbeat(request.groupId, request.memberId, groupInstanceId, request.generationId),
    };
  },
});
