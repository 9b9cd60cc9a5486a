/**
 * The default storage engine: partition logs on local disk in Kafka's layout (the log manager of
 * Kafka's layering: engine -> partition log -> segments).
 *
 * The data directory holds:
 * ```
 * cluster.json                  { "version": 1, "clusterId": "<22 chars>", "nodeId": <n>,
 *                                 "producerIdBlockEnd": "<n>" }, replaced atomically
 * topics.json                   { "version": 1, "topics": [TopicRecord...] }, replaced atomically
 * clean-shutdown                present only between a clean close and the next open
 * <topic>-<partition>/          one directory per partition, see partition-log.ts
 * <topic>-<partition>.<hex>-delete/   a deleted partition being removed
 * ```
 * Start-up: when `clean-shutdown` is missing, the previous run did not end with close(); every
 * partition directory then gets a `recovery-needed` flag before the marker's absence can be
 * forgotten, and each partition recovers when it is opened (whenever that is) and drops the flag
 * only on its own clean close. The marker is removed (durably) on open, so a crash during this run
 * is detected by the next.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../../logger.js';
import type { ClusterRecord, LogConfig, PartitionLog, StorageEngine, TopicRecord } from '../engine.js';
import { TEMP_SUFFIX, fsyncDirectory, isNotFound, pathExists, writeFileAtomic } from './fs-util.js';
import { FilePartitionLog, RECOVERY_FLAG_FILE } from './partition-log.js';
import { InlineWritePolicy, type InlineWriteOptions } from './inline-writes.js';
import { StorageError } from './storage-error.js';

export const CLUSTER_FILE = 'cluster.json';
export const TOPICS_FILE = 'topics.json';
export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown';
export const PARTITION_METADATA_FILE = 'partition.json';
const DELETE_DIR_SUFFIX = '-delete';

export interface FileStorageEngineOptions {
  dataDir: string;
  /** Stored in cluster.json on first start; opening the directory with another node id is refused. */
  nodeId?: number;
  /** Wall clock in ms (LogAppendTime stamps, segment.ms). Tests pass a controllable one. */
  clock?: () => number;
  /** Where recovery reports what it found and did (truncations, rebuilt indexes). */
  logger?: Logger;
  /**
   * Fault injection for tests: runs before every fdatasync of a segment; throwing makes that fsync
   * fail as a real one would.
   */
  beforeDataSync?: (path: string) => void | Promise<void>;
  /** Told after every fdatasync of a segment with its duration (the fsync latency metric). */
  onDataSync?: (durationSeconds: number) => void;
  /** How long a rolled segment waits for its flush and index files (log.roll.flush.delay.ms). */
  rollFlushDelayMs?: number;
  /** Which appends are written on the event loop (tests pass a clock and limits; see inline-writes.ts). */
  inlineWrites?: Omit<InlineWriteOptions, 'onBackOff'>;
  /** Told when slow inline writes send appends to the thread pool for a while (a metric). */
  onInlineWriteBackOff?: () => void;
}

/** Data directories open in this process: two engines on one directory would corrupt it. */
const openDirectories = new Set<string>();

export class FileStorageEngine implements StorageEngine {
  readonly kind = 'file' as const;
  readonly dataDir: string;
  private readonly options: FileStorageEngineOptions;
  private readonly clock: () => number;
  private readonly inlineWrites: InlineWritePolicy;
  private readonly partitions = new Map<string, FilePartitionLog>();
  private opened = false;
  private uncleanStart = false;
  private clusterMetadata: { clusterId: string; nodeId: number; producerIdBlockEnd: bigint } | null = null;
  private metadataWrites: Promise<void> = Promise.resolve();

  constructor(options: FileStorageEngineOptions) {
    this.options = options;
    this.dataDir = resolve(options.dataDir);
    this.clock = options.clock ?? Date.now;
    // One for all partitions: they write to the same device.
    this.inlineWrites = new InlineWritePolicy({
      ...options.inlineWrites,
      onBackOff: ({ stalledMs, backOffMs }) => {
        options.logger?.warn(
          { stalledMs: Math.round(stalledMs), backOffMs },
          'slow appends held the event loop; writing them in the thread pool for a while (is the disk falling behind?)',
        );
        options.onInlineWriteBackOff?.();
      },
    });
  }

  /** True when the last open found no clean-shutdown marker (the previous run crashed). */
  get recoveredFromUncleanShutdown(): boolean {
    return this.uncleanStart;
  }

