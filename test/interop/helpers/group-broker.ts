/**
 * The broker for the consumer-group interop tests that need group settings the CLI has no flags
 * for (a short group.min.session.timeout.ms, no initial rebalance delay): started in-process with
 * startBroker(), behind the recording proxy (which notes every client's API versions), with a spy
 * on the group coordinator that notes what each client asked for in JoinGroup (protocol names and
 * subscription versions, session timeout, group.instance.id), what it got, and every LeaveGroup.
 * Every client runs in a child process, so nothing blocks this process's event loop.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../../src/index.js';
import { assignedPartitionsOf } from '../../../src/coordinator/group/consumer-protocol.js';
import type { JoinGroupParams, JoinGroupResult } from '../../../src/coordinator/group/classic-group.js';
import { SniffProxy } from './sniff-proxy.js';

export interface JoinSeen {
  at: number;
  groupId: string;
  clientId: string;
  /** The member id sent ('' on a first join). */
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** Protocol names in the client's order of preference, with the subscription version each one's metadata starts with. */
  protocols: Array<{ name: string; version: number | null }>;
  result?: { errorCode: number; memberId: string; generationId: number; protocolName: string | null; leaderId: string };
}

export interface LeaveSeen {
  at: number;
  groupId: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string | null }>;
}

/** One partition of an OffsetCommit, with when (in the spy's event order) it arrived and was answered. */
export interface CommitSeen {
  groupId: string;
  clientId: string | null;
  topic: string;
  partition: number;
  offset: bigint;
  startedSeq: number;
  answeredSeq: number | null;
  errorCode: number | null;
}

/** One partition of an OffsetFetch answer. */
export interface FetchSeen {
  seq: number;
  groupId: string;
  topic: string;
  partition: number;
  offset: bigint;
}

export interface MemberView {
  clientId: string;
  memberId: string;
  groupInstanceId: string | null;
  /** The partitions of `topic` the leader assigned to it (Stable groups only). */
  partitions: number[];
  /** The version the ConsumerProtocolAssignment bytes start with. */
  assignmentVersion: number | null;
}

export interface GroupView {
  state: string;
  generation: number;
  protocol: string;
  leaderClientId: string | null;
  members: MemberView[];
}

export class GroupBroker {
  joins: JoinSeen[] = [];
  leaves: LeaveSeen[] = [];
  commits: CommitSeen[] = [];
  fetches: FetchSeen[] = [];
  /** Orders commits and fetches (timestamps can tie). */
  private seq = 0;
  private constructor(
    readonly broker: RunningBroker,
    readonly proxy: SniffProxy,
    private readonly dataDir: string,
  ) {}

