/** AlterConfigs (33): replaces a topic's whole set of config overrides (the legacy, non-incremental API). */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { decodeAlterConfigsRequest, encodeAlterConfigsResponse } from '../protocol/generated/alter-configs.js';
import { defineHandler } from './handler.js';
import { alterTopicConfigs, validateTopicConfigs } from './config-resources.js';

export const alterConfigsHandler = defineHandler({
  apiKey: ApiKey.AlterConfigs,
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeAlterConfigsRequest,
  encodeResponse: encodeAlterConfigsResponse,
  async handle(request, { broker }) {
    const responses = await alterTopicConfigs(broker, request.resources, request.validateOnly, (_topic, resource) => {
      const configs: Record<string, string | null> = {};
      for (const config of resource.configs) configs[config.name] = config.value;
      return validateTopicConfigs(configs);
    });
    return { throttleTimeMs: 0, responses };
  },
});
