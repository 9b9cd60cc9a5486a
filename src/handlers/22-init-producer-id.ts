/**
 * InitProducerId (22) for idempotent producers: a fresh producer id at epoch 0. (Java producers are
 * idempotent by default, and franz-go always is, so plain producing needs this.) Transactional ids
 * need a transaction coordinator, which Tributary does not have yet: those requests are refused.
 */
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { decodeInitProducerIdRequest, encodeInitProducerIdResponse } from '../protocol/generated/init-producer-id.js';
import { defineHandler } from './handler.js';

export const initProducerIdHandler = defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeInitProducerIdRequest,
  encodeResponse: encodeInitProducerIdResponse,
  async handle(request, { broker, connection }) {
    if (request.transactionalId !== null) {
      broker.logger.warn(
        { connection: connection.id, transactionalId: request.transactionalId },
        'transactional producer refused: transactions are not supported yet',
      );
      return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION, producerId: -1n, producerEpoch: -1 };
    }
    const producerId = await broker.producerIds.allocate();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
});