  static async start(options: StartBrokerOptions = {}): Promise<GroupBroker> {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-group-interop-'));
    const proxy = new SniffProxy();
    await proxy.listen();
    const broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      logLevel: 'silent',
      advertisedPort: proxy.port,
      groupInitialRebalanceDelayMs: 0,
      groupMinSessionTimeoutMs: 1000,
      ...options,
    });
    proxy.targetPort = broker.port;
    const harness = new GroupBroker(broker, proxy, dataDir);
    harness.spy();
    return harness;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.proxy.port}`;
  }

  /** Wraps the coordinator's JoinGroup, LeaveGroup, OffsetCommit and OffsetFetch entry points to note requests and results. */
  private spy(): void {
    const groups = this.broker.groups;
    const join = groups.joinGroup.bind(groups);
    const leave = groups.leaveGroup.bind(groups);
    const commit = groups.commitOffsets.bind(groups);
    const fetch = groups.fetchOffsets.bind(groups);
    groups.commitOffsets = (params) => {
      const seen: CommitSeen[] = params.offsets.map((o) => ({
        groupId: params.groupId,
        clientId: this.clientIdOf(params.memberId),
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        startedSeq: ++this.seq,
        answeredSeq: null,
        errorCode: null,
      }));
      this.commits.push(...seen);
      return commit(params).then((errors) => {
        const answered = ++this.seq;
        seen.forEach((c, i) => {
          c.answeredSeq = answered;
          c.errorCode = errors[i] ?? null;
        });
        return errors;
      });
    };
    groups.fetchOffsets = (groupId, topics) => {
      const result = fetch(groupId, topics);
      const seq = ++this.seq;
      for (const topic of result.topics) {
        for (const p of topic.partitions) if (p.errorCode === 0) this.fetches.push({ seq, groupId, topic: topic.name, partition: p.partition, offset: p.offset });
      }
      return result;
    };
    groups.joinGroup = (groupId: string, params: JoinGroupParams): Promise<JoinGroupResult> => {
      const seen: JoinSeen = {
        at: Date.now(),
        groupId,
        clientId: params.clientId,
        memberId: params.memberId,
        groupInstanceId: params.groupInstanceId,
        sessionTimeoutMs: params.sessionTimeoutMs,
        rebalanceTimeoutMs: params.rebalanceTimeoutMs,
        protocols: params.protocols.map((p) => ({ name: p.name, version: p.metadata.length >= 2 ? p.metadata.readInt16BE(0) : null })),
      };
      this.joins.push(seen);
      return join(groupId, params).then((result) => {
        seen.result = { errorCode: result.errorCode, memberId: result.memberId, generationId: result.generationId, protocolName: result.protocolName, leaderId: result.leaderId };
        return result;
      });
    };
    groups.leaveGroup = (groupId, members) => {
      this.leaves.push({
        at: Date.now(),
        groupId,
        members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: this.clientIdOf(m.memberId) })),
      });
      return leave(groupId, members);
    };
  }

  /**
   * OffsetFetch answers that do not show the group's committed offset: every answer must be the
   * offset of the last commit acknowledged before it (-1 without one), or of a commit still being
   * written while it was answered.
   */
  staleOffsetFetches(groupId: string): string[] {
    const problems: string[] = [];
    for (const f of this.fetches.filter((x) => x.groupId === groupId)) {
      const commits = this.commits.filter((c) => c.groupId === groupId && c.topic === f.topic && c.partition === f.partition && c.startedSeq < f.seq);
      const acknowledged = commits.filter((c) => c.errorCode === 0 && c.answeredSeq !== null && c.answeredSeq < f.seq).sort((a, b) => a.answeredSeq! - b.answeredSeq!);
      const last = acknowledged.at(-1);
      const inFlight = commits.filter((c) => c.answeredSeq === null || c.answeredSeq > f.seq);
      const allowed = [last?.offset ?? -1n, ...inFlight.map((c) => c.offset)];
      if (!allowed.includes(f.offset)) {
        problems.push(`OffsetFetch answered ${f.topic}/${f.partition} = ${f.offset}, but the last acknowledged commit was ${last === undefined ? 'none' : `${last.offset} (by ${last.clientId})`}`);
      }
    }
    return problems;
  }

  /** The client id a member id was given to (from the JoinGroup answers seen). */
  clientIdOf(memberId: string): string | null {
    return this.joins.find((j) => j.result?.memberId === memberId || j.memberId === memberId)?.clientId ?? null;
  }

  view(groupId: string, topic: string): GroupView | null {
    const summary = this.broker.groups.describeGroup(groupId);
    if (summary === null) return null;
    return {
      state: summary.state,
      generation: summary.generationId,
      protocol: summary.protocol,
      leaderClientId: summary.members.find((m) => m.memberId === summary.leaderId)?.clientId ?? null,
      members: summary.members.map((m) => ({
        clientId: m.clientId,
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        partitions: (assignedPartitionsOf(m.assignment) ?? [])
          .filter((a) => a.topic === topic)
          .flatMap((a) => a.partitions)
          .sort((a, b) => a - b),
        assignmentVersion: m.assignment.length >= 2 ? m.assignment.readInt16BE(0) : null,
      })),
    };
  }

  describeView(groupId: string, topic: string): string {
    const view = this.view(groupId, topic);
    if (view === null) return `broker: group ${groupId} does not exist`;
    return [
      `broker: group ${groupId} ${view.state}, generation ${view.generation}, protocol "${view.protocol}", leader ${view.leaderClientId}`,
      ...view.members.map((m) => `  ${m.clientId}${m.groupInstanceId !== null ? ` (static ${m.groupInstanceId})` : ''}: [${m.partitions.join(',')}]`),
    ].join('\n');
  }

  /** What each client asked for in JoinGroup, one line per client: for the test diagnostics. */
  joinSummary(groupId: string): string[] {
    const byClient = new Map<string, Set<string>>();
    for (const join of this.joins.filter((j) => j.groupId === groupId)) {
      const text = `${join.protocols.map((p) => `${p.name} (subscription v${p.version})`).join(', ')}; session ${join.sessionTimeoutMs} ms, rebalance ${join.rebalanceTimeoutMs} ms${join.groupInstanceId !== null ? `, group.instance.id ${join.groupInstanceId}` : ''}`;
      const set = byClient.get(join.clientId) ?? new Set<string>();
      set.add(text);
      byClient.set(join.clientId, set);
    }
    return [...byClient].map(([client, texts]) => `${client} JoinGroup: ${[...texts].join(' | ')}`);
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    const admin = new kafkajs.Kafka({ clientId: 'group-interop-admin', brokers: [this.bootstrap], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    try {
      await this.broker.close();
    } finally {
      await this.proxy.close();
      await rm(this.dataDir, { recursive: true, force: true });
    }
  }
}

/** A KafkaJS producer writing string values to chosen partitions; returns each value's (partition, offset). */
export async function openProducer(bootstrap: string): Promise<{
  send(messages: Array<{ partition: number; value: string }>, topic: string): Promise<Array<{ partition: number; offset: number; value: string }>>;
  close(): Promise<void>;
}> {
  const producer = new kafkajs.Kafka({ clientId: 'group-interop-producer', brokers: [bootstrap], logLevel: kafkajs.logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return {
    async send(messages, topic) {
      const result = await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ partition: m.partition, value: m.value })) });
      const base = new Map(result.map((r) => [r.partition, Number(r.baseOffset)]));
      const seen = new Map<number, number>();
      return messages.map((m) => {
        const n = seen.get(m.partition) ?? 0;
        seen.set(m.partition, n + 1);
        return { partition: m.partition, offset: base.get(m.partition)! + n, value: m.value };
      });
    },
    close: () => producer.disconnect(),
  };
}
