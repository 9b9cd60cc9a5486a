/**
 * LeaveGroup (13): members leave (v3+: several at once, and static members can be removed by
 * group.instance.id alone). Before v3 the one member's error is the response's error.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeLeaveGroupRequest, encodeLeaveGroupResponse, type LeaveGroupResponseInput } from '../protocol/generated/leave-group.js';
import { defineHandler } from './handler.js';

export const leaveGroupHandler = defineHandler({
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeLeaveGroupRequest,
  encodeResponse: encodeLeaveGroupResponse,
  handle(request, { header, broker }): LeaveGroupResponseInput {
    const batched = header.apiVersion >= 3;
    const leaving = batched
      ? request.members.map((member) => ({ ...member, reason: header.apiVersion >= 5 ? member.reason : null }))
      : [{ memberId: request.memberId, groupInstanceId: null, reason: null }];
    const { errorCode, memberErrors } = broker.groups.leaveGroup(request.groupId, leaving);
    if (!batched) return { throttleTimeMs: 0, errorCode: errorCode !== ErrorCode.NONE ? errorCode : (memberErrors[0] ?? ErrorCode.NONE) };
    return {
      throttleTimeMs: 0,
      errorCode,
      members: memberErrors.map((memberError, i) => ({
        memberId: leaving[i]!.memberId,
        groupInstanceId: leaving[i]!.groupInstanceId,
        errorCode: memberError,
      })),
    };
  },
});
