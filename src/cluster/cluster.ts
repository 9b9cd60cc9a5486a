/**
 * The broker's view of its topics: names, ids, configs and partitions, persisted through the
 * storage engine. Every change goes through one queue, so concurrent CreateTopics, DeleteTopics,
 * CreatePartitions and config changes never interleave, and each is persisted before it is visible.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { CompactionOptions, StorageEngine, TopicRecord } from '../storage/engine.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { KafkaProtocolError } from '../errors.js';
import { Partition } from './partition.js';
import {
  effectiveTopicConfig,
  isCompactedTopic,
  logConfigOf,
  topicConfigConflict,
  topicConfigDefinition,
  topicConfigEntries,
  validateTopicConfig,
  type ConfigEntry,
} from './topic-configs.js';

export class Topic {
  readonly name: string;
  readonly topicId: string;
  configs: Record<string, string>;
  readonly partitions: Partition[];
  /** Internal topics (`__consumer_offsets`) are flagged in Metadata and hidden from casual listing. */
  readonly internal: boolean;

  constructor(record: TopicRecord, partitions: Partition[]) {
    this.name = record.name;
    this.topicId = record.topicId;
    this.configs = { ...record.configs };
    this.partitions = partitions;
    this.internal = INTERNAL_TOPICS.has(record.name);
  }

  record(): TopicRecord {
    return { name: this.name, topicId: this.topicId, partitionCount: this.partitions.length, configs: { ...this.configs } };
  }

  config(name: string): string {
    return effectiveTopicConfig(this.configs, name);
  }
}

/**
 * The most partitions one topic may have. Each partition is a directory with open files, so a
 * request for millions would exhaust the machine; Kafka leaves this to operators' policies.
 */
export const MAX_PARTITIONS_PER_TOPIC = 10_000;

/** The most partitions one CreateTopics or CreatePartitions request may add (Kafka's MAX_PARTITIONS_PER_BATCH). */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;

/** Topics the broker itself owns and writes; clients may read them but not produce to or delete them. */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state']);

/** Kafka's topic name rules: 1-249 characters of [a-zA-Z0-9._-], and not "." or "..". */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'Topic name is empty';
  if (name === '.' || name === '..') return `Topic name cannot be "." or ".."`;
  if (name.length > 249) return `Topic name is longer than 249 characters`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** Turns an engine failure into the Kafka error a client can act on; protocol errors pass through. */
