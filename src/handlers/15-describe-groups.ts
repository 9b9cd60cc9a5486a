/**
 * DescribeGroups (15): state, protocol type, selected protocol and members (client id, host, and,
 * when the group is Stable, each member's metadata and assignment). Unknown groups are described
 * as Dead without an error, as Kafka does up to v5.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import {
  decodeDescribeGroupsRequest,
  encodeDescribeGroupsResponse,
  type DescribeGroupsResponseInput,
} from '../protocol/generated/describe-groups.js';
import { AUTHORIZED_OPERATIONS_OMITTED, GROUP_OPERATIONS } from '../cluster/authorized-operations.js';
import { defineHandler } from './handler.js';

export const describeGroupsHandler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeDescribeGroupsRequest,
  encodeResponse: encodeDescribeGroupsResponse,
  handle(request, { header, broker }): DescribeGroupsResponseInput {
    const includeOperations = header.apiVersion >= 3 && request.includeAuthorizedOperations;
    return {
      throttleTimeMs: 0,
      groups: broker.groups.describeGroups(request.groups).map((group) => ({
        errorCode: group.errorCode,
        groupId: group.groupId,
        // A group that could not be looked up has no state at all (Kafka's NoState).
        groupState: group.errorCode === ErrorCode.NONE ? group.state : '',
        protocolType: group.protocolType,
        protocolData: group.protocol,
        members: group.members.map((member) => ({
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          clientId: member.clientId,
          clientHost: member.clientHost,
          memberMetadata: member.metadata,
          memberAssignment: member.assignment,
        })),
        authorizedOperations: includeOperations ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
      })),
    };
  },
});
