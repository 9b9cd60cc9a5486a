/** DescribeCluster (60): this broker as the whole cluster and its controller. */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeDescribeClusterRequest, encodeDescribeClusterResponse } from '../protocol/generated/describe-cluster.js';
import { AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS } from '../cluster/authorized-operations.js';
import { defineHandler } from './handler.js';

/** DescribeCluster v1 endpoint types. */
const EndpointType = { brokers: 1, controllers: 2 } as const;

export const describeClusterHandler = defineHandler({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeDescribeClusterRequest,
  encodeResponse: encodeDescribeClusterResponse,
  handle(request, { broker }) {
    const { config, cluster, advertised } = broker;
    const base = {
      throttleTimeMs: 0,
      endpointType: request.endpointType,
      clusterId: cluster.clusterId,
      controllerId: config.nodeId,
      clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : AUTHORIZED_OPERATIONS_OMITTED,
    };
    if (request.endpointType !== EndpointType.brokers) {
      return {
        ...base,
        errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: `Endpoint type ${request.endpointType} is not served by a broker; ask for brokers (1).`,
        brokers: [],
      };
    }
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      brokers: [{ brokerId: config.nodeId, host: advertised.host, port: advertised.port, rack: null }],
    };
  },
});
