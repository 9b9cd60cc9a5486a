/**
 * One consumer group under the classic rebalance protocol (JoinGroup / SyncGroup / Heartbeat /
 * LeaveGroup), following Kafka's GroupCoordinator and GroupMetadata state machine:
 *
 * ```
 * from                         to                   when
 * Empty                        PreparingRebalance   a member joins
 * PreparingRebalance           CompletingRebalance  every known member rejoined, or the rebalance
 *                                                   timeout removed the dynamic ones that did not
 * PreparingRebalance           Empty                no member is left when the join phase ends
 * CompletingRebalance          Stable               the leader's assignment is stored
 * CompletingRebalance, Stable  PreparingRebalance   a member joins, leaves, changes its metadata,
 *                                                   misses its session or SyncGroup; the leader rejoins
 * any                          Dead                 the group is deleted (Empty only) or loses its last
 *                                                   offset while Empty, or the coordinator shuts down
 * ```
 * - Empty: no members (possibly committed offsets only: a "simple" group of manually assigned
 *   consumers). PreparingRebalance: waiting for members to (re)join. CompletingRebalance: joined,
 *   waiting for the leader's assignment. Stable: assignment handed out, heartbeats keep it.
 * - JoinGroup v4+ without a member id gets MEMBER_ID_REQUIRED and a fresh id, and the member is
 *   "pending" until it rejoins with it (or its session timeout passes).
 * - The first rebalance of an Empty group waits `group.initial.rebalance.delay.ms`, extended by the
 *   same delay each time another member arrives, up to the rebalance timeout (KIP-134). Later
 *   rebalances complete as soon as every known member rejoined, or after the rebalance timeout (the
 *   largest of the members'), when dynamic members that did not rejoin are removed.
 * - A member's session expires `session.timeout.ms` after its last heartbeat (or join/sync), except
 *   while it waits in JoinGroup or SyncGroup. New members waiting in JoinGroup time out after 5
 *   minutes instead. Members that do not send SyncGroup within the rebalance timeout after the join
 *   completed are removed and the group rebalances again.
 * - Static members (group.instance.id, KIP-345) keep their identity across restarts: a rejoin
 *   without member id replaces the old member id (fencing the old instance with
 *   FENCED_INSTANCE_ID) and, when the group is Stable and the protocol stays the same, returns the
 *   current assignment without a rebalance. Static members are not removed for missing a rebalance,
 *   only when their session expires or they leave.
 *
 * Everything here runs synchronously on Node's one thread; results reach the waiting requests
 * through callbacks. Persisting the group (after a completed rebalance, when it becomes Empty, when
 * a static member is replaced) is delegated to the environment, which answers with an error code.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import type { Logger } from '../../logger.js';
import type { Clock, TimerHandle } from './clock.js';
import { CONSUMER_PROTOCOL_TYPE, subscribedTopicsOf } from './consumer-protocol.js';
import type { GroupMetadataValue } from './offsets-records.js';
import { OffsetStore } from './offset-store.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** The states a group may come from when entering each state (Kafka's validPreviousStates). */
const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

/** How long a new member may wait in JoinGroup before it is dropped (Kafka's NewMemberJoinTimeoutMs). */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

const EMPTY_BYTES = Buffer.alloc(0);

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupMemberInfo {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  memberId: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  /** '' when there is none. */
  leaderId: string;
  skipAssignment: boolean;
  /** Filled for the leader only: every member with its metadata for the selected protocol. */
  members: JoinGroupMemberInfo[];
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface JoinGroupParams {
  /** '' for a member joining for the first time. */
  memberId: string;
  groupInstanceId: string | null;
  /** JoinGroup v4+: a first join gets MEMBER_ID_REQUIRED and must come back with the given id. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+ (KIP-814): a rejoining static leader may be told to skip the assignment. */
  supportSkippingAssignment: boolean;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: GroupProtocol[];
  reason: string | null;
}

export interface SyncGroupParams {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** SyncGroup v5+; null when the client did not send it. */
  protocolType: string | null;
  protocolName: string | null;
  /** The leader's assignment by member id; empty for followers. */
  assignments: ReadonlyMap<string, Buffer>;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
  reason: string | null;
}

export interface GroupEnvironment {
  readonly clock: Clock;
  readonly logger: Logger;
  /** group.initial.rebalance.delay.ms */
  readonly initialRebalanceDelayMs: number;
  /**
   * Persists the group's metadata with the given assignment (GroupMetadataValue). Resolves with
   * ErrorCode.NONE or the error to report to the members; never rejects.
   */
  storeGroup(group: ClassicGroup, assignment: ReadonlyMap<string, Buffer>): Promise<number>;
}

type JoinCallback = (result: JoinGroupResult) => void;
type SyncCallback = (result: SyncGroupResult) => void;

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    memberId,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leaderId: '',
    skipAssignment: false,
    members: [],
  };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class GroupMember {
  memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  /** In the member's order of preference. */
  protocols: GroupProtocol[];
  assignment: Buffer = EMPTY_BYTES;
  awaitingJoin: JoinCallback | null = null;
  awaitingSync: SyncCallback | null = null;
  /** Joined but not yet part of a completed generation. */
  isNew = false;
  sessionTimer: TimerHandle | null = null;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocolType: string;
    protocols: GroupProtocol[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  metadata(protocolName: string | null): Buffer {
    return this.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, in the same order, with byte-identical metadata. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((protocol, i) => protocol.name === this.protocols[i]!.name && protocol.metadata.equals(this.protocols[i]!.metadata))
    );
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((protocol) => candidates.has(protocol.name))?.name;
  }
}

