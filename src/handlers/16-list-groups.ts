/**
 * ListGroups (16): every group of this coordinator with its protocol type ('' for simple groups
 * that only store offsets); v4+ adds the state and a state filter, v5+ the group type ("classic")
 * and a type filter. Both filters are case-insensitive, as in Kafka.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeListGroupsRequest, encodeListGroupsResponse, type ListGroupsResponseInput } from '../protocol/generated/list-groups.js';
import { defineHandler } from './handler.js';

export const listGroupsHandler = defineHandler({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeListGroupsRequest,
  encodeResponse: encodeListGroupsResponse,
  handle(request, { header, broker }): ListGroupsResponseInput {
    const version = header.apiVersion;
    const { errorCode, groups } = broker.groups.listGroups({
      states: version >= 4 ? request.statesFilter : [],
      types: version >= 5 ? request.typesFilter : [],
    });
    return {
      throttleTimeMs: 0,
      errorCode,
      groups: groups.map((group) => ({
        groupId: group.groupId,
        protocolType: group.protocolType,
        groupState: group.state,
        groupType: group.groupType,
      })),
    };
  },
});
