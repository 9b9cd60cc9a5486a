/**
 * A member of a classic consumer group (JoinGroup / SyncGroup / Heartbeat / LeaveGroup, protocol
 * type "consumer"), with the "range" assignor when it is elected leader.
 *
 * The member joins, and when it is the leader computes every member's partitions from their
 * subscriptions; SyncGroup hands each member its share. Heartbeats run on a timer on a connection of
 * their own; when one reports a rebalance (or that the member was removed) `rebalanceNeeded` turns
 * true, and the owner commits what it consumed and calls `join` again, as Java's consumer does in
 * poll(). Offsets are committed with this member's generation, so a member that lost its partitions
 * in a rebalance cannot overwrite their new owner's commits.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { Writer } from '../protocol/primitives/writer.js';
import { encodeConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { encodeConsumerProtocolSubscription } from '../protocol/generated/consumer-protocol-subscription.js';
import { assignedPartitionsOf, subscribedTopicsOf, CONSUMER_PROTOCOL_TYPE } from '../coordinator/group/consumer-protocol.js';
import { Api } from './apis.js';
import { isCoordinatorError, type KafkaClient } from './client.js';
import { KafkaError, isRetriableError } from './errors.js';
import { commitOffsets, fetchCommittedOffsets, type CommittedOffset } from './admin.js';

export const RANGE_ASSIGNOR = 'range';

export interface GroupMemberOptions {
  groupId: string;
  /** Topics this member subscribes to. */
  topics: string[];
  /** The coordinator removes a member it has not heard from for this long (default 45 s, as Java). */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin during a rebalance (default 60 s). */
  rebalanceTimeoutMs?: number;
  /** Default 3 s, as Java. */
  heartbeatIntervalMs?: number;
  /** Static membership (KIP-345); null for a dynamic member. */
  groupInstanceId?: string | null;
}

/** Partitions by topic. */
export type Assignment = Map<string, number[]>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Java's RangeAssignor: per topic, consecutive ranges to the subscribed members in member id order. */
export function rangeAssign(
  members: Array<{ memberId: string; topics: string[] }>,
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, Assignment> {
  const result = new Map<string, Assignment>(members.map((member) => [member.memberId, new Map()]));
  const topics = [...new Set(members.flatMap((member) => member.topics))].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic) ?? 0;
    const subscribers = members
      .filter((member) => member.topics.includes(topic))
      .map((member) => member.memberId)
      .sort();
    if (count === 0 || subscribers.length === 0) continue;
    const each = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    subscribers.forEach((memberId, i) => {
      const start = each * i + Math.min(i, extra);
      const length = each + (i < extra ? 1 : 0);
      if (length === 0) return;
      result.get(memberId)!.set(topic, Array.from({ length }, (_, k) => start + k));
    });
  }
  return result;
}

/** ConsumerProtocolSubscription v0 bytes (int16 version, then the body). */
export function encodeSubscription(topics: string[]): Buffer {
  const w = new Writer(64);
  w.int16(0);
  encodeConsumerProtocolSubscription(w, 0, { topics, userData: null });
  return w.toBuffer();
}

/** ConsumerProtocolAssignment v0 bytes. */
export function encodeAssignment(assignment: Assignment): Buffer {
  const w = new Writer(64);
  w.int16(0);
  encodeConsumerProtocolAssignment(w, 0, {
    assignedPartitions: [...assignment].map(([topic, partitions]) => ({ topic, partitions })),
    userData: null,
  });
  return w.toBuffer();
}

export class GroupMember {
  readonly groupId: string;
  private readonly client: KafkaClient;
  private readonly topics: string[];
  private readonly sessionTimeoutMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  private readonly groupInstanceId: string | null;
  private memberIdValue = '';
  private generation = -1;
  private leader = false;
  private rejoin = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastHeartbeatOk = Date.now();
  private assignmentValue: Assignment = new Map();

