/** IncrementalAlterConfigs (44): SET, DELETE, APPEND and SUBTRACT on a topic's config overrides. */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeIncrementalAlterConfigsRequest, encodeIncrementalAlterConfigsResponse } from '../protocol/generated/incremental-alter-configs.js';
import { KafkaProtocolError } from '../errors.js';
import { defineHandler } from './handler.js';
import { ResourceType, applyIncrementalChanges, refuseBrokerChange, unknownResourceType } from './config-resources.js';

export const incrementalAlterConfigsHandler = defineHandler({
  apiKey: ApiKey.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeIncrementalAlterConfigsRequest,
  encodeResponse: encodeIncrementalAlterConfigsResponse,
  async handle(request, { broker }) {
    const responses = [];
    for (const resource of request.resources) {
      const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
      try {
        if (resource.resourceType === ResourceType.broker) refuseBrokerChange(broker, resource.resourceName);
        if (resource.resourceType !== ResourceType.topic) throw unknownResourceType(resource.resourceType);
        const topic = broker.cluster.topic(resource.resourceName);
        if (topic === undefined) {
          throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resource.resourceName} does not exist`);
        }
        const next = applyIncrementalChanges(topic.configs, resource.configs);
        if (!request.validateOnly) await broker.cluster.setTopicConfigs(resource.resourceName, next);
        responses.push({ ...base, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (error) {
        if (!(error instanceof KafkaProtocolError)) throw error;
        responses.push({ ...base, errorCode: error.errorCode, errorMessage: error.message });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
});
