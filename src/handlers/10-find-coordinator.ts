/**
 * FindCoordinator (10): group keys (key type 0) are coordinated by this broker; the first request
 * creates `__consumer_offsets`, as in Kafka. Transaction coordinators (key type 1) come later and
 * answer COORDINATOR_NOT_AVAILABLE; unknown key types are INVALID_REQUEST. v4+ batches keys.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import {
  decodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
  type FindCoordinatorResponseInput,
} from '../protocol/generated/find-coordinator.js';
import { defineHandler, type BrokerContext } from './handler.js';

type Coordinator = NonNullable<FindCoordinatorResponseInput['coordinators']>[number];

const KeyType = { group: 0, transaction: 1 } as const;

async function findOne(broker: BrokerContext, key: string, keyType: number): Promise<Coordinator> {
  const located = { key, nodeId: broker.config.nodeId, host: broker.advertised.host, port: broker.advertised.port };
  const failed = (errorCode: number, errorMessage: string): Coordinator => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage });
  switch (keyType) {
    case KeyType.group: {
      const errorCode = await broker.groups.ensureOffsetsTopic();
      if (errorCode !== ErrorCode.NONE) return failed(errorCode, 'The group coordinator is not available.');
      return { ...located, errorCode: ErrorCode.NONE, errorMessage: null };
    }
    case KeyType.transaction:
      return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'Tributary does not support transactions yet, so there is no transaction coordinator.');
    default:
      return failed(ErrorCode.INVALID_REQUEST, `Unknown coordinator key type ${keyType}.`);
  }
}

export const findCoordinatorHandler = defineHandler({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  decodeRequest: decodeFindCoordinatorRequest,
  encodeResponse: encodeFindCoordinatorResponse,
  async handle(request, { header, broker }): Promise<FindCoordinatorResponseInput> {
    // v0 has no key type: it only ever asked for group coordinators.
    const keyType = header.apiVersion >= 1 ? request.keyType : KeyType.group;
    if (header.apiVersion >= 4) {
      const coordinators = await Promise.all(request.coordinatorKeys.map((key) => findOne(broker, key, keyType)));
      return { throttleTimeMs: 0, coordinators };
    }
    const found = await findOne(broker, request.key, keyType);
    return {
      throttleTimeMs: 0,
      errorCode: found.errorCode,
      errorMessage: found.errorMessage,
      nodeId: found.nodeId,
      host: found.host,
      port: found.port,
    };
  },
});
