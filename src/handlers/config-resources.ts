/**
 * What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: resource types, the
 * broker's (read-only) settings under Kafka's names, and validated changes to topic configs.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { KafkaProtocolError } from '../errors.js';
import { ConfigSource, ConfigType, topicConfigDefinition, validateTopicConfig } from '../cluster/topic-configs.js';
import type { Topic } from '../cluster/cluster.js';
import type { BrokerContext } from './handler.js';

/** Kafka's ConfigResource.Type codes. */
export const ResourceType = { topic: 2, broker: 4, brokerLogger: 8 } as const;

export interface DescribedConfig {
  name: string;
  value: string;
  readOnly: boolean;
  source: number;
  type: number;
}

/** The broker's settings that clients commonly read, under Kafka's names. Changed only at start-up. */
export function brokerConfigs(broker: BrokerContext): DescribedConfig[] {
  const { config } = broker;
  const listener = `PLAINTEXT://${config.host}:${broker.advertised.port}`;
  const entries: Array<[string, string, number]> = [
    ['advertised.listeners', `PLAINTEXT://${broker.advertised.host}:${broker.advertised.port}`, ConfigType.list],
    ['auto.create.topics.enable', String(config.autoCreateTopics), ConfigType.boolean],
    ['broker.id', String(config.nodeId), ConfigType.int],
    ['connections.max.idle.ms', String(config.connectionsMaxIdleMs), ConfigType.long],
    ['default.replication.factor', '1', ConfigType.int],
    ['fetch.max.bytes', String(config.fetchMaxBytes), ConfigType.int],
    ['listeners', listener, ConfigType.list],
    ['log.dirs', config.storage === 'file' ? config.dataDir : '', ConfigType.list],
    ['log.retention.check.interval.ms', String(config.retentionCheckIntervalMs), ConfigType.long],
    ['max.connections', String(config.maxConnections), ConfigType.int],
    ['message.max.bytes', String(config.messageMaxBytes), ConfigType.int],
    ['min.insync.replicas', '1', ConfigType.int],
    ['node.id', String(config.nodeId), ConfigType.int],
    ['num.partitions', String(config.defaultPartitions), ConfigType.int],
    ['offsets.topic.replication.factor', '1', ConfigType.short],
    ['socket.request.max.bytes', String(config.maxRequestBytes), ConfigType.int],
    ['transaction.state.log.replication.factor', '1', ConfigType.short],
  ];
  return entries.map(([name, value, type]) => ({ name, value, readOnly: true, source: ConfigSource.staticBroker, type }));
}

/** Checks that a broker resource name designates this broker ("" means the cluster-wide default). */
export function checkBrokerResource(broker: BrokerContext, resourceName: string): void {
  if (resourceName !== '' && resourceName !== String(broker.config.nodeId)) {
    throw new KafkaProtocolError(
      ErrorCode.INVALID_REQUEST,
      `Unexpected broker id, expected ${broker.config.nodeId} or empty string, but received ${resourceName}`,
    );
  }
}

/** Broker settings are fixed at start-up; changing them at run time is refused with a clear reason. */
export function refuseBrokerChange(broker: BrokerContext, resourceName: string): never {
  checkBrokerResource(broker, resourceName);
  throw new KafkaProtocolError(
    ErrorCode.INVALID_REQUEST,
    'Tributary broker settings cannot be changed at run time; set them on the command line or in the environment and restart.',
  );
}

export function unknownResourceType(resourceType: number): KafkaProtocolError {
  return new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}; topics (2) and brokers (4) are supported.`);
}

/** Validates a complete set of topic config overrides; throws INVALID_CONFIG naming the bad one. */
export function validateTopicConfigs(configs: Record<string, string | null>): Record<string, string> {
  for (const [name, value] of Object.entries(configs)) {
    const problem = validateTopicConfig(name, value);
    if (problem !== null) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, problem);
  }
  return configs as Record<string, string>;
}

/** Kafka's AlterConfigOp.OpType codes for IncrementalAlterConfigs. */
export const ConfigOperation = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

/**
 * Applies IncrementalAlterConfigs operations to a topic's overrides and returns the new overrides.
 * APPEND and SUBTRACT work on list configs only, as in Kafka.
 */
export function applyIncrementalChanges(
  current: Readonly<Record<string, string>>,
  changes: ReadonlyArray<{ name: string; configOperation: number; value: string | null }>,
): Record<string, string> {
  const next: Record<string, string | null> = { ...current };
  const seen = new Set<string>();
  for (const change of changes) {
    if (seen.has(change.name)) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${change.name}`);
    }
    seen.add(change.name);
    const definition = topicConfigDefinition(change.name);
    if (definition === undefined) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${change.name}`);
    switch (change.configOperation) {
      case ConfigOperation.set:
        next[change.name] = change.value;
        break;
      case ConfigOperation.delete:
        delete next[change.name];
        break;
      case ConfigOperation.append:
      case ConfigOperation.subtract: {
        if (definition.type !== 'list') {
          throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, `Config value append/subtract is not allowed for config key ${change.name}`);
        }
        const existing = (next[change.name] ?? definition.default).split(',').map((item) => item.trim()).filter((item) => item !== '');
        const items = (change.value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
        const merged =
          change.configOperation === ConfigOperation.append
            ? [...existing, ...items.filter((item) => !existing.includes(item))]
            : existing.filter((item) => !items.includes(item));
        next[change.name] = merged.join(',');
        break;
      }
      default:
        throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${change.configOperation} for ${change.name}`);
    }
  }
  return validateTopicConfigs(next);
}

export interface AlterResult {
  resourceType: number;
  resourceName: string;
  errorCode: number;
  errorMessage: string | null;
}

/**
 * The shared shape of AlterConfigs and IncrementalAlterConfigs: for each resource, refuse brokers
 * and unknown types, find the topic, let `nextConfigs` compute its new overrides (throwing
 * KafkaProtocolError for invalid ones), and store them unless `validateOnly`.
 */
export async function alterTopicConfigs<Resource extends { resourceType: number; resourceName: string }>(
  broker: BrokerContext,
  resources: readonly Resource[],
  validateOnly: boolean,
  nextConfigs: (topic: Topic, resource: Resource) => Record<string, string>,
): Promise<AlterResult[]> {
  const results: AlterResult[] = [];
  for (const resource of resources) {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    try {
      if (resource.resourceType === ResourceType.broker) refuseBrokerChange(broker, resource.resourceName);
      if (resource.resourceType !== ResourceType.topic) throw unknownResourceType(resource.resourceType);
      const topic = broker.cluster.topic(resource.resourceName);
      if (topic === undefined) {
        throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resource.resourceName} does not exist`);
      }
      const next = nextConfigs(topic, resource);
      if (!validateOnly) await broker.cluster.setTopicConfigs(resource.resourceName, next);
      results.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
    } catch (error) {
      if (!(error instanceof KafkaProtocolError)) throw error;
      results.push({ ...base, errorCode: error.errorCode, errorMessage: error.message });
    }
  }
  return results;
}
