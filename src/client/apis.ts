/**
 * The APIs this client uses, each with the generated codec and the range of versions the client
 * speaks. The upper bound is the codec's (every version Kafka's schemas define, so the highest
 * version a broker offers is always usable); the lower bound is where the client's assumptions start
 * to hold (record batch v2 needs Produce v3 and Fetch v4, committed offsets in Kafka need
 * OffsetCommit/OffsetFetch v2, "all topics" as a null list needs Metadata v1).
 */
import type { Reader } from '../protocol/primitives/reader.js';
import type { Writer } from '../protocol/primitives/writer.js';
import { ApiKey } from '../protocol/generated/api-keys.js';
import * as apiVersions from '../protocol/generated/api-versions.js';
import * as createPartitions from '../protocol/generated/create-partitions.js';
import * as createTopics from '../protocol/generated/create-topics.js';
import * as deleteGroups from '../protocol/generated/delete-groups.js';
import * as deleteTopics from '../protocol/generated/delete-topics.js';
import * as describeCluster from '../protocol/generated/describe-cluster.js';
import * as describeConfigs from '../protocol/generated/describe-configs.js';
import * as describeGroups from '../protocol/generated/describe-groups.js';
import * as fetch from '../protocol/generated/fetch.js';
import * as findCoordinator from '../protocol/generated/find-coordinator.js';
import * as heartbeat from '../protocol/generated/heartbeat.js';
import * as incrementalAlterConfigs from '../protocol/generated/incremental-alter-configs.js';
import * as initProducerId from '../protocol/generated/init-producer-id.js';
import * as joinGroup from '../protocol/generated/join-group.js';
import * as leaveGroup from '../protocol/generated/leave-group.js';
import * as listGroups from '../protocol/generated/list-groups.js';
import * as listOffsets from '../protocol/generated/list-offsets.js';
import * as metadata from '../protocol/generated/metadata.js';
import * as offsetCommit from '../protocol/generated/offset-commit.js';
import * as offsetFetch from '../protocol/generated/offset-fetch.js';
import * as produce from '../protocol/generated/produce.js';
import * as syncGroup from '../protocol/generated/sync-group.js';

export interface ApiSpec<Request, Response> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  encode(w: Writer, version: number, request: Request): void;
  decode(r: Reader, version: number): Response;
}

function spec<Request, Response>(
  apiKey: number,
  name: string,
  minVersion: number,
  maxVersion: number,
  encode: (w: Writer, version: number, request: Request) => void,
  decode: (r: Reader, version: number) => Response,
): ApiSpec<Request, Response> {
  return { apiKey, name, minVersion, maxVersion, encode, decode };
}

export const Api = {
  Produce: spec(ApiKey.Produce, 'Produce', 3, 11, produce.encodeProduceRequest, produce.decodeProduceResponse),
  Fetch: spec(ApiKey.Fetch, 'Fetch', 4, 17, fetch.encodeFetchRequest, fetch.decodeFetchResponse),
  ListOffsets: spec(ApiKey.ListOffsets, 'ListOffsets', 1, 9, listOffsets.encodeListOffsetsRequest, listOffsets.decodeListOffsetsResponse),
  Metadata: spec(ApiKey.Metadata, 'Metadata', 1, 12, metadata.encodeMetadataRequest, metadata.decodeMetadataResponse),
  OffsetCommit: spec(ApiKey.OffsetCommit, 'OffsetCommit', 2, 9, offsetCommit.encodeOffsetCommitRequest, offsetCommit.decodeOffsetCommitResponse),
  OffsetFetch: spec(ApiKey.OffsetFetch, 'OffsetFetch', 2, 9, offsetFetch.encodeOffsetFetchRequest, offsetFetch.decodeOffsetFetchResponse),
  FindCoordinator: spec(
    ApiKey.FindCoordinator,
    'FindCoordinator',
    0,
    6,
    findCoordinator.encodeFindCoordinatorRequest,
    findCoordinator.decodeFindCoordinatorResponse,
  ),
  JoinGroup: spec(ApiKey.JoinGroup, 'JoinGroup', 0, 9, joinGroup.encodeJoinGroupRequest, joinGroup.decodeJoinGroupResponse),
  Heartbeat: spec(ApiKey.Heartbeat, 'Heartbeat', 0, 4, heartbeat.encodeHeartbeatRequest, heartbeat.decodeHeartbeatResponse),
  LeaveGroup: spec(ApiKey.LeaveGroup, 'LeaveGroup', 0, 5, leaveGroup.encodeLeaveGroupRequest, leaveGroup.decodeLeaveGroupResponse),
  SyncGroup: spec(ApiKey.SyncGroup, 'SyncGroup', 0, 5, syncGroup.encodeSyncGroupRequest, syncGroup.decodeSyncGroupResponse),
  DescribeGroups: spec(
    ApiKey.DescribeGroups,
    'DescribeGroups',
    0,
    5,
    describeGroups.encodeDescribeGroupsRequest,
    describeGroups.decodeDescribeGroupsResponse,
  ),
  ListGroups: spec(ApiKey.ListGroups, 'ListGroups', 0, 5, listGroups.encodeListGroupsRequest, listGroups.decodeListGroupsResponse),
  ApiVersions: spec(ApiKey.ApiVersions, 'ApiVersions', 0, 4, apiVersions.encodeApiVersionsRequest, apiVersions.decodeApiVersionsResponse),
  CreateTopics: spec(ApiKey.CreateTopics, 'CreateTopics', 0, 7, createTopics.encodeCreateTopicsRequest, createTopics.decodeCreateTopicsResponse),
  DeleteTopics: spec(ApiKey.DeleteTopics, 'DeleteTopics', 0, 6, deleteTopics.encodeDeleteTopicsRequest, deleteTopics.decodeDeleteTopicsResponse),
  InitProducerId: spec(
    ApiKey.InitProducerId,
    'InitProducerId',
    0,
    5,
    initProducerId.encodeInitProducerIdRequest,
    initProducerId.decodeInitProducerIdResponse,
  ),
  DescribeConfigs: spec(
    ApiKey.DescribeConfigs,
    'DescribeConfigs',
    0,
    4,
    describeConfigs.encodeDescribeConfigsRequest,
    describeConfigs.decodeDescribeConfigsResponse,
  ),
  CreatePartitions: spec(
    ApiKey.CreatePartitions,
    'CreatePartitions',
    0,
    3,
    createPartitions.encodeCreatePartitionsRequest,
    createPartitions.decodeCreatePartitionsResponse,
  ),
  DeleteGroups: spec(ApiKey.DeleteGroups, 'DeleteGroups', 0, 2, deleteGroups.encodeDeleteGroupsRequest, deleteGroups.decodeDeleteGroupsResponse),
  IncrementalAlterConfigs: spec(
    ApiKey.IncrementalAlterConfigs,
    'IncrementalAlterConfigs',
    0,
    1,
    incrementalAlterConfigs.encodeIncrementalAlterConfigsRequest,
    incrementalAlterConfigs.decodeIncrementalAlterConfigsResponse,
  ),
  DescribeCluster: spec(
    ApiKey.DescribeCluster,
    'DescribeCluster',
    0,
    1,
    describeCluster.encodeDescribeClusterRequest,
    describeCluster.decodeDescribeClusterResponse,
  ),
} as const;

/** Every API the client can use, for `cluster info --api-versions`. */
export const CLIENT_APIS: ReadonlyArray<ApiSpec<unknown, unknown>> = Object.values(Api) as ReadonlyArray<ApiSpec<unknown, unknown>>;