  async open(): Promise<ClusterRecord> {
    if (this.opened) throw new StorageError('TRIB_ERR_STORAGE_IN_USE', `storage engine for ${this.dataDir} is already open`);
    if (openDirectories.has(this.dataDir)) {
      throw new StorageError(
        'TRIB_ERR_STORAGE_IN_USE',
        `data directory ${this.dataDir} is already open in this process; close the other broker or use another directory`,
      );
    }
    openDirectories.add(this.dataDir);
    try {
      await mkdir(this.dataDir, { recursive: true });
      const existed = await pathExists(join(this.dataDir, CLUSTER_FILE));
      const metadata = await this.loadClusterMetadata();
      this.clusterMetadata = metadata;
      const topics = await this.loadTopics();
      const names = await readdir(this.dataDir, { withFileTypes: true });
      for (const entry of names) {
        if (entry.isDirectory() && entry.name.endsWith(DELETE_DIR_SUFFIX)) {
          await rm(join(this.dataDir, entry.name), { recursive: true, force: true });
        } else if (entry.isFile() && entry.name.endsWith(TEMP_SUFFIX)) {
          await unlink(join(this.dataDir, entry.name)).catch(() => undefined);
        }
      }
      const marker = join(this.dataDir, CLEAN_SHUTDOWN_FILE);
      // A new data directory has nothing to recover; elsewhere a missing marker means a crash.
      let clean = true;
      try {
        await unlink(marker);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        clean = !existed;
      }
      this.uncleanStart = !clean;
      if (!clean) {
        this.options.logger?.warn({ dataDir: this.dataDir }, 'no clean-shutdown marker: partitions will be recovered as they are opened');
        // Flag every partition before anything else happens, so that partitions opened late (or in a
        // later run) still know that they must recover.
        const partitionDirectories = names.filter((entry) => entry.isDirectory() && isPartitionDirectory(entry.name));
        await Promise.all(
          partitionDirectories.map(async (entry) => {
            const directory = join(this.dataDir, entry.name);
            await writeFile(join(directory, RECOVERY_FLAG_FILE), '');
            await fsyncDirectory(directory);
          }),
        );
      }
      await fsyncDirectory(this.dataDir);
      this.opened = true;
      return { clusterId: metadata.clusterId, topics, producerIdBlockEnd: metadata.producerIdBlockEnd };
    } catch (error) {
      openDirectories.delete(this.dataDir);
      throw error;
    }
  }

