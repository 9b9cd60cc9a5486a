/**
 * What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: resource types, the
 * broker's (read-only) settings under Kafka's names, and validated changes to topic configs.
 */
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { KafkaProtocolError } from '../errors.js';
import { ConfigSource, ConfigType, topicConfigConflict, topicConfigDefinition, validateTopicConfig } from '../cluster/topic-configs.js';
import type { Topic } from '../cluster/cluster.js';
import { SETTINGS, kafkaTypeOf, settingText } from '../config.js';
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

/**
 * The broker's settings under Kafka's names, derived from the settings table (config.ts), plus the
 * replication settings a single node has by nature. Changed only at start-up. A value equal to
 * Tributary's default is reported as DEFAULT_CONFIG, any other as STATIC_BROKER_CONFIG.
 */
export function brokerConfigs(broker: BrokerContext): DescribedConfig[] {
  const { config } = broker;
  const entries: DescribedConfig[] = [];
  for (const setting of SETTINGS) {
    if (!setting.kafka) continue;
    // An in-memory broker has no log directory.
    const value = setting.key === 'dataDir' && config.storage === 'memory' ? '' : settingText(setting, config);
    if (value === null) continue;
    const isDefault = setting.default !== null && value === setting.type.toText(setting.default as never);
    entries.push({ name: setting.name, value, readOnly: true, source: isDefault ? ConfigSource.default : ConfigSource.staticBroker, type: kafkaTypeOf(setting) });
  }
  const fixed: Array<[string, string, number]> = [
    ['advertised.listeners', `PLAINTEXT://${broker.advertised.host}:${broker.advertised.port}`, ConfigType.list],
    ['broker.id', String(config.nodeId), ConfigType.int],
    ['default.replication.factor', '1', ConfigType.int],
    ['listeners', `PLAINTEXT://${config.host}:${broker.advertised.port}`, ConfigType.list],
    ['min.insync.replicas', '1', ConfigType.int],
    ['offsets.topic.replication.factor', '1', ConfigType.short],
    ['transaction.state.log.replication.factor', '1', ConfigType.short],
  ];
  for (const [name, value, type] of fixed) entries.push({ name, value, readOnly: true, source: ConfigSource.staticBroker, type });
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
  const conflict = topicConfigConflict(configs);
  if (conflict !== null) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, conflict);
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
