/**
 * The group coordinator: every consumer group of this broker, their committed offsets, and their
 * persistence in `__consumer_offsets`. Follows Kafka's GroupCoordinator and GroupMetadataManager;
 * the per-group state machine is in classic-group.ts, the log in offsets-topic.ts.
 *
 * Lifetime: `start()` replays `__consumer_offsets` (requests meanwhile get
 * COORDINATOR_LOAD_IN_PROGRESS); broker shutdown (the `shutdown` signal) unloads every group,
 * answering waiting JoinGroup/SyncGroup requests with NOT_COORDINATOR and stopping all timers;
 * `close()` then waits for the writes still in flight.
 *
 * Persistence, as Kafka does it:
 * - An offset commit is acknowledged only after its records are durably written (fsynced), and is
 *   visible to OffsetFetch from then on.
 * - The group's metadata (protocol type and name, generation, leader, and every member with its
 *   subscription and assignment: GroupMetadataValue v3) is written after each completed rebalance,
 *   when the group becomes Empty, and when a static member is replaced. After a restart a group
 *   therefore comes back Stable with its members, whose sessions restart: members that reconnect
 *   and heartbeat keep their generation and assignment without a rebalance; the others expire after
 *   their session timeout and the group rebalances without them.
 * - Deleting a group, deleting offsets (OffsetDelete) and expiring offsets write tombstones.
 * - Offsets expire (checked every `offsetsRetentionCheckIntervalMs`) `offsets.retention.minutes`
 *   after the group became Empty; for Stable consumer groups, offsets of topics no member subscribes
 *   to expire that long after their commit; for simple groups, that long after their commit
 *   (KIP-211). An Empty group left without offsets is deleted (Dead).
 */
import type { Cluster } from '../../cluster/cluster.js';
import type { BrokerConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { systemClock, type Clock } from './clock.js';
import { CONSUMER_PROTOCOL_TYPE, assignedPartitionsOf } from './consumer-protocol.js';
import {
  ClassicGroup,
  joinError,
  syncError,
  type GroupEnvironment,
  type GroupState,
  type GroupSummary,
  type JoinGroupParams,
  type JoinGroupResult,
  type LeavingMember,
  type SyncGroupParams,
  type SyncGroupResult,
} from './classic-group.js';
import {
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  decodeOffsetsTopicKey,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type GroupMetadataValue,
} from './offsets-records.js';
import type { CommittedOffset, TopicPartitionRef } from './offset-store.js';
import { OffsetsTopic, type OffsetsRecord } from './offsets-topic.js';
import { byTopicPartition } from '../../util/topic-partition-order.js';

/** Kafka's offset.metadata.max.bytes: longer commit metadata gets OFFSET_METADATA_TOO_LARGE. */
export const OFFSET_METADATA_MAX_BYTES = 4096;

/** What ListGroups v5+ calls the groups of this (classic) protocol. */
export const CLASSIC_GROUP_TYPE = 'classic';

export interface GroupCoordinatorConfig {
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms */
  maxSessionTimeoutMs: number;
  /** offsets.retention.minutes, in ms */
  offsetsRetentionMs: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** offsets.topic.num.partitions */
  offsetsTopicPartitions: number;
}

export function groupCoordinatorConfig(config: BrokerConfig): GroupCoordinatorConfig {
  return {
    initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
    minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
    maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
    offsetsRetentionMs: config.offsetsRetentionMinutes * 60_000,
    offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
    offsetsTopicPartitions: config.offsetsTopicPartitions,
  };
}

export interface GroupCoordinatorOptions {
  cluster: Cluster;
  logger: Logger;
  config: GroupCoordinatorConfig;
  clock?: Clock;
  /** Aborted when the broker begins shutting down: groups are unloaded at once. */
  shutdown?: AbortSignal;
}

export interface OffsetCommitEntry {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  /** OffsetCommit v1 only; -1 means "now". */
  commitTimestamp: bigint;
}

export interface OffsetCommitParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** OffsetCommit v2-v4; -1 for the broker's retention. */
  retentionTimeMs: bigint;
  offsets: readonly OffsetCommitEntry[];
}