  private async loadClusterMetadata(): Promise<{ clusterId: string; nodeId: number; producerIdBlockEnd: bigint }> {
    const path = join(this.dataDir, CLUSTER_FILE);
    let text: string | null = null;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (text === null) {
      const metadata = { clusterId: newClusterId(), nodeId: this.options.nodeId ?? 0, producerIdBlockEnd: 0n };
      await this.writeClusterMetadata(metadata);
      return metadata;
    }
    let parsed: { clusterId?: unknown; nodeId?: unknown; producerIdBlockEnd?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (error) {
      throw new StorageError('TRIB_ERR_STORAGE_METADATA', `${path} is not valid JSON; restore it or move the data directory away`, { cause: error });
    }
    if (typeof parsed.clusterId !== 'string' || parsed.clusterId === '') {
      throw new StorageError('TRIB_ERR_STORAGE_METADATA', `${path} has no clusterId; restore it or move the data directory away`);
    }
    const nodeId = typeof parsed.nodeId === 'number' ? parsed.nodeId : 0;
    if (this.options.nodeId !== undefined && nodeId !== this.options.nodeId) {
      throw new StorageError(
        'TRIB_ERR_STORAGE_IN_USE',
        `data directory ${this.dataDir} belongs to node ${nodeId}, not node ${this.options.nodeId}; ` +
          'configure that node id or use another directory',
      );
    }
    let producerIdBlockEnd = 0n;
    try {
      producerIdBlockEnd = BigInt(String(parsed.producerIdBlockEnd ?? '0'));
    } catch (error) {
      throw new StorageError('TRIB_ERR_STORAGE_METADATA', `${path} has an invalid producerIdBlockEnd`, { cause: error });
    }
    return { clusterId: parsed.clusterId, nodeId, producerIdBlockEnd };
  }

  private async writeClusterMetadata(metadata: { clusterId: string; nodeId: number; producerIdBlockEnd: bigint }): Promise<void> {
    const json = {
      version: 1,
      clusterId: metadata.clusterId,
      nodeId: metadata.nodeId,
      producerIdBlockEnd: metadata.producerIdBlockEnd.toString(),
    };
    await writeFileAtomic(join(this.dataDir, CLUSTER_FILE), JSON.stringify(json, null, 2) + '\n');
  }

  async saveProducerIdBlockEnd(end: bigint): Promise<void> {
    this.assertOpen();
    // Serialised, so an older value can never be renamed over a newer one.
    const write = this.metadataWrites.then(async () => {
      const metadata = { ...this.clusterMetadata!, producerIdBlockEnd: end };
      await this.writeClusterMetadata(metadata);
      this.clusterMetadata = metadata;
    });
    this.metadataWrites = write.catch(() => undefined);
    await write;
  }

  private async loadTopics(): Promise<TopicRecord[]> {
    const path = join(this.dataDir, TOPICS_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as { topics?: unknown };
      if (!Array.isArray(parsed.topics)) throw new Error('no topics array');
      return parsed.topics as TopicRecord[];
    } catch (error) {
      throw new StorageError('TRIB_ERR_STORAGE_METADATA', `cannot read ${path}: ${String(error)}`, { cause: error });
    }
  }

  async saveTopics(topics: TopicRecord[]): Promise<void> {
    this.assertOpen();
    await writeFileAtomic(join(this.dataDir, TOPICS_FILE), JSON.stringify({ version: 1, topics }, null, 2) + '\n');
  }

  async openPartition(topic: TopicRecord, partition: number, config: LogConfig): Promise<PartitionLog> {
    this.assertOpen();
    const key = partitionDirectoryName(topic.name, partition);
    const existing = this.partitions.get(key);
    if (existing !== undefined) {
      if (!existing.isClosed) return existing;
      // Closed by its owner: let the close finish before the directory is opened again.
      this.partitions.delete(key);
      await existing.close().catch(() => undefined);
    }
    const directory = join(this.dataDir, key);
    await this.claimDirectory(directory, topic);
    const log = await FilePartitionLog.open({
      directory,
      topic: topic.name,
      partition,
      config,
      clock: this.clock,
      hooks: { beforeDataSync: this.options.beforeDataSync, onDataSync: this.options.onDataSync },
      logger: this.options.logger,
      rollFlushDelayMs: this.options.rollFlushDelayMs,
      inlineWrites: this.inlineWrites,
    });
    this.partitions.set(key, log);
    return log;
  }

  /**
   * Makes sure `directory` belongs to this topic (by topic id): a directory left by an earlier topic
   * of the same name (deleted while the broker was down, say) is removed rather than adopted.
   */
  private async claimDirectory(directory: string, topic: TopicRecord): Promise<void> {
    const metadataPath = join(directory, PARTITION_METADATA_FILE);
    let storedId: string | null = null;
    try {
      const parsed = JSON.parse(await readFile(metadataPath, 'utf8')) as { topicId?: unknown };
      storedId = typeof parsed.topicId === 'string' ? parsed.topicId : null;
    } catch (error) {
      if (!isNotFound(error) && !(error instanceof SyntaxError)) throw error;
    }
    if (storedId !== null && storedId !== topic.topicId) await this.removeDirectory(directory);
    if (storedId !== topic.topicId) {
      const created = await mkdir(directory, { recursive: true });
      if (created !== undefined) await fsyncDirectory(this.dataDir);
      await writeFileAtomic(metadataPath, JSON.stringify({ version: 1, topicId: topic.topicId }) + '\n');
    }
  }

  async deletePartition(topic: TopicRecord, partition: number): Promise<void> {
    this.assertOpen();
    const key = partitionDirectoryName(topic.name, partition);
    const log = this.partitions.get(key);
    if (log !== undefined) {
      this.partitions.delete(key);
      await log.abandon();
    }
    await this.removeDirectory(join(this.dataDir, key));
  }

  /** Renames to `<name>.<random>-delete` (durably) then removes it, so the name is free at once. */
  private async removeDirectory(directory: string): Promise<void> {
    const doomed = `${directory}.${randomBytes(8).toString('hex')}${DELETE_DIR_SUFFIX}`;
    try {
      await rename(directory, doomed);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    await fsyncDirectory(this.dataDir);
    await rm(doomed, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    let clean = true;
    for (const log of this.partitions.values()) {
      try {
        await log.close();
      } catch {
        clean = false;
      }
    }
    this.partitions.clear();
    if (clean) {
      await writeFile(join(this.dataDir, CLEAN_SHUTDOWN_FILE), '');
      await fsyncDirectory(this.dataDir);
    }
    this.opened = false;
    openDirectories.delete(this.dataDir);
  }

  /**
   * Lets go of everything without flushing, checkpointing or marking a clean shutdown: the state a
   * crash leaves behind. For tests of recovery; the next open recovers.
   */
  async abandon(): Promise<void> {
    for (const log of this.partitions.values()) await log.abandon();
    this.partitions.clear();
    this.opened = false;
    openDirectories.delete(this.dataDir);
  }

  private assertOpen(): void {
    if (!this.opened) throw new StorageError('TRIB_ERR_STORAGE_CLOSED', `storage engine for ${this.dataDir} is not open`);
  }
}

export function partitionDirectoryName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

function isPartitionDirectory(name: string): boolean {
  return /^.+-\d+$/.test(name);
}

/** Kafka's cluster id format: a random UUID, base64url without padding (22 characters). */
export function newClusterId(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
}
