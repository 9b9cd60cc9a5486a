/**
 * Administrative calls, each routed where Kafka expects it: topic changes to the controller,
 * partition offsets to the partition leaders, group calls to the group's coordinator, ListGroups to
 * every broker (each knows only the groups it coordinates). Retriable failures (a moved leader or
 * coordinator, a coordinator still loading) are retried through KafkaClient.retry after the routing
 * is looked up again.
 *
 * Whole-request failures throw a KafkaError; per-item outcomes (one topic of several could not be
 * deleted) are returned with their error code so callers can report each.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { ZERO_UUID } from '../protocol/primitives/reader.js';
import { assignedPartitionsOf, subscribedTopicsOf, type AssignedPartitions } from '../coordinator/group/consumer-protocol.js';
import { Api } from './apis.js';
import { isCoordinatorError, type BrokerMetadata, type KafkaClient } from './client.js';
import type { Connection } from './connection.js';
import { KafkaError } from './errors.js';
import { byTopicPartition } from '../util/topic-partition-order.js';

// ---------------------------------------------------------------------------------------------
// Partition offsets

/** ListOffsets' special timestamps. */
export const OffsetSpec = { latest: -1n, earliest: -2n, maxTimestamp: -3n } as const;

export interface OffsetQuery {
  topic: string;
  partition: number;
  /** A timestamp in ms, or one of OffsetSpec. */
  timestamp: bigint;
}

export interface ListedOffset {
  /** -1 when no record has a timestamp at or after the one asked for. */
  offset: bigint;
  timestamp: bigint;
}

export class ListedOffsets {
  private readonly entries = new Map<string, ListedOffset>();

  static keyOf(topic: string, partition: number, timestamp: bigint): string {
    return `${timestamp}:${partition}:${topic}`;
  }

  set(query: OffsetQuery, value: ListedOffset): void {
    this.entries.set(ListedOffsets.keyOf(query.topic, query.partition, query.timestamp), value);
  }

  get(topic: string, partition: number, timestamp: bigint): ListedOffset | undefined {
    return this.entries.get(ListedOffsets.keyOf(topic, partition, timestamp));
  }
}

/**
 * Offsets of partitions by timestamp (or earliest/latest/max timestamp), asked of each partition's
 * leader. One request may not name a partition twice, so each distinct timestamp is its own round.
 */
export async function listOffsets(client: KafkaClient, queries: OffsetQuery[]): Promise<ListedOffsets> {
  const result = new ListedOffsets();
  const byTimestamp = new Map<bigint, OffsetQuery[]>();
  for (const query of queries) byTimestamp.set(query.timestamp, [...(byTimestamp.get(query.timestamp) ?? []), query]);
  await Promise.all(
    [...byTimestamp.values()].map((group) =>
      client.retry(
        'listing partition offsets',
        async () => {
          const byLeader = new Map<number, OffsetQuery[]>();
          for (const query of group) {
            const leader = await client.leaderOf(query.topic, query.partition);
            byLeader.set(leader, [...(byLeader.get(leader) ?? []), query]);
          }
          await Promise.all([...byLeader].map(([leader, list]) => listOffsetsAt(client, leader, list, result)));
        },
        () => group.forEach((query) => client.invalidateTopic(query.topic)),
      ),
    ),
  );
  return result;
}

async function listOffsetsAt(client: KafkaClient, leader: number, queries: OffsetQuery[], result: ListedOffsets): Promise<void> {
  const connection = await client.brokerConnection(leader);
  const topics = groupByTopic(queries);
  const { response } = await connection.request(Api.ListOffsets, () => ({
    replicaId: -1,
    isolationLevel: 0,
    topics: [...topics].map(([name, list]) => ({
      name,
      partitions: list.map((query) => ({ partitionIndex: query.partition, timestamp: query.timestamp })),
    })),
  }));
  for (const topic of response.topics) {
    for (const partition of topic.partitions) {
      const query = topics.get(topic.name)?.find((q) => q.partition === partition.partitionIndex);
      if (query === undefined) continue;
      if (partition.errorCode !== ErrorCode.NONE) {
        throw new KafkaError(partition.errorCode, `listing offsets of '${topic.name}' partition ${partition.partitionIndex}`);
      }
      result.set(query, { offset: partition.offset, timestamp: partition.timestamp });
    }
  }
  for (const query of queries) {
    if (result.get(query.topic, query.partition, query.timestamp) === undefined) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `listing offsets of '${query.topic}' partition ${query.partition}`);
    }
  }
}

