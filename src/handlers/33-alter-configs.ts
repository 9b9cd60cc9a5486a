/** AlterConfigs (33): replaces a topic's whole set of config overrides (the legacy, non-incremental API). */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeAlterConfigsRequest, encodeAlterConfigsResponse } from '../protocol/generated/alter-configs.js';
import { KafkaProtocolError } from '../errors.js';
import { defineHandler } from './handler.js';
import { ResourceType, refuseBrokerChange, unknownResourceType, validateTopicConfigs } from './config-resources.js';

export const alterConfigsHandler = defineHandler({
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeAlterConfigsRequest,
  encodeResponse: encodeAlterConfigsResponse,
  async handle(request, { broker }) {
    const responses = [];
    for (const resource of request.resources) {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      try {
        if (resource.resourceType === ResourceType.broker) refuseBrokerChange(broker, resource.resourceName);
        if (resource.resourceType !== ResourceType.topic) throw unknownResourceType(resource.resourceType);
        if (broker.cluster.topic(resource.resourceName) === undefined) {
          throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resource.resourceName} does not exist`);
        }
        const configs: Record<string, string | null> = {};
        for (const config of resource.configs) configs[config.name] = config.value;
        const validated = validateTopicConfigs(configs);
        if (!request.validateOnly) await broker.cluster.setTopicConfigs(resource.resourceName, validated);
        responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        if (!(error instanceof KafkaProtocolError)) throw error;
        responses.push({ ...base, errorCode: error.errorCode, errorMessage: error.message });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
});