  constructor(client: KafkaClient, options: GroupMemberOptions) {
    this.client = client;
    this.groupId = options.groupId;
    this.topics = [...options.topics];
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 45_000;
    this.rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 60_000;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 3000;
    this.groupInstanceId = options.groupInstanceId ?? null;
  }

  get memberId(): string {
    return this.memberIdValue;
  }

  get generationId(): number {
    return this.generation;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get assignment(): Assignment {
    return this.assignmentValue;
  }

  /** True once a heartbeat learnt of a rebalance: commit, then call `join` again. */
  get rebalanceNeeded(): boolean {
    return this.rejoin;
  }

  /**
   * Joins (or rejoins) the group and resolves with this member's partitions. Retries the
   * protocol's transient answers (MEMBER_ID_REQUIRED, a rebalance restarting, a moved coordinator)
   * a bounded number of times.
   */
  async join(): Promise<Assignment> {
    this.stopHeartbeats();
    let backoff = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        const assignment = await this.joinOnce();
        if (assignment !== null) {
          this.assignmentValue = assignment;
          this.rejoin = false;
          this.startHeartbeats();
          return assignment;
        }
        // null: the protocol asked to try again at once (new member id, rebalance restarted).
        if (attempt > 20) throw new KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, `joining group '${this.groupId}'`, 'the group kept rebalancing');
      } catch (error) {
        if (!isRetriableError(error) || attempt > 10) throw error;
        if (error instanceof KafkaError && isCoordinatorError(error.errorCode)) this.client.invalidateCoordinator(this.groupId);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  private async joinOnce(): Promise<Assignment | null> {
    const connection = await this.client.coordinatorConnection(this.groupId, 'group');
    const context = `joining group '${this.groupId}'`;
    const { response: joined } = await connection.request(
      Api.JoinGroup,
      () => ({
        groupId: this.groupId,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: this.rebalanceTimeoutMs,
        memberId: this.memberIdValue,
        groupInstanceId: this.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocols: [{ name: RANGE_ASSIGNOR, metadata: encodeSubscription(this.topics) }],
        reason: null,
      }),
      // JoinGroup is answered when the rebalance completes, up to the rebalance timeout.
      { timeoutMs: this.rebalanceTimeoutMs + this.client.requestTimeoutMs },
    );
    switch (joined.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.MEMBER_ID_REQUIRED:
        // KIP-394: the broker assigned a member id; join again with it.
        this.memberIdValue = joined.memberId;
        return null;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberIdValue = '';
        return null;
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.ILLEGAL_GENERATION:
        return null;
      default:
        throw new KafkaError(joined.errorCode, context);
    }
    this.memberIdValue = joined.memberId;
    this.generation = joined.generationId;
    this.leader = joined.leader === joined.memberId;
    let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
    if (this.leader && !joined.skipAssignment) {
      const members = joined.members.map((member) => ({ memberId: member.memberId, topics: subscribedTopicsOf(member.metadata) ?? [] }));
      const counts = new Map<string, number>();
      for (const topic of new Set(members.flatMap((member) => member.topics))) {
        try {
          counts.set(topic, (await this.client.topicMetadata(topic, { refresh: true })).partitions.length);
        } catch (error) {
          if (!(error instanceof KafkaError) || error.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw error;
          counts.set(topic, 0);
        }
      }
      assignments = [...rangeAssign(members, counts)].map(([memberId, assignment]) => ({ memberId, assignment: encodeAssignment(assignment) }));
    }
    const { response: synced } = await connection.request(
      Api.SyncGroup,
      () => ({
        groupId: this.groupId,
        generationId: this.generation,
        memberId: this.memberIdValue,
        groupInstanceId: this.groupInstanceId,
        protocolType: CONSUMER_PROTOCOL_TYPE,
        protocolName: joined.protocolName ?? RANGE_ASSIGNOR,
        assignments,
      }),
      { timeoutMs: this.rebalanceTimeoutMs + this.client.requestTimeoutMs },
    );
    switch (synced.errorCode) {
      case ErrorCode.NONE:
        break;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberIdValue = '';
        return null;
      case ErrorCode.REBALANCE_IN_PROGRESS:
      case ErrorCode.ILLEGAL_GENERATION:
        return null;
      default:
        throw new KafkaError(synced.errorCode, `synchronising group '${this.groupId}'`);
    }
    const assigned = assignedPartitionsOf(synced.assignment);
    if (assigned === null) throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `synchronising group '${this.groupId}'`, 'the assignment does not parse');
    const assignment: Assignment = new Map();
    for (const { topic, partitions } of assigned) assignment.set(topic, [...(assignment.get(topic) ?? []), ...partitions].sort((a, b) => a - b));
    return assignment;
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.lastHeartbeatOk = Date.now();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async heartbeat(): Promise<void> {
    try {
      const connection = await this.client.coordinatorConnection(this.groupId, 'group');
      const { response } = await connection.request(Api.Heartbeat, () => ({
        groupId: this.groupId,
        generationId: this.generation,
        memberId: this.memberIdValue,
        groupInstanceId: this.groupInstanceId,
      }));
      switch (response.errorCode) {
        case ErrorCode.NONE:
          this.lastHeartbeatOk = Date.now();
          return;
        case ErrorCode.UNKNOWN_MEMBER_ID:
          this.memberIdValue = '';
          this.rejoin = true;
          return;
        case ErrorCode.REBALANCE_IN_PROGRESS:
        case ErrorCode.ILLEGAL_GENERATION:
        case ErrorCode.FENCED_INSTANCE_ID:
          this.rejoin = true;
          return;
        default:
          if (isCoordinatorError(response.errorCode)) this.client.invalidateCoordinator(this.groupId);
      }
    } catch {
      // A lost connection: the next heartbeat tries again. Past the session timeout the
      // coordinator has removed this member anyway, so rejoin.
    }
    if (Date.now() - this.lastHeartbeatOk > this.sessionTimeoutMs) this.rejoin = true;
  }

  /** The group's committed offsets of this member's assigned partitions (-1: none). */
  committedOffsets(assignment: Assignment = this.assignmentValue): Promise<CommittedOffset[]> {
    return fetchCommittedOffsets(
      this.client,
      this.groupId,
      [...assignment].map(([topic, partitions]) => ({ topic, partitions })),
    );
  }

  /**
   * Commits offsets in this member's generation. A commit refused because the group moved on
   * (a rebalance, the member removed) flags a rejoin and rethrows.
   */
  async commit(offsets: Array<{ topic: string; partition: number; offset: bigint }>): Promise<void> {
    try {
      await commitOffsets(this.client, this.groupId, offsets, {
        generationId: this.generation,
        memberId: this.memberIdValue,
        groupInstanceId: this.groupInstanceId,
      });
    } catch (error) {
      if (
        error instanceof KafkaError &&
        (error.errorCode === ErrorCode.REBALANCE_IN_PROGRESS ||
          error.errorCode === ErrorCode.ILLEGAL_GENERATION ||
          error.errorCode === ErrorCode.UNKNOWN_MEMBER_ID)
      ) {
        this.rejoin = true;
      }
      throw error;
    }
  }

  /** Leaves the group (so its partitions move at once, not after the session timeout). */
  async leave(): Promise<void> {
    this.stopHeartbeats();
    if (this.memberIdValue === '') return;
    try {
      const connection = await this.client.coordinatorConnection(this.groupId, 'group');
      await connection.request(Api.LeaveGroup, (version) =>
        version >= 3
          ? { groupId: this.groupId, members: [{ memberId: this.memberIdValue, groupInstanceId: this.groupInstanceId, reason: 'the consumer is closing' }] }
          : { groupId: this.groupId, memberId: this.memberIdValue },
      );
    } finally {
      this.memberIdValue = '';
      this.generation = -1;
    }
  }
}