export interface FetchedOffset {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: FetchedOffset[] }>;
}

export interface GroupOverview {
  groupId: string;
  /** '' for simple groups (offsets only), as Kafka. */
  protocolType: string;
  state: GroupState;
  groupType: string;
}

export interface DescribedGroup extends GroupSummary {
  errorCode: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** null when the group has no committed offset for the partition. */
  committedOffset: bigint | null;
  /** null when the partition no longer exists. */
  logEndOffset: bigint | null;
  /** logEndOffset - committedOffset (never negative); null when either is unknown. */
  lag: bigint | null;
  /** The member the partition is assigned to, when the group is Stable and uses the consumer protocol. */
  memberId: string | null;
  groupInstanceId: string | null;
  clientId: string | null;
  clientHost: string | null;
}

export interface GroupLag {
  groupId: string;
  state: GroupState;
  partitions: PartitionLag[];
  /** Sum of the known lags. */
  totalLag: bigint;
}

type CoordinatorStatus = 'loading' | 'active' | 'stopped';

/** A group's state while `__consumer_offsets` is replayed. */
interface LoadedGroup {
  group: GroupMetadataValue | null;
  /** By `${partition}:${topic}`; value null after a tombstone. */
  offsets: Map<string, { topic: string; partition: number; value: CommittedOffset | null; recordOffset: bigint }>;
}

const NO_OFFSET: Omit<FetchedOffset, 'partition'> = { offset: -1n, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };

export class GroupCoordinator {
  private readonly cluster: Cluster;
  private readonly logger: Logger;
  private readonly config: GroupCoordinatorConfig;
  private readonly clock: Clock;
  private readonly offsetsTopic: OffsetsTopic;
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly env: GroupEnvironment;
  private status: CoordinatorStatus = 'loading';
  private expiryTimer: NodeJS.Timeout | null = null;
  /** Writes not yet settled, awaited by close(). */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: GroupCoordinatorOptions) {
    this.cluster = options.cluster;
    this.logger = options.logger.child({ component: 'group-coordinator' });
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.offsetsTopic = new OffsetsTopic(this.cluster, this.config.offsetsTopicPartitions, this.logger);
    this.env = {
      clock: this.clock,
      logger: this.logger,
      initialRebalanceDelayMs: this.config.initialRebalanceDelayMs,
      storeGroup: (group, assignment) => this.storeGroup(group, assignment),
    };
    options.shutdown?.addEventListener('abort', () => this.stop(), { once: true });
  }

  // -------------------------------------------------------------------------------------------
  // Lifetime

  /** Loads every group and committed offset from `__consumer_offsets`, then starts serving. */
  async start(): Promise<void> {
    const started = this.clock.now();
    // Last record per key wins; a null value (tombstone) deletes.
    const loaded = new Map<string, LoadedGroup>();
    const entry = (groupId: string): LoadedGroup => {
      let state = loaded.get(groupId);
      if (state === undefined) {
        state = { group: null, offsets: new Map() };
        loaded.set(groupId, state);
      }
      return state;
    };
    let records = 0;
    await this.offsetsTopic.replay(({ partition, offset, key, value }) => {
      records++;
      if (key === null) return;
      try {
        const decoded = decodeOffsetsTopicKey(key);
        if (decoded === null) return;
        if (decoded.kind === 'offset') {
          const committed = value === null ? null : decodeOffsetCommitValue(value);
          entry(decoded.group).offsets.set(`${decoded.partition}:${decoded.topic}`, {
            topic: decoded.topic,
            partition: decoded.partition,
            value: committed === null ? null : toCommittedOffset(committed),
            recordOffset: offset,
          });
        } else {
          entry(decoded.group).group = value === null ? null : decodeGroupMetadataValue(value);
        }
      } catch (error) {
        this.logger.warn({ err: error, partition, offset }, 'skipping an unreadable __consumer_offsets record');
      }
    });
    for (const [groupId, state] of loaded) {
      const offsets = [...state.offsets.values()].filter((o) => o.value !== null);
      if (state.group === null && offsets.length === 0) continue;
      const group = state.group === null ? new ClassicGroup(groupId, this.env) : ClassicGroup.fromRecord(groupId, state.group, this.env);
      for (const { topic, partition, value, recordOffset } of offsets) group.offsets.load(topic, partition, value!, recordOffset);
      this.groups.set(groupId, group);
      group.onLoaded();
    }
    if (this.status === 'stopped') return;
    this.status = 'active';
    this.expiryTimer = setInterval(() => {
      this.expireOffsets().catch((error: unknown) => this.logger.error({ err: error }, 'offset expiry failed'));
    }, this.config.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
    this.logger.info({ groups: this.groups.size, records, ms: this.clock.now() - started }, 'group coordinator loaded');
  }

  /** Stops serving: waiting requests are answered NOT_COORDINATOR, timers stop. Idempotent. */
  private stop(): void {
    if (this.status === 'stopped') return;
    this.status = 'stopped';
    if (this.expiryTimer !== null) clearInterval(this.expiryTimer);
    this.expiryTimer = null;
    for (const group of this.groups.values()) group.unload();
  }

  /** Stops serving and waits for the writes still in flight. */
  async close(): Promise<void> {
    this.stop();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(write: Promise<T>): Promise<T> {
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write)).catch(() => undefined);
    return write;
  }

  /**
   * Errors that stop any group request before it reaches the group, as Kafka's validateGroupStatus:
   * an empty group id where the API needs a real group, a stopped or still-loading coordinator.
   */
  private groupStatus(groupId: string, allowEmptyId: boolean): number {
    if (!allowEmptyId && groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (this.status === 'stopped') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.status === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /**
   * Ensures `__consumer_offsets` exists (FindCoordinator creates it, as in Kafka). While loading this
   * broker is still the coordinator: the group requests themselves answer COORDINATOR_LOAD_IN_PROGRESS.
   */
  async ensureOffsetsTopic(): Promise<number> {
    if (this.status === 'stopped') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    try {
      await this.offsetsTopic.ensure();
      return ErrorCode.NONE;
    } catch (error) {
      this.logger.error({ err: error }, 'cannot create the group offsets topic');
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Membership: JoinGroup, SyncGroup, Heartbeat, LeaveGroup

  joinGroup(groupId: string, params: JoinGroupParams): Promise<JoinGroupResult> {
    const status = this.groupStatus(groupId, false);
    if (status !== ErrorCode.NONE) return Promise.resolve(joinError(params.memberId, status));
    if (params.sessionTimeoutMs < this.config.minSessionTimeoutMs || params.sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(params.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    let group = this.groups.get(groupId);
    if (group === undefined) {
      // Only a member without id may create a group; a known id for an unknown group is stale.
      if (params.memberId !== '') return Promise.resolve(joinError(params.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      group = new ClassicGroup(groupId, this.env);
      this.groups.set(groupId, group);
    }
    return group.join(params);
  }

  syncGroup(groupId: string, params: SyncGroupParams): Promise<SyncGroupResult> {
    const status = this.groupStatus(groupId, false);
    // While loading the rebalance state is lost; REBALANCE_IN_PROGRESS makes the member rejoin
    // (older clients do not expect COORDINATOR_LOAD_IN_PROGRESS here).
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    if (status !== ErrorCode.NONE) return Promise.resolve(syncError(status));
    const group = this.groups.get(groupId);
    if (group === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    return group.sync(params);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const status = this.groupStatus(groupId, false);
    // Kafka answers heartbeats blindly while loading.
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.NONE;
    if (status !== ErrorCode.NONE) return status;
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    return group.heartbeat(memberId, groupInstanceId, generationId);
  }

  leaveGroup(groupId: string, members: readonly LeavingMember[]): { errorCode: number; memberErrors: number[] } {
    const status = this.groupStatus(groupId, false);
    if (status !== ErrorCode.NONE) return { errorCode: status, memberErrors: [] };
    const group = this.groups.get(groupId);
    if (group === undefined) return { errorCode: ErrorCode.NONE, memberErrors: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) };
    if (group.state === 'Dead') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, memberErrors: [] };
    return { errorCode: ErrorCode.NONE, memberErrors: group.leave(members) };
  }

  private storeGroup(group: ClassicGroup, assignment: ReadonlyMap<string, Buffer>): Promise<number> {
    const record: OffsetsRecord = { key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(group.toRecord(assignment)) };
    return this.track(this.offsetsTopic.append(group.groupId, [record]).then((outcome) => outcome.errorCode));
  }

  // -------------------------------------------------------------------------------------------
  // Offsets: OffsetCommit, OffsetFetch, OffsetDelete

  /** Commits offsets; resolves with an error code per entry of `params.offsets`, in order. */
  async commitOffsets(params: OffsetCommitParams): Promise<number[]> {
    const { groupId, offsets } = params;
    const errors: number[] = offsets.map((entry) =>
      this.cluster.partition(entry.topic, entry.partition) === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NONE,
    );
    const fail = (code: number) => errors.map((error) => (error === ErrorCode.NONE ? code : error));
    const status = this.groupStatus(groupId, true);
    if (status !== ErrorCode.NONE) return fail(status);
    let group = this.groups.get(groupId);
    if (group === undefined) {
      // No group: a consumer managing its own partitions (generation -1) creates a simple group;
      // anything else comes from a generation that no longer exists.
      if (params.generationId >= 0) return fail(ErrorCode.ILLEGAL_GENERATION);
      group = new ClassicGroup(groupId, this.env);
      this.groups.set(groupId, group);
      this.logger.info({ group: groupId }, 'simple group created by an offset commit');
    }
    const groupError = group.checkOffsetCommit(params.generationId, params.memberId, params.groupInstanceId);
    if (groupError !== ErrorCode.NONE) return fail(groupError);

    const now = this.clock.now();
    const expireTimestamp = params.retentionTimeMs >= 0n ? now + Number(params.retentionTimeMs) : null;
    const writes: Array<{ index: number; value: CommittedOffset; record: OffsetsRecord }> = [];
    offsets.forEach((entry, index) => {
      if (errors[index] !== ErrorCode.NONE) return;
      const metadata = entry.metadata ?? '';
      if (Buffer.byteLength(metadata, 'utf8') > OFFSET_METADATA_MAX_BYTES) {
        errors[index] = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        return;
      }
      const value: CommittedOffset = {
        offset: entry.offset,
        leaderEpoch: entry.leaderEpoch,
        metadata,
        commitTimestamp: entry.commitTimestamp >= 0n ? Number(entry.commitTimestamp) : now,
        expireTimestamp,
      };
      const encoded = encodeOffsetCommitValue({
        offset: value.offset,
        leaderEpoch: value.leaderEpoch,
        metadata,
        commitTimestamp: BigInt(value.commitTimestamp),
        expireTimestamp: expireTimestamp === null ? null : BigInt(expireTimestamp),
      });
      writes.push({ index, value, record: { key: encodeOffsetCommitKey(groupId, entry.topic, entry.partition), value: encoded } });
    });
    if (writes.length === 0) return errors;

    const tickets = writes.map(({ index }) => group.offsets.beginCommit(offsets[index]!.topic, offsets[index]!.partition));
    const outcome = await this.track(this.offsetsTopic.append(groupId, writes.map((write) => write.record)));
    writes.forEach((write, i) => {
      const recordOffset = outcome.errorCode === ErrorCode.NONE && 'baseOffset' in outcome ? outcome.baseOffset + BigInt(i) : null;
      group.offsets.finishCommit(tickets[i]!, write.value, recordOffset);
      errors[write.index] = outcome.errorCode;
    });
    return errors;
  }

  /**
   * Committed offsets of a group: the requested partitions (offset -1 where nothing is committed,
   * including unknown groups and topics) or, with `topics` null, every committed partition.
   */
  fetchOffsets(groupId: string, topics: ReadonlyArray<{ name: string; partitions: readonly number[] }> | null): OffsetFetchResult {
    const status = this.groupStatus(groupId, true);
    if (status !== ErrorCode.NONE) return { errorCode: status, topics: [] };
    const store = this.groups.get(groupId)?.offsets;
    const fetched = (partition: number, committed: CommittedOffset | undefined): FetchedOffset =>
      committed === undefined
        ? { partition, ...NO_OFFSET }
        : { partition, offset: committed.offset, leaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: ErrorCode.NONE };
    if (topics === null) {
      const byTopic = new Map<string, FetchedOffset[]>();
      for (const { topic, partition, committed } of store?.entries() ?? []) {
        let list = byTopic.get(topic);
        if (list === undefined) byTopic.set(topic, (list = []));
        list.push(fetched(partition, committed));
      }
      return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map(({ name, partitions }) => ({
        name,
        partitions: partitions.map((partition) => fetched(partition, store?.get(name, partition))),
      })),
    };
  }

  /** OffsetDelete: removes committed offsets of partitions the group does not consume. */
  async deleteOffsets(
    groupId: string,
    partitions: readonly TopicPartitionRef[],
  ): Promise<{ errorCode: number; partitionErrors: Array<TopicPartitionRef & { errorCode: number }> }> {
    const status = this.groupStatus(groupId, false);
    if (status !== ErrorCode.NONE) return { errorCode: status, partitionErrors: [] };
    const group = this.groups.get(groupId);
    if (group === undefined || group.state === 'Dead') return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, partitionErrors: [] };
    const known = partitions.filter(({ topic, partition }) => this.cluster.partition(topic, partition) !== undefined);
    let eligible: TopicPartitionRef[];
    const partitionErrors: Array<TopicPartitionRef & { errorCode: number }> = [];
    if (group.state === 'Empty') {
      eligible = known;
    } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE) {
      // Offsets of topics the members consume would be committed again (or worse, missed).
      eligible = [];
      for (const tp of known) {
        if (group.isSubscribedToTopic(tp.topic)) partitionErrors.push({ ...tp, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC });
        else eligible.push(tp);
      }
    } else {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, partitionErrors: [] };
    }
    await this.cleanupGroup(group, eligible);
    for (const tp of partitions) {
      if (!known.includes(tp)) partitionErrors.push({ ...tp, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    }
    for (const tp of eligible) partitionErrors.push({ ...tp, errorCode: ErrorCode.NONE });
    return { errorCode: ErrorCode.NONE, partitionErrors };
  }

  /**
   * Removes the given offsets of a group and writes their tombstones; an Empty group left without
   * offsets (or any Empty group, for DeleteGroups) dies and gets a group tombstone too (Kafka's
   * cleanupGroupMetadata). Resolves when the
   * tombstones are written (write errors are logged: the removal already happened in memory).
   */
  private async cleanupGroup(group: ClassicGroup, partitions: readonly TopicPartitionRef[], deleteGroup = false): Promise<number> {
    const records: OffsetsRecord[] = [];
    for (const { topic, partition } of partitions) {
      if (group.offsets.remove(topic, partition)) records.push({ key: encodeOffsetCommitKey(group.groupId, topic, partition), value: null });
    }
    const removed = records.length;
    // DeleteGroups deletes an Empty group outright; otherwise it dies once nothing keeps it
    // (no offsets, no commit in flight, no member about to rejoin with a MEMBER_ID_REQUIRED id).
    const dies =
      group.state === 'Empty' &&
      (deleteGroup || (group.offsets.size === 0 && !group.offsets.hasCommitsInFlight() && group.pendingMemberCount === 0));
    if (dies) {
      if (deleteGroup) group.offsets.removeAll();
      group.markDead();
      if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
      records.push({ key: encodeGroupMetadataKey(group.groupId), value: null });
      this.logger.info({ group: group.groupId }, 'group deleted');
    }
    if (records.length > 0 && this.offsetsTopic.topic !== undefined) {
      const outcome = await this.track(this.offsetsTopic.append(group.groupId, records));
      if (outcome.errorCode !== ErrorCode.NONE) {
        this.logger.error({ group: group.groupId, errorCode: outcome.errorCode }, 'writing group tombstones failed');
      }
    }
    return removed;
  }

  /**
   * Forgets the committed offsets of deleted topics, as Kafka's handleDeletedPartitions does, so a
   * topic created again under the same name starts without them; Empty groups left without offsets
   * are deleted. Returns the number of offsets removed.
   */
  async onTopicsDeleted(topics: readonly string[]): Promise<number> {
    if (this.status !== 'active') return 0;
    const deleted = new Set(topics);
    const cleanups: Array<Promise<number>> = [];
    for (const group of [...this.groups.values()]) {
      const partitions = group.offsets
        .entries()
        .filter(({ topic }) => deleted.has(topic))
        .map(({ topic, partition }) => ({ topic, partition }));
      if (partitions.length > 0) cleanups.push(this.cleanupGroup(group, partitions));
    }
    return (await Promise.all(cleanups)).reduce((sum, n) => sum + n, 0);
  }

  /**
   * Removes expired offsets (see the class comment) and the Empty groups left without any; returns
   * the number of offsets removed. Runs every offsetsRetentionCheckIntervalMs.
   */
  async expireOffsets(): Promise<number> {
    if (this.status !== 'active') return 0;
    const now = this.clock.now();
    const retention = this.config.offsetsRetentionMs;
    const cleanups: Array<Promise<number>> = [];
    for (const group of [...this.groups.values()]) {
      let expired: TopicPartitionRef[] = [];
      if (group.protocolType !== null && group.state === 'Empty') {
        expired = group.offsets.expired(now, retention, () => group.currentStateTimestamp);
      } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.subscribedTopics !== null && group.state === 'Stable') {
        expired = group.offsets.expired(now, retention, (offset) => offset.commitTimestamp, group.subscribedTopics);
      } else if (group.protocolType === null) {
        expired = group.offsets.expired(now, retention, (offset) => offset.commitTimestamp);
      }
      cleanups.push(this.cleanupGroup(group, expired));
    }
    const removed = (await Promise.all(cleanups)).reduce((sum, n) => sum + n, 0);
    if (removed > 0) this.logger.info({ offsets: removed }, 'expired committed offsets removed');
    return removed;
  }

  // -------------------------------------------------------------------------------------------
  // Administration: DescribeGroups, ListGroups, DeleteGroups, lag

  /** DescribeGroups: unknown groups are described as Dead with no error (v0-v5). */
  describeGroups(groupIds: readonly string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const status = this.groupStatus(groupId, true);
      if (status !== ErrorCode.NONE) return { ...deadSummary(groupId), state: 'Dead', errorCode: status };
      const group = this.groups.get(groupId);
      return { ...(group?.summary() ?? deadSummary(groupId)), errorCode: ErrorCode.NONE };
    });
  }

  /** The group as DescribeGroups shows it, or null when there is no such group. */
  describeGroup(groupId: string): GroupSummary | null {
    return this.groups.get(groupId)?.summary() ?? null;
  }

  /**
   * ListGroups: every live group, optionally only those in `states` (case-insensitive) and of
   * `types` (case-insensitive; every group here is "classic").
   */
  listGroups(filter: { states?: readonly string[]; types?: readonly string[] } = {}): { errorCode: number; groups: GroupOverview[] } {
    if (this.status === 'stopped') return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set((filter.states ?? []).map((state) => state.toLowerCase()));
    const types = new Set((filter.types ?? []).map((type) => type.toLowerCase()));
    const groups: GroupOverview[] = [];
    for (const group of this.groups.values()) {
      if (group.state === 'Dead') continue;
      if (states.size > 0 && !states.has(group.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(CLASSIC_GROUP_TYPE)) continue;
      groups.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', state: group.state, groupType: CLASSIC_GROUP_TYPE });
    }
    return { errorCode: this.status === 'loading' ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  /** DeleteGroups: deletes Empty groups with their offsets; an error code per group, in order. */
  async deleteGroups(groupIds: readonly string[]): Promise<number[]> {
    const results = groupIds.map((groupId): number | Promise<number> => {
      const status = this.groupStatus(groupId, true);
      if (status !== ErrorCode.NONE) return status;
      const group = this.groups.get(groupId);
      if (group === undefined || group.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
      if (group.state !== 'Empty') return ErrorCode.NON_EMPTY_GROUP;
      const all = group.offsets.entries().map(({ topic, partition }) => ({ topic, partition }));
      return this.cleanupGroup(group, all, true).then(() => ErrorCode.NONE);
    });
    return Promise.all(results);
  }

  /**
   * Consumer lag per partition: every partition the group committed an offset for or has assigned
   * to a member, with its log end offset. For the CLI and metrics.
   */
  describeLag(groupId: string): GroupLag | null {
    const group = this.groups.get(groupId);
    if (group === undefined) return null;
    const rows = new Map<string, PartitionLag>();
    const row = (topic: string, partition: number): PartitionLag => {
      const key = `${partition}:${topic}`;
      let found = rows.get(key);
      if (found === undefined) {
        const committed = group.offsets.get(topic, partition);
        const logEndOffset = this.cluster.partition(topic, partition)?.highWatermark ?? null;
        const committedOffset = committed === undefined || committed.offset < 0n ? null : committed.offset;
        const lag = committedOffset === null || logEndOffset === null ? null : logEndOffset > committedOffset ? logEndOffset - committedOffset : 0n;
        found = { topic, partition, committedOffset, logEndOffset, lag, memberId: null, groupInstanceId: null, clientId: null, clientHost: null };
        rows.set(key, found);
      }
      return found;
    };
    for (const { topic, partition } of group.offsets.entries()) row(topic, partition);
    if (group.state === 'Stable' && group.protocolType === CONSUMER_PROTOCOL_TYPE) {
      for (const member of group.allMembers()) {
        for (const { topic, partitions } of assignedPartitionsOf(member.assignment) ?? []) {
          for (const partition of partitions) {
            Object.assign(row(topic, partition), {
              memberId: member.memberId,
              groupInstanceId: member.groupInstanceId,
              clientId: member.clientId,
              clientHost: member.clientHost,
            });
          }
        }
      }
    }
    const partitions = [...rows.values()].sort(byTopicPartition);
    const totalLag = partitions.reduce((sum, p) => sum + (p.lag ?? 0n), 0n);
    return { groupId, state: group.state, partitions, totalLag };
  }
}

function toCommittedOffset(value: ReturnType<typeof decodeOffsetCommitValue>): CommittedOffset {
  return {
    offset: value.offset,
    leaderEpoch: value.leaderEpoch,
    metadata: value.metadata,
    commitTimestamp: Number(value.commitTimestamp),
    expireTimestamp: value.expireTimestamp === null ? null : Number(value.expireTimestamp),
  };
}

function deadSummary(groupId: string): GroupSummary {
  return { groupId, state: 'Dead', protocolType: '', protocol: '', generationId: -1, leaderId: null, members: [] };
}