/** A member as DescribeGroups and the in-process API show it. */
export interface MemberSummary {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Metadata for the selected protocol; empty unless the group is Stable (as Kafka). */
  metadata: Buffer;
  /** Empty unless the group is Stable (as Kafka). */
  assignment: Buffer;
}

export interface GroupSummary {
  groupId: string;
  state: GroupState;
  protocolType: string;
  /** The selected protocol when Stable, '' otherwise (as Kafka). */
  protocol: string;
  generationId: number;
  leaderId: string | null;
  members: MemberSummary[];
}

interface JoinTimer {
  handle: TimerHandle;
  /** The KIP-134 initial delay, which never completes early. */
  initial: boolean;
}

export class ClassicGroup {
  readonly groupId: string;
  private readonly env: GroupEnvironment;
  private currentState: GroupState;
  /** When the state last changed (ms): the base of offset expiry for Empty groups. */
  currentStateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** In join order (Map iteration order), which decides the leader after the leader leaves. */
  private readonly members = new Map<string, GroupMember>();
  /** group.instance.id -> member id */
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, with the timer that forgets them. */
  private readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  private readonly pendingSyncMembers = new Set<string>();
  private numMembersAwaitingJoin = 0;
  /** Protocol name -> number of members supporting it. */
  private readonly protocolVotes = new Map<string, number>();
  /**
   * Topics the members subscribe to, when the protocol type is "consumer" and their metadata
   * parses; null when unknown. Computed at each new generation and on load, as Kafka does.
   */
  subscribedTopics: ReadonlySet<string> | null = null;
  /** A member joined during the initial delay, which may therefore be extended. */
  private newMemberAdded = false;
  private joinTimer: JoinTimer | null = null;
  private syncTimer: TimerHandle | null = null;
  readonly offsets = new OffsetStore();

  constructor(groupId: string, env: GroupEnvironment, initialState: GroupState = 'Empty') {
    this.groupId = groupId;
    this.env = env;
    this.currentState = initialState;
    this.currentStateTimestamp = env.clock.now();
  }

  /** Rebuilds a group from its last GroupMetadataValue record (start-up). Stable with members, else Empty. */
  static fromRecord(groupId: string, record: GroupMetadataValue, env: GroupEnvironment): ClassicGroup {
    const group = new ClassicGroup(groupId, env, record.members.length > 0 ? 'Stable' : 'Empty');
    group.generationId = record.generation;
    group.protocolType = record.protocolType === '' ? null : record.protocolType;
    group.protocolName = record.protocol;
    group.leaderId = record.leader;
    if (record.currentStateTimestamp >= 0n) group.currentStateTimestamp = Number(record.currentStateTimestamp);
    for (const stored of record.members) {
      const member = new GroupMember({
        memberId: stored.memberId,
        groupInstanceId: stored.groupInstanceId,
        clientId: stored.clientId,
        clientHost: stored.clientHost,
        rebalanceTimeoutMs: stored.rebalanceTimeoutMs,
        sessionTimeoutMs: stored.sessionTimeoutMs,
        protocolType: record.protocolType,
        protocols: [{ name: record.protocol ?? '', metadata: stored.subscription }],
      });
      member.assignment = stored.assignment;
      group.add(member, null);
    }
    if (group.leaderId !== null && !group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value ?? null;
    group.subscribedTopics = group.computeSubscribedTopics();
    return group;
  }

  get state(): GroupState {
    return this.currentState;
  }

  /** A method, not a property read, so TypeScript does not assume the state stays narrowed across calls. */
  is(state: GroupState): boolean {
    return this.currentState === state;
  }

  get size(): number {
    return this.members.size;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  allMembers(): GroupMember[] {
    return [...this.members.values()];
  }

  isPendingMember(memberId: string): boolean {
    return this.pendingMembers.has(memberId);
  }

  /** Member ids handed out with MEMBER_ID_REQUIRED whose owners have not rejoined yet. */
  get pendingMemberCount(): number {
    return this.pendingMembers.size;
  }

  /** Whether `topic` is among the consumer group's subscribed topics. */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? false;
  }

  /** The largest rebalance timeout of the members: how long a rebalance may wait for them. */
  get rebalanceTimeoutMs(): number {
    let timeout = 0;
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs);
    return timeout;
  }

