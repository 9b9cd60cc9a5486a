/** DescribeConfigs (32): every config of a topic or of this broker, with its value and source. */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import {
  decodeDescribeConfigsRequest,
  encodeDescribeConfigsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponseInput,
} from '../protocol/generated/describe-configs.js';
import { KafkaProtocolError } from '../errors.js';
import { ConfigSource } from '../cluster/topic-configs.js';
import { defineHandler, type BrokerContext } from './handler.js';
import { ResourceType, brokerConfigs, checkBrokerResource, unknownResourceType, type DescribedConfig } from './config-resources.js';

type Result = DescribeConfigsResponseInput['results'][number];

function configsOf(resource: DescribeConfigsRequest['resources'][number], broker: BrokerContext): DescribedConfig[] {
  switch (resource.resourceType) {
    case ResourceType.topic: {
      const topic = broker.cluster.topic(resource.resourceName);
      if (topic === undefined) {
        throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resource.resourceName} does not exist`);
      }
      return broker.cluster.topicConfigEntries(topic).map((entry) => ({ ...entry, readOnly: false }));
    }
    case ResourceType.broker:
      checkBrokerResource(broker, resource.resourceName);
      return brokerConfigs(broker);
    case ResourceType.brokerLogger:
      checkBrokerResource(broker, resource.resourceName);
      return [];
    default:
      throw unknownResourceType(resource.resourceType);
  }
}

export const describeConfigsHandler = defineHandler({
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeDescribeConfigsRequest,
  encodeResponse: encodeDescribeConfigsResponse,
  handle(request, { broker }) {
    const results = request.resources.map((resource): Result => {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      try {
        const wanted = resource.configurationKeys === null ? null : new Set(resource.configurationKeys);
        const configs = configsOf(resource, broker)
          .filter((entry) => wanted === null || wanted.has(entry.name))
          .map((entry) => ({
            name: entry.name,
            value: entry.value,
            readOnly: entry.readOnly,
            isDefault: entry.source === ConfigSource.default,
            configSource: entry.source,
            isSensitive: false,
            synonyms: request.includeSynonyms ? [{ name: entry.name, value: entry.value, source: entry.source }] : [],
            configType: entry.type,
            documentation: null,
          }));
        return { ...base, errorCode: ErrorCode.NONE, errorMessage: null, configs };
      } catch (error) {
        if (!(error instanceof KafkaProtocolError)) throw error;
        return { ...base, errorCode: error.errorCode, errorMessage: error.message, configs: [] };
      }
    });
    return { throttleTimeMs: 0, results };
  },
});
