/**
 * The committed offsets of one group, as materialised from `__consumer_offsets`.
 *
 * Commits are applied only after their record is durably written, and writes of different requests
 * may complete in any order, so each stored offset remembers the log offset of the record that wrote
 * it and a later record always wins (as Kafka's CommitRecordMetadataAndOffset does). A commit in
 * flight holds a ticket; deleting a partition's offset (OffsetDelete, expiry) invalidates the tickets
 * taken before it, so a commit that was written before the tombstone cannot resurrect the offset in
 * memory after the tombstone removed it from the log's point of view. Partitions with commits in
 * flight are never expired.
 */

export interface CommittedOffset {
  offset: bigint;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Set only by old clients that gave a retention time (OffsetCommit v1-v4); null otherwise. */
  expireTimestamp: number | null;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

interface StoredOffset extends CommittedOffset {
  /** Offset in `__consumer_offsets` of the record that committed it. */
  recordOffset: bigint;
}

interface InFlight {
  count: number;
  /** Bumped by each deletion; tickets of an older epoch no longer apply. */
  epoch: number;
}

export interface CommitTicket {
  readonly topic: string;
  readonly partition: number;
  readonly epoch: number;
}

function keyOf(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

export class OffsetStore {
  private readonly byTopic = new Map<string, Map<number, StoredOffset>>();
  private readonly inFlight = new Map<string, InFlight>();

  get size(): number {
    let size = 0;
    for (const partitions of this.byTopic.values()) size += partitions.size;
    return size;
  }

  get(topic: string, partition: number): CommittedOffset | undefined {
    return this.byTopic.get(topic)?.get(partition);
  }

  /** Every committed offset, sorted by topic and partition. */
  entries(): Array<TopicPartitionRef & { committed: CommittedOffset }> {
    const entries: Array<TopicPartitionRef & { committed: CommittedOffset }> = [];
    for (const topic of [...this.byTopic.keys()].sort()) {
      const partitions = this.byTopic.get(topic)!;
      for (const partition of [...partitions.keys()].sort((a, b) => a - b)) {
        entries.push({ topic, partition, committed: partitions.get(partition)! });
      }
    }
    return entries;
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** Registers a commit whose record is about to be written. Pair with `finishCommit`. */
  beginCommit(topic: string, partition: number): CommitTicket {
    const key = keyOf(topic, partition);
    let state = this.inFlight.get(key);
    if (state === undefined) {
      state = { count: 0, epoch: 0 };
      this.inFlight.set(key, state);
    }
    state.count++;
    return { topic, partition, epoch: state.epoch };
  }

  /**
   * Ends a commit. When its record was written (`recordOffset` given) the offset is applied unless
   * the partition was deleted meanwhile or a later record already set it.
   */
  finishCommit(ticket: CommitTicket, value: CommittedOffset, recordOffset: bigint | null): void {
    const key = keyOf(ticket.topic, ticket.partition);
    const state = this.inFlight.get(key);
    if (state === undefined) return;
    if (recordOffset !== null && state.epoch === ticket.epoch) this.load(ticket.topic, ticket.partition, value, recordOffset);
    if (--state.count === 0) this.inFlight.delete(key);
  }

  /** Sets an offset from a record at `recordOffset` (start-up replay, or a finished commit). */
  load(topic: string, partition: number, value: CommittedOffset, recordOffset: bigint): void {
    let partitions = this.byTopic.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.byTopic.set(topic, partitions);
    }
    const existing = partitions.get(partition);
    if (existing !== undefined && existing.recordOffset > recordOffset) return;
    partitions.set(partition, { ...value, recordOffset });
  }

  /** Removes one partition's offset (and voids commits in flight for it); true when there was one. */
  remove(topic: string, partition: number): boolean {
    const state = this.inFlight.get(keyOf(topic, partition));
    if (state !== undefined) state.epoch++;
    const partitions = this.byTopic.get(topic);
    if (partitions === undefined) return false;
    const removed = partitions.delete(partition);
    if (partitions.size === 0) this.byTopic.delete(topic);
    return removed;
  }

  /** Removes every offset; returns what was removed. */
  removeAll(): TopicPartitionRef[] {
    const removed = this.entries().map(({ topic, partition }) => ({ topic, partition }));
    for (const { topic, partition } of removed) this.remove(topic, partition);
    for (const state of this.inFlight.values()) state.epoch++;
    return removed;
  }

  hasCommitsInFlight(): boolean {
    return this.inFlight.size > 0;
  }

  /**
   * Offsets that expired at `nowMs` under Kafka's rules (KIP-211): an offset with an explicit expire
   * timestamp expires then; any other expires `retentionMs` after `baseTimestamp(offset)`. Offsets of
   * `keepTopics` and partitions with commits in flight are kept.
   */
  expired(
    nowMs: number,
    retentionMs: number,
    baseTimestamp: (offset: CommittedOffset) => number,
    keepTopics: ReadonlySet<string> = new Set(),
  ): TopicPartitionRef[] {
    const expired: TopicPartitionRef[] = [];
    for (const { topic, partition, committed } of this.entries()) {
      if (keepTopics.has(topic) || this.inFlight.has(keyOf(topic, partition))) continue;
      const due =
        committed.expireTimestamp !== null ? nowMs >= committed.expireTimestamp : nowMs - baseTimestamp(committed) >= retentionMs;
      if (due) expired.push({ topic, partition });
    }
    return expired;
  }
}