  /** Called once after loading: members must heartbeat within their session timeout from now. */
  onLoaded(): void {
    for (const member of this.members.values()) this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
  }

  // -------------------------------------------------------------------------------------------
  // JoinGroup

  join(params: JoinGroupParams): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      if (params.memberId === '') this.joinNewMember(params, resolve);
      else this.joinCurrentMember(params, resolve);
      if (this.currentState === 'PreparingRebalance') this.tryCompleteJoin();
    });
  }

  private joinNewMember(params: JoinGroupParams, respond: JoinCallback): void {
    if (this.currentState === 'Dead') {
      respond(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!this.supportsProtocols(params.protocolType, params.protocols)) {
      respond(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    // Kafka's member ids: "<client.id or group.instance.id>-<UUID>".
    const newMemberId = `${params.groupInstanceId ?? params.clientId}-${randomUUID()}`;
    if (params.groupInstanceId !== null) {
      const oldMemberId = this.staticMembers.get(params.groupInstanceId);
      if (oldMemberId !== undefined) {
        this.env.logger.info(
          { group: this.groupId, groupInstanceId: params.groupInstanceId, oldMemberId, newMemberId, state: this.currentState },
          'static member rejoined without member id; replacing the old member id',
        );
        this.updateStaticMemberAndRebalance(oldMemberId, newMemberId, params, respond);
      } else {
        this.addMemberAndRebalance(newMemberId, params, respond);
      }
    } else if (params.requireKnownMemberId) {
      this.addPendingMember(newMemberId, params.sessionTimeoutMs);
      respond(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(newMemberId, params, respond);
    }
  }

  private joinCurrentMember(params: JoinGroupParams, respond: JoinCallback): void {
    const { memberId } = params;
    if (this.currentState === 'Dead') {
      respond(joinError(memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!this.supportsProtocols(params.protocolType, params.protocols)) {
      respond(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (this.pendingMembers.has(memberId)) {
      // Pending members got their id from MEMBER_ID_REQUIRED, which static members never get.
      if (params.groupInstanceId !== null && this.staticMembers.has(params.groupInstanceId)) {
        respond(joinError(memberId, ErrorCode.FENCED_INSTANCE_ID));
        return;
      }
      this.addMemberAndRebalance(memberId, params, respond);
      return;
    }
    const memberError = this.validateCurrentMember(memberId, params.groupInstanceId);
    if (memberError !== ErrorCode.NONE) {
      respond(joinError(memberId, memberError));
      return;
    }
    const member = this.members.get(memberId)!;
    switch (this.currentState) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(member, params, respond);
        break;
      case 'CompletingRebalance':
        if (member.matches(params.protocols)) {
          // The member probably missed the JoinGroup response: send it again for this generation.
          respond(this.joinResultFor(member, false));
        } else {
          this.updateMemberAndRebalance(member, params, respond);
        }
        break;
      case 'Stable':
        // The leader rejoining forces a rebalance: that is how it reacts to changes only it sees
        // (such as new partitions of a subscribed topic). Followers rebalance only when their
        // metadata changed, otherwise they get the current generation back and just sync.
        if (this.leaderId === memberId || !member.matches(params.protocols)) {
          this.updateMemberAndRebalance(member, params, respond);
        } else {
          respond({ ...this.joinResultFor(member, false), members: [] });
        }
        break;
      case 'Empty':
        respond(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID));
        break;
    }
  }

  private joinResultFor(member: GroupMember, skipAssignment: boolean): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      memberId: member.memberId,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leaderId: this.leaderId ?? '',
      skipAssignment,
      members: this.leaderId === member.memberId ? this.currentMemberMetadata() : [],
    };
  }

  /** Every member with its metadata for the selected protocol, as the leader receives them. */
  private currentMemberMetadata(): JoinGroupMemberInfo[] {
    return [...this.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadata(this.protocolName),
    }));
  }

  private addPendingMember(memberId: string, sessionTimeoutMs: number): void {
    const timer = this.env.clock.schedule(sessionTimeoutMs, () =>
      this.guard('pending member expiry', () => {
        if (this.currentState === 'Dead' || !this.pendingMembers.has(memberId)) return;
        this.env.logger.info({ group: this.groupId, memberId }, 'pending member removed after its session timeout');
        this.removePendingMember(memberId);
      }),
    );
    this.pendingMembers.set(memberId, timer);
  }

  private removePendingMember(memberId: string): void {
    this.pendingMembers.get(memberId)?.cancel();
    this.pendingMembers.delete(memberId);
    if (this.currentState === 'PreparingRebalance') this.tryCompleteJoin();
  }

  private addMemberAndRebalance(memberId: string, params: JoinGroupParams, respond: JoinCallback): void {
    const member = new GroupMember({
      memberId,
      groupInstanceId: params.groupInstanceId,
      clientId: params.clientId,
      clientHost: params.clientHost,
      rebalanceTimeoutMs: params.rebalanceTimeoutMs,
      sessionTimeoutMs: params.sessionTimeoutMs,
      protocolType: params.protocolType,
      protocols: params.protocols,
    });
    member.isNew = true;
    if (this.currentState === 'PreparingRebalance' && this.generationId === 0) this.newMemberAdded = true;
    this.add(member, respond);
    // A new member cannot heartbeat (it has no id yet) and a disconnect is invisible while its
    // JoinGroup waits, so it gets a long fixed timeout instead of its session timeout.
    this.scheduleSessionExpiry(member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.env.logger.info(
      { group: this.groupId, memberId, groupInstanceId: params.groupInstanceId, clientId: params.clientId, reason: params.reason },
      'member joined',
    );
    this.maybePrepareRebalance(`adding new member ${memberId}`);
  }

  private updateMemberAndRebalance(member: GroupMember, params: JoinGroupParams, respond: JoinCallback): void {
    this.updateMember(member, params.protocols, params.rebalanceTimeoutMs, params.sessionTimeoutMs, respond);
    this.maybePrepareRebalance(`member ${member.memberId} rejoined${params.reason ? ` (${params.reason})` : ''}`);
  }

  private updateStaticMemberAndRebalance(oldMemberId: string, newMemberId: string, params: JoinGroupParams, respond: JoinCallback): void {
    const currentLeader = this.leaderId;
    const member = this.replaceStaticMember(params.groupInstanceId!, oldMemberId, newMemberId);
    // The old id's session timer is gone with it; the new id starts a fresh session.
    this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
    const oldProtocols = member.protocols;
    const oldRebalanceTimeoutMs = member.rebalanceTimeoutMs;
    const oldSessionTimeoutMs = member.sessionTimeoutMs;
    this.updateMember(member, params.protocols, params.rebalanceTimeoutMs, params.sessionTimeoutMs, respond);

    switch (this.currentState) {
      case 'Stable': {
        if (this.protocolName !== this.selectProtocol()) {
          this.maybePrepareRebalance(`static member ${newMemberId} joined with a change of protocol`);
          return;
        }
        // Same protocol: persist the new member id and hand the current assignment back without a
        // rebalance (the member's SyncGroup gets its stored assignment).
        const generation = this.generationId;
        const assignment = new Map([...this.members.values()].map((m) => [m.memberId, m.assignment] as const));
        void this.env.storeGroup(this, assignment).then((error) =>
          this.guard('static member store', () => {
            if (this.currentState === 'Dead' || this.members.get(newMemberId) !== member) return;
            if (error !== ErrorCode.NONE) {
              this.env.logger.warn({ group: this.groupId, error }, 'failed to persist the replaced static member; reverting');
              this.updateMember(member, oldProtocols, oldRebalanceTimeoutMs, oldSessionTimeoutMs, null);
              const reverted = this.replaceStaticMember(params.groupInstanceId!, newMemberId, oldMemberId);
              this.scheduleSessionExpiry(reverted, reverted.sessionTimeoutMs);
              respond({ ...joinError('', error), generationId: generation, protocolType: this.protocolType, protocolName: this.protocolName, leaderId: currentLeader ?? '' });
              return;
            }
            if (params.supportSkippingAssignment) {
              // KIP-814 (v9+): a static leader learns it leads, but skips computing an assignment
              // the Stable group would ignore anyway.
              const isLeader = this.leaderId === newMemberId;
              this.invokeJoinCallback(member, this.joinResultFor(member, isLeader));
            } else {
              // Before v9 the old leader id is returned, so a rejoining static leader does not run
              // a pointless assignment: its new member id does not match it.
              this.invokeJoinCallback(member, { ...this.joinResultFor(member, false), members: [], leaderId: currentLeader ?? '' });
            }
          }),
        );
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning with the old member id; start over.
        this.prepareRebalance(`static member ${newMemberId} replaced ${oldMemberId} while completing a rebalance`);
        return;
      case 'PreparingRebalance':
        return;
      case 'Empty':
      case 'Dead':
        // A known static member implies members, so neither can happen.
        throw new Error(`group ${this.groupId} is ${this.currentState} yet knows static member ${params.groupInstanceId}`);
    }
  }

  /** Gives a static member's entry a new member id, fencing whatever the old id was waiting for. */
  private replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const member = this.members.get(oldMemberId);
    if (member === undefined) throw new Error(`cannot replace unknown member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    this.invokeJoinCallback(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.invokeSyncCallback(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  // -------------------------------------------------------------------------------------------
  // SyncGroup

  sync(params: SyncGroupParams): Promise<SyncGroupResult> {
    return new Promise((resolve) => this.handleSync(params, resolve));
  }

  private handleSync(params: SyncGroupParams, respond: SyncCallback): void {
    if (this.currentState === 'Dead') {
      respond(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    let error = this.validateCurrentMember(params.memberId, params.groupInstanceId);
    if (error === ErrorCode.NONE && params.generationId !== this.generationId) error = ErrorCode.ILLEGAL_GENERATION;
    if (error === ErrorCode.NONE && params.protocolType !== null && params.protocolType !== this.protocolType) {
      error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    if (error === ErrorCode.NONE && params.protocolName !== null && params.protocolName !== this.protocolName) {
      error = ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    }
    if (error !== ErrorCode.NONE) {
      respond(syncError(error));
      return;
    }
    const member = this.members.get(params.memberId)!;
    switch (this.currentState) {
      case 'Empty':
        respond(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
        return;
      case 'PreparingRebalance':
        respond(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        return;
      case 'CompletingRebalance': {
        // A second SyncGroup of the same member replaces the first, which gets told to retry.
        this.invokeSyncCallback(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.awaitingSync = respond;
        this.removePendingSyncMember(member.memberId);
        if (this.leaderId !== member.memberId) return;
        // Members the leader left out get an empty assignment; ids it made up are ignored.
        const assignment = new Map<string, Buffer>();
        for (const id of this.members.keys()) assignment.set(id, params.assignments.get(id) ?? EMPTY_BYTES);
        const generation = this.generationId;
        this.env.logger.info({ group: this.groupId, generation, members: this.members.size }, 'assignment received from the leader');
        void this.env.storeGroup(this, assignment).then((storeError) =>
          this.guard('group store', () => {
            // Another member may have joined meanwhile: act only if nothing moved on.
            if (this.currentState !== 'CompletingRebalance' || generation !== this.generationId) return;
            if (storeError !== ErrorCode.NONE) {
              this.resetAndPropagateAssignmentError(storeError);
              this.maybePrepareRebalance(`storing the assignment failed with error ${storeError}`);
            } else {
              for (const m of this.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
              this.propagateAssignment(ErrorCode.NONE);
              this.transitionTo('Stable');
              this.env.logger.info({ group: this.groupId, generation }, 'group stable');
            }
          }),
        );
        return;
      }
      case 'Stable':
        this.removePendingSyncMember(member.memberId);
        respond({ errorCode: ErrorCode.NONE, protocolType: this.protocolType, protocolName: this.protocolName, assignment: member.assignment });
        this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
        return;
    }
  }

  private resetAndPropagateAssignmentError(error: number): void {
    for (const member of this.members.values()) member.assignment = EMPTY_BYTES;
    this.propagateAssignment(error);
  }

  private propagateAssignment(error: number): void {
    for (const member of this.members.values()) {
      const result: SyncGroupResult =
        error === ErrorCode.NONE
          ? { errorCode: error, protocolType: this.protocolType, protocolName: this.protocolName, assignment: member.assignment }
          : syncError(error);
      // A session that ran out while the member waited was not acted on; it starts again now.
      if (this.invokeSyncCallback(member, result)) this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
    }
  }

  private removePendingSyncMember(memberId: string): void {
    this.pendingSyncMembers.delete(memberId);
    if (this.pendingSyncMembers.size === 0) this.cancelSyncTimer();
  }

  private cancelSyncTimer(): void {
    this.syncTimer?.cancel();
    this.syncTimer = null;
  }

  private schedulePendingSync(): void {
    this.cancelSyncTimer();
    const generation = this.generationId;
    this.syncTimer = this.env.clock.schedule(this.rebalanceTimeoutMs, () =>
      this.guard('pending sync expiry', () => {
        this.syncTimer = null;
        if (generation !== this.generationId) return;
        if (this.currentState !== 'CompletingRebalance' && this.currentState !== 'Stable') return;
        if (this.pendingSyncMembers.size === 0) return;
        const missing = [...this.pendingSyncMembers];
        this.env.logger.info({ group: this.groupId, members: missing }, 'removing members that did not send SyncGroup in time');
        for (const memberId of missing) this.remove(memberId);
        this.prepareRebalance(`members ${missing.join(', ')} did not sync in time`);
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Heartbeat, LeaveGroup, offset commit checks

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.currentState === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.validateCurrentMember(memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = this.members.get(memberId)!;
    switch (this.currentState) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'CompletingRebalance':
      case 'Stable':
        this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      case 'PreparingRebalance':
        // The heartbeat still counts: the member stays, and learns it must rejoin.
        this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
    }
  }

  /** Removes the given members; returns an error code per member (the group-level error is the caller's). */
  leave(leaving: readonly LeavingMember[]): number[] {
    return leaving.map(({ memberId, groupInstanceId, reason }) => {
      if (memberId === '') {
        // Administrative removal of a static member by its group.instance.id alone.
        const currentId = groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
        if (currentId === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        this.removeMemberAndUpdateGroup(this.members.get(currentId)!, `static member ${groupInstanceId} removed by LeaveGroup`);
        return ErrorCode.NONE;
      }
      if (this.pendingMembers.has(memberId)) {
        this.removePendingMember(memberId);
        return ErrorCode.NONE;
      }
      const error = this.validateCurrentMember(memberId, groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      this.env.logger.info({ group: this.groupId, memberId, reason }, 'member left');
      this.removeMemberAndUpdateGroup(this.members.get(memberId)!, `member ${memberId} left${reason ? ` (${reason})` : ''}`);
      return ErrorCode.NONE;
    });
  }

  /**
   * Kafka's OffsetCommit rules for a classic group; returns the error for every partition of the
   * commit, or NONE (and counts the commit as a heartbeat of the member).
   * - generation -1 on an Empty group: an admin client or a consumer with manually assigned
   *   partitions (a "simple" group), always allowed;
   * - otherwise the member must be known (static members by their current id), of this generation;
   * - a group with members accepts commits only from members;
   * - during CompletingRebalance the member must first finish the rebalance: REBALANCE_IN_PROGRESS;
   *   during PreparingRebalance commits are still accepted (the heartbeat tells it to rejoin).
   */
  checkOffsetCommit(generationId: number, memberId: string, groupInstanceId: string | null): number {
    if (this.currentState === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && this.currentState === 'Empty') return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const error = this.validateCurrentMember(memberId, groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (this.currentState !== 'Empty') {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    switch (this.currentState) {
      case 'CompletingRebalance':
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case 'Stable':
      case 'PreparingRebalance': {
        const member = this.members.get(memberId);
        if (member !== undefined) this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      }
      default:
        return ErrorCode.NONE;
    }
  }

  /**
   * A static member's group.instance.id must map to the member id it sends (another id means a
   * newer instance took over: FENCED_INSTANCE_ID); any member id must be known.
   */
  private validateCurrentMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const currentId = this.staticMembers.get(groupInstanceId);
      if (currentId === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (currentId !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // -------------------------------------------------------------------------------------------
  // Membership bookkeeping

  private supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.currentState === 'Empty') return protocolType !== '' && protocols.length > 0;
    return (
      this.protocolType === protocolType && protocols.some((protocol) => (this.protocolVotes.get(protocol.name) ?? 0) === this.members.size)
    );
  }

  private add(member: GroupMember, callback: JoinCallback | null): void {
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.countVotes(member, 1);
    member.awaitingJoin = callback;
    if (callback !== null) this.numMembersAwaitingJoin++;
    this.pendingMembers.get(member.memberId)?.cancel();
    this.pendingMembers.delete(member.memberId);
  }

  /**
   * Removes a member. A request it still has waiting is answered with UNKNOWN_MEMBER_ID, so the
   * client rejoins if it is still alive.
   */
  private remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member !== undefined) {
      this.countVotes(member, -1);
      this.invokeJoinCallback(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
      this.invokeSyncCallback(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      member.sessionTimer?.cancel();
      member.sessionTimer = null;
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
      this.members.delete(memberId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingMembers.get(memberId)?.cancel();
    this.pendingMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
  }

  private updateMember(
    member: GroupMember,
    protocols: GroupProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    callback: JoinCallback | null,
  ): void {
    this.countVotes(member, -1);
    member.protocols = protocols;
    this.countVotes(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    if (callback !== null && member.awaitingJoin !== null) {
      // A newer JoinGroup of the same member supersedes the one still waiting.
      const superseded = member.awaitingJoin;
      member.awaitingJoin = null;
      superseded(joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    } else if (callback !== null) {
      this.numMembersAwaitingJoin++;
    } else if (member.awaitingJoin !== null) {
      this.numMembersAwaitingJoin--;
    }
    member.awaitingJoin = callback;
  }

  private countVotes(member: GroupMember, delta: 1 | -1): void {
    for (const protocol of member.protocols) {
      const votes = (this.protocolVotes.get(protocol.name) ?? 0) + delta;
      if (votes === 0) this.protocolVotes.delete(protocol.name);
      else this.protocolVotes.set(protocol.name, votes);
    }
  }

  private invokeJoinCallback(member: GroupMember, result: JoinGroupResult): boolean {
    const callback = member.awaitingJoin;
    if (callback === null) return false;
    member.awaitingJoin = null;
    this.numMembersAwaitingJoin--;
    callback(result);
    return true;
  }

  private invokeSyncCallback(member: GroupMember, result: SyncGroupResult): boolean {
    const callback = member.awaitingSync;
    if (callback === null) return false;
    member.awaitingSync = null;
    callback(result);
    return true;
  }

  /**
   * The protocol every member supports that most members prefer (each member votes for its most
   * preferred candidate); ties go to the protocol that got its first vote earliest.
   */
  selectProtocol(): string {
    const candidates = new Set<string>();
    for (const [name, votes] of this.protocolVotes) if (votes === this.members.size) candidates.add(name);
    const tally = new Map<string, number>();
    for (const member of this.members.values()) {
      const vote = member.vote(candidates);
      if (vote !== undefined) tally.set(vote, (tally.get(vote) ?? 0) + 1);
    }
    let selected: string | null = null;
    let best = 0;
    for (const [name, votes] of tally) {
      if (votes > best) {
        selected = name;
        best = votes;
      }
    }
    if (selected === null) throw new Error(`group ${this.groupId} has no protocol all members support`);
    return selected;
  }

  private computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      const subscribed = subscribedTopicsOf(member.metadata(this.protocolName));
      if (subscribed === null) return null;
      for (const topic of subscribed) topics.add(topic);
    }
    return topics;
  }

  // -------------------------------------------------------------------------------------------
  // Rebalancing

  private maybePrepareRebalance(reason: string): void {
    if (this.currentState === 'Stable' || this.currentState === 'CompletingRebalance' || this.currentState === 'Empty') {
      this.prepareRebalance(reason);
    }
  }

  private prepareRebalance(reason: string): void {
    // Members waiting in SyncGroup must rejoin instead.
    if (this.currentState === 'CompletingRebalance') this.resetAndPropagateAssignmentError(ErrorCode.REBALANCE_IN_PROGRESS);
    this.pendingSyncMembers.clear();
    this.cancelSyncTimer();
    const initial = this.currentState === 'Empty';
    this.transitionTo('PreparingRebalance');
    this.env.logger.info({ group: this.groupId, generation: this.generationId, reason }, 'preparing to rebalance');
    if (initial) {
      const delay = this.env.initialRebalanceDelayMs;
      this.scheduleInitialJoin(delay, Math.max(this.rebalanceTimeoutMs - delay, 0));
    } else {
      this.scheduleJoin(this.rebalanceTimeoutMs);
      this.tryCompleteJoin();
    }
  }

  private cancelJoinTimer(): void {
    this.joinTimer?.handle.cancel();
    this.joinTimer = null;
  }

  private scheduleJoin(timeoutMs: number): void {
    this.cancelJoinTimer();
    const handle = this.env.clock.schedule(timeoutMs, () =>
      this.guard('rebalance timeout', () => {
        if (this.joinTimer?.handle !== handle) return;
        this.joinTimer = null;
        this.onCompleteJoin();
      }),
    );
    this.joinTimer = { handle, initial: false };
  }

  /**
   * KIP-134: wait `delayMs`; if members arrived meanwhile and rebalance time remains, wait again
   * (at most the delay, at most what remains), so members starting together join one generation.
   */
  private scheduleInitialJoin(delayMs: number, remainingMs: number): void {
    this.cancelJoinTimer();
    const handle = this.env.clock.schedule(delayMs, () =>
      this.guard('initial rebalance delay', () => {
        if (this.joinTimer?.handle !== handle) return;
        this.joinTimer = null;
        if (this.newMemberAdded && remainingMs !== 0) {
          this.newMemberAdded = false;
          const delay = this.env.initialRebalanceDelayMs;
          this.scheduleInitialJoin(Math.min(delay, remainingMs), Math.max(remainingMs - delay, 0));
        } else {
          this.onCompleteJoin();
        }
      }),
    );
    this.joinTimer = { handle, initial: true };
  }

  /** Completes the join phase early once every known member rejoined (not during the initial delay). */
  private tryCompleteJoin(): void {
    if (this.currentState !== 'PreparingRebalance' || this.joinTimer === null || this.joinTimer.initial) return;
    if (this.numMembersAwaitingJoin === this.members.size && this.pendingMembers.size === 0) {
      this.cancelJoinTimer();
      this.onCompleteJoin();
    }
  }

  private onCompleteJoin(): void {
    if (this.currentState !== 'PreparingRebalance') return;
    // Dynamic members that did not rejoin in time are gone; static ones keep their place.
    for (const member of [...this.members.values()]) {
      if (member.awaitingJoin === null && member.groupInstanceId === null) {
        this.env.logger.info({ group: this.groupId, memberId: member.memberId }, 'removing member that did not rejoin in time');
        this.remove(member.memberId);
      }
    }
    if (!this.maybeElectNewJoinedLeader() && this.members.size > 0) {
      // Nobody rejoined (only static members remain, silent): wait for their sessions to expire.
      this.env.logger.warn({ group: this.groupId }, 'could not complete the rebalance because no member rejoined');
      this.scheduleJoin(this.rebalanceTimeoutMs);
      return;
    }
    this.initNextGeneration();
    if (this.is('Empty')) {
      this.env.logger.info({ group: this.groupId, generation: this.generationId }, 'group is now empty');
      // If this write fails, a restart brings back the previous generation, whose members then time out.
      void this.env.storeGroup(this, new Map());
      return;
    }
    this.env.logger.info(
      { group: this.groupId, generation: this.generationId, protocol: this.protocolName, members: this.members.size },
      'rebalance joined; waiting for the assignment',
    );
    for (const member of this.members.values()) {
      this.invokeJoinCallback(member, this.joinResultFor(member, false));
      this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
      member.isNew = false;
      this.pendingSyncMembers.add(member.memberId);
    }
    this.schedulePendingSync();
  }

  /** If the leader did not rejoin, any member that did becomes leader. False when none did. */
  private maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.awaitingJoin !== null) return true;
    for (const member of this.members.values()) {
      if (member.awaitingJoin !== null) {
        this.leaderId = member.memberId;
        return true;
      }
    }
    return false;
  }

  private initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty');
    }
  }

  private removeMemberAndUpdateGroup(member: GroupMember, reason: string): void {
    this.remove(member.memberId);
    switch (this.currentState) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(reason);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin();
        break;
      default:
        break;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sessions

  private scheduleSessionExpiry(member: GroupMember, timeoutMs: number): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = this.env.clock.schedule(timeoutMs, () =>
      this.guard('session expiry', () => {
        member.sessionTimer = null;
        if (this.currentState === 'Dead' || this.members.get(member.memberId) !== member) return;
        // A member waiting in JoinGroup or SyncGroup cannot heartbeat; the rebalance's own
        // timeouts deal with it. New members waiting too long in JoinGroup are the exception.
        if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) return;
        this.env.logger.info({ group: this.groupId, memberId: member.memberId }, 'member session expired; removing it');
        this.removeMemberAndUpdateGroup(member, `member ${member.memberId} session expired`);
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Lifetime, state, description

  private transitionTo(state: GroupState): void {
    if (!VALID_PREVIOUS_STATES[state].includes(this.currentState)) {
      throw new Error(`group ${this.groupId}: invalid transition from ${this.currentState} to ${state}`);
    }
    this.currentState = state;
    this.currentStateTimestamp = this.env.clock.now();
  }

  /** Marks the group deleted (DeleteGroups, expiry) or unloaded (shutdown); see `unload`. */
  markDead(): void {
    this.transitionTo('Dead');
    this.stopTimers();
  }

  /**
   * The coordinator stops serving this group (broker shutdown): requests still waiting are answered
   * with NOT_COORDINATOR so clients look for the coordinator again, and every timer stops.
   */
  unload(): void {
    const previous = this.currentState;
    this.markDead();
    for (const member of this.members.values()) {
      if (previous === 'PreparingRebalance') this.invokeJoinCallback(member, joinError(member.memberId, ErrorCode.NOT_COORDINATOR));
      this.invokeSyncCallback(member, syncError(ErrorCode.NOT_COORDINATOR));
    }
  }

  private stopTimers(): void {
    this.cancelJoinTimer();
    this.cancelSyncTimer();
    for (const member of this.members.values()) {
      member.sessionTimer?.cancel();
      member.sessionTimer = null;
    }
    for (const timer of this.pendingMembers.values()) timer.cancel();
    this.pendingMembers.clear();
  }

  /** The group's metadata record for `__consumer_offsets` with the given assignment. */
  toRecord(assignment: ReadonlyMap<string, Buffer>): GroupMetadataValue {
    return {
      protocolType: this.protocolType ?? '',
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      currentStateTimestamp: BigInt(this.currentStateTimestamp),
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        subscription: member.metadata(this.protocolName),
        assignment: assignment.get(member.memberId) ?? EMPTY_BYTES,
      })),
    };
  }

  summary(): GroupSummary {
    const stable = this.currentState === 'Stable';
    return {
      groupId: this.groupId,
      state: this.currentState,
      protocolType: this.protocolType ?? '',
      protocol: stable ? (this.protocolName ?? '') : '',
      generationId: this.generationId,
      leaderId: this.leaderId,
      members: [...this.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable ? member.metadata(this.protocolName) : EMPTY_BYTES,
        assignment: stable ? member.assignment : EMPTY_BYTES,
      })),
    };
  }

  /** Runs a timer or storage continuation; a bug there is logged instead of crashing the broker. */
  private guard(what: string, action: () => void): void {
    try {
      action();
    } catch (error) {
      this.env.logger.error({ err: error, group: this.groupId, state: this.currentState }, `group coordinator ${what} failed`);
    }
  }
}