function groupByTopic<T extends { topic: string }>(items: T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(item.topic, [...(map.get(item.topic) ?? []), item]);
  return map;
}

// ---------------------------------------------------------------------------------------------
// Topics

export interface NewTopic {
  name: string;
  /** -1: the broker's default (num.partitions), CreateTopics v4+. */
  partitions: number;
  /** -1: the broker's default (default.replication.factor), CreateTopics v4+. */
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface CreatedTopic {
  name: string;
  errorCode: number;
  errorMessage: string | null;
  topicId: string;
  /** -1 when the broker does not say (CreateTopics < v5). */
  partitions: number;
  replicationFactor: number;
}

/** CreateTopics at the controller; per-topic outcomes. */
export async function createTopics(client: KafkaClient, topics: NewTopic[], options: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<CreatedTopic[]> {
  return controllerCall(client, 'creating topics', async (connection) => {
    const { response } = await connection.request(Api.CreateTopics, (version) => ({
      topics: topics.map((topic) => ({
        name: topic.name,
        numPartitions: version < 4 && topic.partitions < 0 ? 1 : topic.partitions,
        replicationFactor: version < 4 && topic.replicationFactor < 0 ? 1 : topic.replicationFactor,
        assignments: [],
        configs: Object.entries(topic.configs).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: options.timeoutMs ?? client.requestTimeoutMs,
      validateOnly: options.validateOnly ?? false,
    }));
    return response.topics.map((topic) => ({
      name: topic.name,
      errorCode: topic.errorCode,
      errorMessage: topic.errorMessage,
      topicId: topic.topicId,
      partitions: topic.numPartitions,
      replicationFactor: topic.replicationFactor,
    }));
  });
}

export interface TopicOutcome {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

/** DeleteTopics at the controller; per-topic outcomes. */
export async function deleteTopics(client: KafkaClient, names: string[], options: { timeoutMs?: number } = {}): Promise<TopicOutcome[]> {
  return controllerCall(client, 'deleting topics', async (connection) => {
    const { response } = await connection.request(Api.DeleteTopics, (version) => ({
      ...(version >= 6 ? { topics: names.map((name) => ({ name, topicId: ZERO_UUID })) } : { topicNames: names }),
      timeoutMs: options.timeoutMs ?? client.requestTimeoutMs,
    }));
    return response.responses.map((topic) => ({ name: topic.name ?? '', errorCode: topic.errorCode, errorMessage: topic.errorMessage }));
  });
}

/** CreatePartitions at the controller: grows each topic to `count` partitions in total. */
export async function createPartitions(
  client: KafkaClient,
  topics: Array<{ name: string; count: number }>,
  options: { validateOnly?: boolean; timeoutMs?: number } = {},
): Promise<TopicOutcome[]> {
  return controllerCall(client, 'adding partitions', async (connection) => {
    const { response } = await connection.request(Api.CreatePartitions, () => ({
      topics: topics.map((topic) => ({ name: topic.name, count: topic.count, assignments: null })),
      timeoutMs: options.timeoutMs ?? client.requestTimeoutMs,
      validateOnly: options.validateOnly ?? false,
    }));
    return response.results.map((result) => ({ name: result.name, errorCode: result.errorCode, errorMessage: result.errorMessage }));
  });
}

/** Runs a call at the controller, retrying at the new one when the controller moved. */
async function controllerCall<T>(client: KafkaClient, what: string, call: (connection: Connection) => Promise<T>): Promise<T> {
  return client.retry(what, async () => call(await client.controllerConnection()), () => void client.refreshMetadata([]).catch(() => undefined));
}

/** Kafka's ConfigSource values, by name (DescribeConfigs v1+). */
export const CONFIG_SOURCE_NAMES: Readonly<Record<number, string>> = {
  0: 'UNKNOWN',
  1: 'DYNAMIC_TOPIC_CONFIG',
  2: 'DYNAMIC_BROKER_CONFIG',
  3: 'DYNAMIC_DEFAULT_BROKER_CONFIG',
  4: 'STATIC_BROKER_CONFIG',
  5: 'DEFAULT_CONFIG',
  6: 'DYNAMIC_BROKER_LOGGER_CONFIG',
  7: 'CLIENT_METRICS_CONFIG',
  8: 'GROUP_CONFIG',
};

export const ConfigResourceType = { topic: 2, broker: 4 } as const;

export interface ConfigEntry {
  name: string;
  value: string | null;
  /** A ConfigSource value; DEFAULT_CONFIG (5) for values nobody set. */
  source: number;
  isDefault: boolean;
  readOnly: boolean;
  isSensitive: boolean;
}

/** The configs of a topic (every one, with sources), from any broker. */
export async function describeTopicConfigs(client: KafkaClient, topic: string): Promise<ConfigEntry[]> {
  return client.retry(`describing the configs of '${topic}'`, async () => {
    const connection = await client.anyConnection();
    const { response, version } = await connection.request(Api.DescribeConfigs, () => ({
      resources: [{ resourceType: ConfigResourceType.topic, resourceName: topic, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    }));
    const result = response.results[0];
    if (result === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `describing the configs of '${topic}'`, 'empty response');
    if (result.errorCode !== ErrorCode.NONE) throw new KafkaError(result.errorCode, `describing the configs of '${topic}'`, result.errorMessage);
    return result.configs.map((config) => ({
      name: config.name,
      value: config.value,
      // v0 has no source, only isDefault.
      source: version >= 1 ? config.configSource : config.isDefault ? 5 : 1,
      isDefault: version >= 1 ? config.configSource === 5 : config.isDefault,
      readOnly: config.readOnly,
      isSensitive: config.isSensitive,
    }));
  });
}

export type ConfigOperation = 'set' | 'delete' | 'append' | 'subtract';
const CONFIG_OPERATION_IDS: Record<ConfigOperation, number> = { set: 0, delete: 1, append: 2, subtract: 3 };

/** IncrementalAlterConfigs of one topic, at the controller. */
export async function alterTopicConfigs(
  client: KafkaClient,
  topic: string,
  changes: Array<{ name: string; operation: ConfigOperation; value: string | null }>,
  options: { validateOnly?: boolean } = {},
): Promise<void> {
  await controllerCall(client, `altering the configs of '${topic}'`, async (connection) => {
    const { response } = await connection.request(Api.IncrementalAlterConfigs, () => ({
      resources: [
        {
          resourceType: ConfigResourceType.topic,
          resourceName: topic,
          configs: changes.map((change) => ({ name: change.name, configOperation: CONFIG_OPERATION_IDS[change.operation], value: change.value })),
        },
      ],
      validateOnly: options.validateOnly ?? false,
    }));
    const result = response.responses[0];
    if (result !== undefined && result.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(result.errorCode, `altering the configs of '${topic}'`, result.errorMessage);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Cluster

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerMetadata[];
}

/** DescribeCluster when the broker has it (Kafka 2.8+), else the same facts from Metadata. */
export async function describeCluster(client: KafkaClient): Promise<ClusterDescription> {
  return client.retry('describing the cluster', async () => {
    const connection = await client.anyConnection();
    if (connection.supports(Api.DescribeCluster)) {
      const { response } = await connection.request(Api.DescribeCluster, () => ({ includeClusterAuthorizedOperations: false }));
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, 'describing the cluster', response.errorMessage);
      return {
        clusterId: response.clusterId,
        controllerId: response.controllerId,
        brokers: response.brokers
          .map((broker) => ({ nodeId: broker.brokerId, host: broker.host, port: broker.port, rack: broker.rack }))
          .sort((a, b) => a.nodeId - b.nodeId),
      };
    }
    const metadata = await client.refreshMetadata([]);
    return { clusterId: metadata.clusterId, controllerId: metadata.controllerId, brokers: [...metadata.brokers.values()].sort((a, b) => a.nodeId - b.nodeId) };
  });
}

// ---------------------------------------------------------------------------------------------
// Consumer groups

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  /** Empty when the broker does not report states (ListGroups < v4). */
  state: string;
  /** "classic" or "consumer" (KIP-848); empty before ListGroups v5. */
  type: string;
  coordinatorId: number;
}

/** Every group of the cluster: ListGroups asked of every broker. */
export async function listGroups(client: KafkaClient): Promise<ListedGroup[]> {
  const metadata = await client.refreshMetadata([]);
  const lists = await Promise.all(
    [...metadata.brokers.keys()].map((nodeId) =>
      client.retry(`listing the groups of broker ${nodeId}`, async () => {
        const connection = await client.brokerConnection(nodeId);
        const { response } = await connection.request(Api.ListGroups, () => ({}));
        if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `listing the groups of broker ${nodeId}`);
        return response.groups.map((group) => ({
          groupId: group.groupId,
          protocolType: group.protocolType,
          state: group.groupState,
          type: group.groupType,
          coordinatorId: nodeId,
        }));
      }),
    ),
  );
  return lists.flat().sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Topics of the member's subscription (consumer protocol), null when not readable. */
  subscription: string[] | null;
  /** Partitions assigned to the member (consumer protocol), null when not readable. */
  assignment: AssignedPartitions[] | null;
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable, Dead (a group that does not exist). */
  state: string;
  protocolType: string;
  /** The chosen assignor (range, roundrobin, ...) for consumer groups. */
  protocol: string;
  members: GroupMemberDescription[];
  coordinator: BrokerMetadata;
}

/** DescribeGroups at the group's coordinator. */
export async function describeGroup(client: KafkaClient, groupId: string): Promise<GroupDescription> {
  return coordinatorCall(client, groupId, `describing group '${groupId}'`, async (connection, coordinator) => {
    const { response } = await connection.request(Api.DescribeGroups, () => ({ groups: [groupId], includeAuthorizedOperations: false }));
    const group = response.groups[0];
    if (group === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `describing group '${groupId}'`, 'empty response');
    if (group.errorCode !== ErrorCode.NONE) throw new KafkaError(group.errorCode, `describing group '${groupId}'`);
    const consumer = group.protocolType === 'consumer';
    return {
      groupId: group.groupId,
      errorCode: group.errorCode,
      state: group.groupState,
      protocolType: group.protocolType,
      protocol: group.protocolData,
      coordinator,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        subscription: consumer ? subscribedTopicsOf(member.memberMetadata) : null,
        assignment: consumer ? assignedPartitionsOf(member.memberAssignment) : null,
      })),
    };
  });
}

/** DeleteGroups, each group at its coordinator; per-group outcomes. */
export async function deleteGroups(client: KafkaClient, groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
  return Promise.all(
    groupIds.map((groupId) =>
      coordinatorCall(client, groupId, `deleting group '${groupId}'`, async (connection) => {
        const { response } = await connection.request(Api.DeleteGroups, () => ({ groupsNames: [groupId] }));
        const result = response.results.find((r) => r.groupId === groupId);
        const errorCode = result?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        // Let the retry loop find the coordinator again.
        if (isCoordinatorError(errorCode) || errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) throw new KafkaError(errorCode, `deleting group '${groupId}'`);
        return { groupId, errorCode };
      }),
    ),
  );
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** -1 when the group has no committed offset for the partition. */
  offset: bigint;
  metadata: string | null;
}

/**
 * OffsetFetch at the coordinator: the group's committed offsets of `topics` (null: every partition
 * with a commit). Partitions without a commit come back with offset -1.
 */
export async function fetchCommittedOffsets(
  client: KafkaClient,
  groupId: string,
  topics: Array<{ topic: string; partitions: number[] }> | null,
): Promise<CommittedOffset[]> {
  return coordinatorCall(client, groupId, `fetching the committed offsets of group '${groupId}'`, async (connection) => {
    const requested = topics === null ? null : topics.map((topic) => ({ name: topic.topic, partitionIndexes: topic.partitions }));
    const { response, version } = await connection.request(Api.OffsetFetch, (version) =>
      version >= 8 ? { groups: [{ groupId, topics: requested }], requireStable: false } : { groupId, topics: requested, requireStable: false },
    );
    const context = `fetching the committed offsets of group '${groupId}'`;
    let answerTopics: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: bigint; metadata: string | null; errorCode: number }> }>;
    if (version >= 8) {
      const group = response.groups[0];
      if (group === undefined) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, context, 'empty response');
      if (group.errorCode !== ErrorCode.NONE) throw new KafkaError(group.errorCode, context);
      answerTopics = group.topics;
    } else {
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, context);
      answerTopics = response.topics;
    }
    const offsets: CommittedOffset[] = [];
    for (const topic of answerTopics) {
      for (const partition of topic.partitions) {
        if (partition.errorCode !== ErrorCode.NONE) throw new KafkaError(partition.errorCode, `${context} ('${topic.name}' partition ${partition.partitionIndex})`);
        offsets.push({ topic: topic.name, partition: partition.partitionIndex, offset: partition.committedOffset, metadata: partition.metadata });
      }
    }
    return offsets.sort(byTopicPartition);
  });
}

export interface MemberIdentity {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

/**
 * OffsetCommit at the coordinator. Without `member` the commit is a simple (member-less) one, as
 * offset resets and standalone consumers make: the broker accepts it only while the group has no
 * active members. Throws the first partition error.
 */
export async function commitOffsets(
  client: KafkaClient,
  groupId: string,
  offsets: Array<{ topic: string; partition: number; offset: bigint; metadata?: string | null }>,
  member?: MemberIdentity,
): Promise<void> {
  if (offsets.length === 0) return;
  const context = `committing offsets of group '${groupId}'`;
  await coordinatorCall(client, groupId, context, async (connection) => {
    const { response } = await connection.request(Api.OffsetCommit, () => ({
      groupId,
      generationIdOrMemberEpoch: member?.generationId ?? -1,
      memberId: member?.memberId ?? '',
      groupInstanceId: member?.groupInstanceId ?? null,
      retentionTimeMs: -1n,
      topics: [...groupByTopic(offsets)].map(([name, list]) => ({
        name,
        partitions: list.map((entry) => ({ partitionIndex: entry.partition, committedOffset: entry.offset, committedLeaderEpoch: -1, committedMetadata: entry.metadata ?? null })),
      })),
    }));
    for (const topic of response.topics) {
      for (const partition of topic.partitions) {
        if (partition.errorCode !== ErrorCode.NONE) throw new KafkaError(partition.errorCode, `${context} ('${topic.name}' partition ${partition.partitionIndex})`);
      }
    }
  });
}

/** Runs a call at the group's coordinator, finding it again when it moved. */
async function coordinatorCall<T>(
  client: KafkaClient,
  groupId: string,
  what: string,
  call: (connection: Connection, coordinator: BrokerMetadata) => Promise<T>,
): Promise<T> {
  return client.retry(
    what,
    async () => {
      const coordinator = await client.coordinatorOf(groupId);
      return call(await client.coordinatorConnection(groupId), coordinator);
    },
    () => client.invalidateCoordinator(groupId),
  );
}
