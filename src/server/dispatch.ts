/**
 * From a request frame to a response frame: header, handler lookup by API key and version, body
 * decode, handle, encode. Anything the broker cannot parse is a ProtocolViolation, which closes that
 * one connection, as Kafka does.
 *
 * The handler is called synchronously from `dispatch` (no await before it), so requests pipelined on
 * one connection start in arrival order; the Produce handler relies on this.
 */
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { decodeRequestHeader, encodeResponseHeader } from '../protocol/frame.js';
import { ApiKey } from '../protocol/generated/api-keys.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { encodeApiVersionsResponse } from '../protocol/generated/api-versions.js';
import type { BrokerContext } from '../handlers/handler.js';
import type { RequestMetrics } from '../metrics/request-metrics.js';
import { ProtocolViolation, type Connection } from './connection.js';

export type Dispatcher = (frame: Buffer, connection: Connection) => Promise<Buffer[] | null>;

export function createDispatcher(broker: BrokerContext): Dispatcher {
  const metrics = broker.requestMetrics ?? null;
  return (frame, connection) => {
    const startedMs = metrics === null ? 0 : performance.now();
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    if (!reader.ok) throw new ProtocolViolation(`malformed request header: ${reader.error}`);
    const { apiKey, apiVersion, correlationId } = header;
    if (connection.clientId === undefined) connection.clientId = header.clientId;
    const handler = broker.handlers.get(apiKey);

    if (handler === undefined || apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      // KIP-511: an ApiVersions request of a version we do not know gets a v0 answer listing what we
      // support, so the client can retry with a version we share.
      if (apiKey === ApiKey.ApiVersions) {
        return Promise.resolve(
          measured(
            metrics,
            apiKey,
            0,
            frame.length,
            startedMs,
            frameResponse(apiKey, 0, correlationId, (w) =>
              encodeApiVersionsResponse(w, 0, {
                errorCode: ErrorCode.UNSUPPORTED_VERSION,
                apiKeys: broker.handlers.supported(),
                throttleTimeMs: 0,
              }),
            ),
          ),
        );
      }
      throw new ProtocolViolation(
        handler === undefined
          ? `unsupported API key ${apiKey}`
          : `unsupported version ${apiVersion} of API ${apiKey} (supported ${handler.minVersion}-${handler.maxVersion})`,
      );
    }

    const request: unknown = handler.decodeRequest(reader, apiVersion);
    if (!reader.ok) throw new ProtocolViolation(`malformed request body (API ${apiKey} v${apiVersion}): ${reader.error}`);

    const outcome = handler.handle(request, { header, connection, broker });
    const respond = (response: unknown) =>
      measured(
        metrics,
        apiKey,
        apiVersion,
        frame.length,
        startedMs,
        response === null ? null : frameResponse(apiKey, apiVersion, correlationId, (w) => handler.encodeResponse(w, apiVersion, response)),
      );
    return outcome instanceof Promise ? outcome.then(respond) : Promise.resolve(respond(outcome));
  };
}

/**
 * Produce requests of one connection may run alongside each other (see Connection): each hands its
 * batches to the partition logs synchronously, in arrival order, so overlapping keeps their order.
 */
export function mayOverlap(frame: Buffer): boolean {
  return frame.length >= 2 && frame.readInt16BE(0) === ApiKey.Produce;
}

/** One metrics update per request: count, bytes in and out (size prefixes included), latency. */
function measured(
  metrics: RequestMetrics | null,
  apiKey: number,
  version: number,
  frameLength: number,
  startedMs: number,
  chunks: Buffer[] | null,
): Buffer[] | null {
  if (metrics !== null) {
    const responseBytes = chunks === null ? 0 : chunks[0]!.readInt32BE(0) + 4;
    metrics.record(apiKey, version, frameLength + 4, responseBytes, (performance.now() - startedMs) / 1000);
  }
  return chunks;
}

/** Encodes a whole response frame: size, response header, body. */
function frameResponse(apiKey: number, apiVersion: number, correlationId: number, encodeBody: (w: Writer) => void): Buffer[] {
  const writer = new Writer(512);
  writer.int32(0); // size, patched below
  encodeResponseHeader(writer, apiKey, apiVersion, correlationId);
  encodeBody(writer);
  const chunks = writer.chunks();
  chunks[0]!.writeInt32BE(writer.length - 4, 0);
  return chunks;
}
