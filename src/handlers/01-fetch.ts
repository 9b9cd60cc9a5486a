/**
 * Fetch (1), v4+ (record batch v2). Reads whole batches straight from the log, honouring the
 * per-partition and total byte limits with KIP-74's exception (the first batch of the first
 * non-empty partition is returned even when larger, so a consumer always progresses). When fewer
 * than MinBytes are available the request long-polls: it is woken by appends to its partitions
 * (never by a polling timer) and answers at MaxWaitMs at the latest.
 *
 * Fetch sessions (KIP-227) are declined: the response's SessionId is always 0, so clients keep
 * sending full fetch requests, which the protocol allows.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import {
  decodeFetchRequest,
  encodeFetchResponse,
  type FetchRequest,
  type FetchResponseInput,
} from '../protocol/generated/fetch.js';
import type { Partition } from '../cluster/partition.js';
import { defineHandler, type BrokerContext } from './handler.js';
import { leaderEpochError } from './leader-epoch.js';

type TopicResponse = FetchResponseInput['responses'][number];
type PartitionResponse = TopicResponse['partitions'][number];

const EMPTY: Buffer = Buffer.alloc(0);

interface FetchTarget {
  /** Position of the topic in the request, to keep the response in request order. */
  topicIndex: number;
  topicName: string;
  topicId: string;
  partitionIndex: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
}

function targetsOf(request: FetchRequest, version: number, broker: BrokerContext): FetchTarget[] {
  const targets: FetchTarget[] = [];
  request.topics.forEach((topic, topicIndex) => {
    const known = version >= 13 ? broker.cluster.topicById(topic.topicId) : broker.cluster.topic(topic.topic);
    for (const partition of topic.partitions) {
      targets.push({
        topicIndex,
        topicName: version >= 13 ? (known?.name ?? '') : topic.topic,
        topicId: topic.topicId,
        partitionIndex: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        currentLeaderEpoch: partition.currentLeaderEpoch,
      });
    }
  });
  return targets;
}

function errorResponse(partitionIndex: number, errorCode: number, partition?: Partition): PartitionResponse {
  return {
    partitionIndex,
    errorCode,
    highWatermark: partition?.highWatermark ?? -1n,
    lastStableOffset: partition?.highWatermark ?? -1n,
    logStartOffset: partition?.logStartOffset ?? -1n,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: EMPTY,
  };
}

interface ReadRound {
  partitions: PartitionResponse[];
  bytes: number;
  hasError: boolean;
  /** Log sizes at the time of the read, to estimate how many bytes arrive while waiting. */
  sizes: number[];
  watched: Partition[];
}

async function readOnce(targets: FetchTarget[], maxBytes: number, broker: BrokerContext, version: number): Promise<ReadRound> {
  const round: ReadRound = { partitions: [], bytes: 0, hasError: false, sizes: [], watched: [] };
  for (const target of targets) {
    const topic = broker.cluster.topic(target.topicName);
    const partition = topic !== undefined && (version < 13 || topic.topicId === target.topicId) ? topic.partitions[target.partitionIndex] : undefined;
    if (partition === undefined) {
      const unknown = version >= 13 && topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      round.partitions.push(errorResponse(target.partitionIndex, unknown));
      round.hasError = true;
      continue;
    }
    round.watched.push(partition);
    round.sizes.push(partition.log.sizeInBytes);
    const epochError = leaderEpochError(partition, target.currentLeaderEpoch);
    if (epochError !== ErrorCode.NONE) {
      round.partitions.push(errorResponse(target.partitionIndex, epochError, partition));
      round.hasError = true;
      continue;
    }
    const highWatermark = partition.highWatermark;
    if (target.fetchOffset < partition.logStartOffset || target.fetchOffset > highWatermark) {
      round.partitions.push(errorResponse(target.partitionIndex, ErrorCode.OFFSET_OUT_OF_RANGE, partition));
      round.hasError = true;
      continue;
    }
    const limit = Math.min(target.partitionMaxBytes, maxBytes - round.bytes);
    let records = EMPTY;
    let logStartOffset = partition.logStartOffset;
    let watermark = highWatermark;
    if (target.fetchOffset < highWatermark && (limit > 0 || round.bytes === 0)) {
      try {
        const read = await partition.log.read(target.fetchOffset, Math.max(limit, 1));
        // KIP-74: only the first non-empty partition may exceed its limit.
        records = read.records.length > limit && round.bytes > 0 ? EMPTY : read.records;
        logStartOffset = read.logStartOffset;
        watermark = read.highWatermark;
      } catch (error) {
        broker.logger.error({ err: error, topic: target.topicName, partition: target.partitionIndex }, 'fetch read failed');
        round.partitions.push(errorResponse(target.partitionIndex, ErrorCode.KAFKA_STORAGE_ERROR, partition));
        round.hasError = true;
        continue;
      }
    }
    round.bytes += records.length;
    round.partitions.push({
      partitionIndex: target.partitionIndex,
      errorCode: ErrorCode.NONE,
      highWatermark: watermark,
      lastStableOffset: watermark,
      logStartOffset,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records,
    });
  }
  return round;
}

/**
 * Resolves after the first append to any watched partition that brings the estimated new bytes to
 * `neededBytes`, or when `timeoutMs` passes, or when the broker shuts down.
 */
function waitForData(round: ReadRound, neededBytes: number, timeoutMs: number, shutdown: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribers: Array<() => void> = [];
    const finish = () => {
      clearTimeout(timer);
      shutdown.removeEventListener('abort', finish);
      for (const unsubscribe of unsubscribers) unsubscribe();
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    shutdown.addEventListener('abort', finish);
    const onAppend = () => {
      let grown = 0;
      round.watched.forEach((watched, j) => {
        grown += Math.max(0, watched.log.sizeInBytes - round.sizes[j]!);
      });
      if (grown >= neededBytes) finish();
    };
    for (const partition of round.watched) unsubscribers.push(partition.onAppend(onAppend));
  });
}

function assemble(request: FetchRequest, targets: FetchTarget[], round: ReadRound, version: number): TopicResponse[] {
  const topics: TopicResponse[] = request.topics.map((topic) => ({
    topic: topic.topic,
    topicId: topic.topicId,
    partitions: [],
  }));
  targets.forEach((target, i) => topics[target.topicIndex]!.partitions.push(round.partitions[i]!));
  if (version >= 13) for (const topic of topics) topic.topic = '';
  return topics;
}

export const fetchHandler = defineHandler({
  apiKey: ApiKey.Fetch,
  minVersion: 4,
  maxVersion: 17,
  decodeRequest: decodeFetchRequest,
  encodeResponse: encodeFetchResponse,
  async handle(request, { header, broker }) {
    const version = header.apiVersion;
    // We never hand out sessions, so an incremental fetch names a session we do not have.
    if (version >= 7 && request.sessionId !== 0 && request.sessionEpoch !== -1) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const maxBytes = Math.max(0, Math.min(request.maxBytes, broker.config.fetchMaxBytes));
    const targets = targetsOf(request, version, broker);
    let round = await readOnce(targets, maxBytes, broker, version);
    const satisfied = round.hasError || round.bytes >= request.minBytes || request.maxWaitMs <= 0 || broker.shutdown.aborted;
    if (!satisfied) {
      await waitForData(round, Math.max(1, request.minBytes - round.bytes), request.maxWaitMs, broker.shutdown);
      round = await readOnce(targets, maxBytes, broker, version);
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: assemble(request, targets, round, version) };
  },
});
