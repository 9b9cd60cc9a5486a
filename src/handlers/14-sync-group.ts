/**
 * SyncGroup (14): the leader sends the assignment it computed; every member (leader included)
 * waits for it and receives its own part. v5+ also checks the protocol type and name.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeSyncGroupRequest, encodeSyncGroupResponse, type SyncGroupResponseInput } from '../protocol/generated/sync-group.js';
import { defineHandler } from './handler.js';

export const syncGroupHandler = defineHandler({
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeSyncGroupRequest,
  encodeResponse: encodeSyncGroupResponse,
  async handle(request, { header, broker }): Promise<SyncGroupResponseInput> {
    const version = header.apiVersion;
    const result = await broker.groups.syncGroup(request.groupId, {
      memberId: request.memberId,
      groupInstanceId: version >= 3 ? request.groupInstanceId : null,
      generationId: request.generationId,
      protocolType: version >= 5 ? request.protocolType : null,
      protocolName: version >= 5 ? request.protocolName : null,
      assignments: new Map(request.assignments.map(({ memberId, assignment }) => [memberId, assignment] as const)),
    });
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode,
      protocolType: result.protocolType,
      protocolName: result.protocolName,
      assignment: result.assignment,
    };
  },
});
