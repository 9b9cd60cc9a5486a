/** IncrementalAlterConfigs (44): SET, DELETE, APPEND and SUBTRACT on a topic's config overrides. */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeIncrementalAlterConfigsRequest, encodeIncrementalAlterConfigsResponse } from '../protocol/generated/incremental-alter-configs.js';
import { defineHandler } from './handler.js';
import { alterTopicConfigs, applyIncrementalChanges } from './config-resources.js';

export const incrementalAlterConfigsHandler = defineHandler({
  apiKey: ApiKey.IncrementalAlterConfigs,
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeIncrementalAlterConfigsRequest,
  encodeResponse: encodeIncrementalAlterConfigsResponse,
  async handle(request, { broker }) {
    const responses = await alterTopicConfigs(broker, request.resources, request.validateOnly, (topic, resource) =>
      applyIncrementalChanges(topic.configs, resource.configs),
    );
    return { throttleTimeMs: 0, responses };
  },
});
