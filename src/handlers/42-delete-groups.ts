/**
 * DeleteGroups (42): deletes Empty groups and their committed offsets (tombstones in
 * `__consumer_offsets`); groups with members get NON_EMPTY_GROUP, unknown ones GROUP_ID_NOT_FOUND.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeDeleteGroupsRequest, encodeDeleteGroupsResponse, type DeleteGroupsResponseInput } from '../protocol/generated/delete-groups.js';
import { defineHandler } from './handler.js';

export const deleteGroupsHandler = defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeDeleteGroupsRequest,
  encodeResponse: encodeDeleteGroupsResponse,
  async handle(request, { broker }): Promise<DeleteGroupsResponseInput> {
    // Kafka treats the names as a set: a group named twice is deleted and reported once.
    const groupIds = [...new Set(request.groupsNames)];
    const errors = await broker.groups.deleteGroups(groupIds);
    return { throttleTimeMs: 0, results: groupIds.map((groupId, i) => ({ groupId, errorCode: errors[i]! })) };
  },
});
