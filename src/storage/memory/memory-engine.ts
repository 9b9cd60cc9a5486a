/**
 * The in-memory storage engine, for in-process brokers in application tests and other ephemeral
 * uses. Same interface and log semantics as the file engine (see memory-partition-log.ts); nothing
 * is persisted: every engine starts with a fresh cluster id and no topics. Within one engine a
 * partition that is closed and opened again keeps its data, like a file-backed one across restarts.
 */
import type { ClusterRecord, LogConfig, PartitionLog, StorageEngine, TopicRecord } from '../engine.js';
import { newClusterId } from '../file/file-engine.js';
import { StorageError } from '../file/storage-error.js';
import { MemoryPartitionLog, MemoryPartitionState } from './memory-partition-log.js';

export interface MemoryStorageEngineOptions {
  /** Wall clock in ms (LogAppendTime stamps, segment.ms). Tests pass a controllable one. */
  clock?: () => number;
}

export class MemoryStorageEngine implements StorageEngine {
  readonly kind = 'memory' as const;
  private readonly clock: () => number;
  private readonly clusterId = newClusterId();
  private topics: TopicRecord[] = [];
  private producerIdBlockEnd = 0n;
  private readonly partitions = new Map<string, MemoryPartitionState>();
  private readonly openLogs = new Map<string, MemoryPartitionLog>();
  private opened = false;

  constructor(options: MemoryStorageEngineOptions = {}) {
    this.clock = options.clock ?? Date.now;
  }

  async open(): Promise<ClusterRecord> {
    this.opened = true;
    return { clusterId: this.clusterId, topics: structuredClone(this.topics), producerIdBlockEnd: this.producerIdBlockEnd };
  }

  async saveTopics(topics: TopicRecord[]): Promise<void> {
    this.assertOpen();
    this.topics = structuredClone(topics);
  }

  async saveProducerIdBlockEnd(end: bigint): Promise<void> {
    this.assertOpen();
    this.producerIdBlockEnd = end;
  }

  async openPartition(topic: TopicRecord, partition: number, config: LogConfig): Promise<PartitionLog> {
    this.assertOpen();
    const key = `${topic.name}-${partition}`;
    const open = this.openLogs.get(key);
    if (open !== undefined) return open;
    let state = this.partitions.get(key);
    if (state === undefined || state.topicId !== topic.topicId) {
      state = new MemoryPartitionState(topic.topicId, this.clock());
      this.partitions.set(key, state);
    }
    const log: MemoryPartitionLog = new MemoryPartitionLog(topic.name, partition, state, config, this.clock, () => {
      if (this.openLogs.get(key) === log) this.openLogs.delete(key);
    });
    this.openLogs.set(key, log);
    return log;
  }

  async deletePartition(topic: TopicRecord, partition: number): Promise<void> {
    this.assertOpen();
    const key = `${topic.name}-${partition}`;
    await this.openLogs.get(key)?.close();
    this.partitions.delete(key);
  }

  async close(): Promise<void> {
    for (const log of [...this.openLogs.values()]) await log.close();
    this.opened = false;
  }

  private assertOpen(): void {
    if (!this.opened) throw new StorageError('TRIB_ERR_STORAGE_CLOSED', 'the memory storage engine is not open');
  }
}