function storageFailure(what: string, error: unknown): KafkaProtocolError {
  if (error instanceof KafkaProtocolError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new KafkaProtocolError(ErrorCode.KAFKA_STORAGE_ERROR, `Storage failed while ${what}: ${reason}`);
}

function checkPartitionLimit(partitionCount: number): void {
  if (partitionCount > MAX_PARTITIONS_PER_TOPIC) {
    throw new KafkaProtocolError(
      ErrorCode.INVALID_PARTITIONS,
      `A topic may have at most ${MAX_PARTITIONS_PER_TOPIC} partitions on this broker, ${partitionCount} were asked for.`,
    );
  }
}

export interface ClusterOptions {
  engine: StorageEngine;
  logger: Logger;
  clusterId: string;
  /** Broker-wide default of max.message.bytes (message.max.bytes). */
  messageMaxBytes: number;
  /**
   * Broker-wide defaults of topic configs that differ from Kafka's (from broker settings such as
   * log.retention.ms: see topicDefaultsOf in config.ts), by topic config name.
   */
  topicDefaults?: Readonly<Record<string, string>>;
}

export class Cluster {
  readonly clusterId: string;
  private readonly engine: StorageEngine;
  private readonly logger: Logger;
  private readonly messageMaxBytes: number;
  private readonly brokerTopicDefaults: Readonly<Record<string, string>>;
  private readonly topicsByName = new Map<string, Topic>();
  private readonly topicsById = new Map<string, Topic>();
  private changes: Promise<unknown> = Promise.resolve();

  constructor(options: ClusterOptions) {
    this.engine = options.engine;
    this.logger = options.logger;
    this.clusterId = options.clusterId;
    this.messageMaxBytes = options.messageMaxBytes;
    const defaults: Record<string, string> = { ...options.topicDefaults };
    if (options.messageMaxBytes !== Number(topicConfigDefinition('max.message.bytes')!.default)) {
      defaults['max.message.bytes'] = String(options.messageMaxBytes);
    }
    this.brokerTopicDefaults = defaults;
  }

  /** Opens the partitions of the topics the engine had stored. */
  async load(records: TopicRecord[]): Promise<void> {
    for (const record of records) {
      const topic = await this.openTopic(record);
      this.register(topic);
    }
  }

  topic(name: string): Topic | undefined {
    return this.topicsByName.get(name);
  }

  topicById(topicId: string): Topic | undefined {
    return this.topicsById.get(topicId);
  }

  topics(): IterableIterator<Topic> {
    return this.topicsByName.values();
  }

  partition(topicName: string, index: number): Partition | undefined {
    return this.topicsByName.get(topicName)?.partitions[index];
  }

  /** max.message.bytes in effect for a topic. */
  maxMessageBytes(topic: Topic): number {
    const override = topic.configs['max.message.bytes'];
    return override === undefined ? this.messageMaxBytes : Number(override);
  }

  /** Topic config defaults that come from the broker's own settings rather than Kafka's. */
  topicDefaults(): Record<string, string> {
    return { ...this.brokerTopicDefaults };
  }

  /** True when the topic's cleanup.policy includes compact: keyless records are refused, the cleaner runs. */
  isCompacted(topic: Topic): boolean {
    return isCompactedTopic(topic.configs, this.brokerTopicDefaults);
  }

  /** Every config of a topic with its value in effect and where that value comes from. */
  topicConfigEntries(topic: Topic): ConfigEntry[] {
    return topicConfigEntries(topic.configs, this.topicDefaults());
  }

  /** Runs metadata changes one at a time, in the order they were asked for. */
  private serialize<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changes.then(change, change);
    this.changes = next.catch(() => undefined);
    return next;
  }

  /**
   * Checks a topic creation without making it; throws KafkaProtocolError with the precise code.
   * Internal topic names are reserved for the broker (`internal: true`).
   */
  validateNewTopic(name: string, partitionCount: number, configs: Record<string, string | null>, internal = false): void {
    const nameProblem = topicNameProblem(name);
    if (nameProblem !== null) throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
    if (this.topicsByName.has(name)) throw new KafkaProtocolError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    if (INTERNAL_TOPICS.has(name) && !internal) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Topic name '${name}' is reserved for the broker's internal use.`);
    }
    if (!Number.isInteger(partitionCount) || partitionCount < 1) {
      throw new KafkaProtocolError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be larger than 0, got ${partitionCount}.`);
    }
    checkPartitionLimit(partitionCount);
    for (const [configName, value] of Object.entries(configs)) {
      const problem = validateTopicConfig(configName, value);
      if (problem !== null) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, problem);
    }
    const conflict = topicConfigConflict(configs, this.brokerTopicDefaults);
    if (conflict !== null) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, conflict);
    // Kafka's topics "a.b" and "a_b" collide in metric names; Kafka refuses the second.
    const normalized = name.replace(/\./g, '_');
    for (const existing of this.topicsByName.keys()) {
      if (existing.replace(/\./g, '_') === normalized) {
        throw new KafkaProtocolError(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `Topic '${name}' collides with existing topic: ${existing}`,
        );
      }
    }
  }

  createTopic(name: string, partitionCount: number, configs: Record<string, string>, internal = false): Promise<Topic> {
    return this.serialize(async () => {
      this.validateNewTopic(name, partitionCount, configs, internal);
      const record: TopicRecord = { name, topicId: randomUUID(), partitionCount, configs: { ...configs } };
      try {
        const topic = await this.openTopic(record);
        try {
          await this.engine.saveTopics([...this.records(), record]);
        } catch (error) {
          await Promise.allSettled(topic.partitions.map((partition) => partition.log.close()));
          throw error;
        }
        this.register(topic);
        this.logger.info({ topic: name, partitions: partitionCount, topicId: record.topicId }, 'topic created');
        return topic;
      } catch (error) {
        // Out of disk or file descriptors: leave nothing of the half-made topic behind.
        await this.removePartitionData(record, 0, partitionCount);
        throw storageFailure(`creating topic ${name}`, error);
      }
    });
  }

  /** Removes the data of partitions [from, to) of a topic that is not (or no longer) registered. */
  private async removePartitionData(record: TopicRecord, from: number, to: number): Promise<void> {
    for (let index = from; index < to; index++) {
      await this.engine.deletePartition(record, index).catch((error: unknown) => {
        this.logger.error({ err: error, topic: record.name, partition: index }, 'could not remove partition data');
      });
    }
  }


  deleteTopic(name: string): Promise<Topic> {
    return this.serialize(async () => {
      const topic = this.topicsByName.get(name);
      if (topic === undefined) {
        throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic: ${name}`);
      }
      if (topic.internal) {
        throw new KafkaProtocolError(ErrorCode.TOPIC_DELETION_DISABLED, `Internal topic ${name} cannot be deleted.`);
      }
      this.topicsByName.delete(name);
      this.topicsById.delete(topic.topicId);
      await this.engine.saveTopics(this.records());
      for (const partition of topic.partitions) partition.wakeWaiters();
      for (const partition of topic.partitions) await this.engine.deletePartition(topic.record(), partition.index);
      this.logger.info({ topic: name }, 'topic deleted');
      return topic;
    });
  }

  createPartitions(name: string, newTotal: number, validateOnly: boolean): Promise<void> {
    return this.serialize(async () => {
      const topic = this.topicsByName.get(name);
      if (topic === undefined) {
        throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
      }
      if (topic.internal) {
        throw new KafkaProtocolError(
          ErrorCode.INVALID_REQUEST,
          `The partitions of internal topic ${name} cannot be changed: groups are placed by partition count.`,
        );
      }
      const current = topic.partitions.length;
      checkPartitionLimit(newTotal);
      if (newTotal <= current) {
        throw new KafkaProtocolError(
          ErrorCode.INVALID_PARTITIONS,
          newTotal === current
            ? `Topic already has ${current} partitions.`
            : `Topic currently has ${current} partitions, which is higher than the requested ${newTotal}.`,
        );
      }
      if (validateOnly) return;
      const record = topic.record();
      const added: Partition[] = [];
      try {
        for (let index = current; index < newTotal; index++) {
          const log = await this.engine.openPartition(record, index, logConfigOf(topic.configs, this.brokerTopicDefaults));
          try {
            added.push(await Partition.open(name, index, log, this.logger));
          } catch (error) {
            await log.close().catch(() => undefined);
            throw error;
          }
        }
        await this.engine.saveTopics(this.records().map((r) => (r.name === name ? { ...r, partitionCount: newTotal } : r)));
      } catch (error) {
        await Promise.allSettled(added.map((partition) => partition.log.close()));
        await this.removePartitionData(record, current, newTotal);
        throw storageFailure(`adding partitions to ${name}`, error);
      }
      topic.partitions.push(...added);
      this.logger.info({ topic: name, partitions: newTotal }, 'partitions added');
    });
  }

  /**
   * Replaces a topic's config overrides (validated by the caller) and applies them to its logs.
   */
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    return this.serialize(async () => {
      const topic = this.topicsByName.get(name);
      if (topic === undefined) {
        throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
      }
      await this.engine.saveTopics(this.records().map((r) => (r.name === name ? { ...r, configs: { ...configs } } : r)));
      topic.configs = { ...configs };
      const logConfig = logConfigOf(topic.configs, this.brokerTopicDefaults);
      for (const partition of topic.partitions) partition.updateConfig(logConfig);
      this.logger.info({ topic: name, configs }, 'topic configs changed');
    });
  }

  /** Applies retention to every partition; returns the number of segments deleted. */
  async enforceRetention(nowMs: number): Promise<number> {
    let deleted = 0;
    for (const topic of [...this.topicsByName.values()]) {
      for (const partition of topic.partitions) {
        if (this.topicsByName.get(topic.name) !== topic) break;
        deleted += await partition.log.enforceRetention(nowMs);
      }
    }
    return deleted;
  }

  /**
   * Runs the log cleaner over every partition whose cleanup.policy includes compact, one partition
   * at a time (Kafka's log cleaner thread; the broker calls this every log.cleaner.backoff.ms).
   * Logs a line per partition cleaned; a partition that fails is logged and skipped. Returns the
   * number of partitions cleaned and the bytes freed.
   */
  async compactLogs(nowMs: number, options: CompactionOptions = {}): Promise<{ partitionsCleaned: number; bytesFreed: number }> {
    let partitionsCleaned = 0;
    let bytesFreed = 0;
    for (const topic of [...this.topicsByName.values()]) {
      if (!this.isCompacted(topic)) continue;
      for (const partition of topic.partitions) {
        if (this.topicsByName.get(topic.name) !== topic) break;
        const started = Date.now();
        try {
          const result = await partition.log.compact(nowMs, options);
          if (!result.cleaned) continue;
          partitionsCleaned++;
          bytesFreed += result.bytesBefore - result.bytesAfter;
          this.logger.info(
            {
              topic: topic.name,
              partition: partition.index,
              reason: result.reason,
              bytesBefore: result.bytesBefore,
              bytesAfter: result.bytesAfter,
              segmentsBefore: result.segmentsBefore,
              segmentsAfter: result.segmentsAfter,
              recordsRead: result.recordsRead,
              recordsRemoved: result.recordsRemoved,
              tombstonesRemoved: result.tombstonesRemoved,
              cleanedUpTo: String(result.cleanedUpTo),
              durationMs: Date.now() - started,
            },
            'log compacted',
          );
        } catch (error) {
          if ((error as { code?: unknown }).code === 'TRIB_ERR_STORAGE_CLOSED') continue; // deleted or closing meanwhile
          this.logger.error({ err: error, topic: topic.name, partition: partition.index }, 'log compaction failed');
        }
      }
    }
    return { partitionsCleaned, bytesFreed };
  }

  /** Waits for pending metadata changes, then closes every partition. */
  async close(): Promise<void> {
    await this.changes;
    const partitions = [...this.topicsByName.values()].flatMap((topic) => topic.partitions);
    const results = await Promise.allSettled(partitions.map((partition) => partition.close()));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  private records(): TopicRecord[] {
    return [...this.topicsByName.values()].map((topic) => topic.record());
  }

  private async openTopic(record: TopicRecord): Promise<Topic> {
    const logConfig = logConfigOf(record.configs, this.brokerTopicDefaults);
    const partitions: Partition[] = [];
    try {
      for (let index = 0; index < record.partitionCount; index++) {
        const log = await this.engine.openPartition(record, index, logConfig);
        try {
          partitions.push(await Partition.open(record.name, index, log, this.logger));
        } catch (error) {
          await log.close().catch(() => undefined);
          throw error;
        }
      }
    } catch (error) {
      await Promise.allSettled(partitions.map((partition) => partition.log.close()));
      throw error;
    }
    return new Topic(record, partitions);
  }

  private register(topic: Topic): void {
    this.topicsByName.set(topic.name, topic);
    this.topicsById.set(topic.topicId, topic);
  }
}
