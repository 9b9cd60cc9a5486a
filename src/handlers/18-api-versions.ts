/** ApiVersions (18): the APIs and versions this broker serves, straight from the handler registry. */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeApiVersionsRequest, encodeApiVersionsResponse } from '../protocol/generated/api-versions.js';
import { defineHandler } from './handler.js';

/** Kafka's rule for ClientSoftwareName and ClientSoftwareVersion (KIP-511). */
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export const apiVersionsHandler = defineHandler({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeApiVersionsRequest,
  encodeResponse: encodeApiVersionsResponse,
  handle(request, { header, connection, broker }) {
    const apiKeys = broker.handlers.supported();
    if (header.apiVersion >= 3) {
      const { clientSoftwareName: name, clientSoftwareVersion: version } = request;
      if (!SOFTWARE_PATTERN.test(name) || !SOFTWARE_PATTERN.test(version)) {
        return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys, throttleTimeMs: 0 };
      }
      connection.clientSoftwareName = name;
      connection.clientSoftwareVersion = version;
      connection.logger.debug({ clientId: header.clientId, clientSoftwareName: name, clientSoftwareVersion: version }, 'client identified');
    }
    return { errorCode: ErrorCode.NONE, apiKeys, throttleTimeMs: 0 };
  },
});
