/**
 * Request and response headers, and which header version an API version uses.
 *
 * Request header v1: api_key int16, api_version int16, correlation_id int32, client_id (nullable
 * string with an int16 length); v2 (flexible API versions) adds a tagged-field section after it. The
 * client id stays a non-compact string even in v2. Response header v0: correlation_id; v1 (flexible)
 * adds a tagged-field section.
 *
 * Request header v0 (no client id) exists only for ControlledShutdown v0, a Kafka-internal API of
 * ZooKeeper-era brokers that no client sends; it is not supported, every request is read as v1+.
 */
import type { Reader } from './primitives/reader.js';
import type { Writer } from './primitives/writer.js';
import { ApiKey, apiDefinition } from './generated/api-keys.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Kafka treats a null client id like an empty one; it is kept as sent here. */
  clientId: string | null;
}

/**
 * The request header version: 2 when the API version is flexible, else 1. As in Kafka, a version
 * above the highest known one counts as flexible when the API's flexible versions are open-ended
 * ("9+"), which is how a newer client encodes it; unknown API keys get 1.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  const definition = apiDefinition(apiKey);
  if (definition === undefined) return 1;
  return apiVersion >= definition.flexibleMinVersion ? 2 : 1;
}

/**
 * The response header version: 1 when the API version is flexible, else 0. ApiVersions responses
 * always use v0, so a client that does not know the broker's versions yet can read the answer (KIP-511).
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const definition = apiDefinition(apiKey);
  if (definition === undefined) return 0;
  return apiVersion >= definition.flexibleMinVersion ? 1 : 0;
}

/**
 * Reads a request header. Works for any API key and version, known or not, so the broker can still
 * answer (UNSUPPORTED_VERSION for ApiVersions, KIP-511) or log what it refuses. Problems are recorded
 * in the reader, never thrown.
 */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString();
  if (requestHeaderVersion(apiKey, apiVersion) >= 2) r.taggedFields();
  return { apiKey, apiVersion, correlationId, clientId };
}

/** Writes a request header in the version its API version calls for (no tagged fields). */
export function encodeRequestHeader(w: Writer, header: RequestHeader): void {
  w.int16(header.apiKey);
  w.int16(header.apiVersion);
  w.int32(header.correlationId);
  w.nullableString(header.clientId);
  if (requestHeaderVersion(header.apiKey, header.apiVersion) >= 2) w.uvarint(0);
}

/** Writes the response header for a response to (apiKey, apiVersion). */
export function encodeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) w.uvarint(0);
}

/** Reads the response header of a response to (apiKey, apiVersion) and returns its correlation id. */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): { correlationId: number } {
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) r.taggedFields();
  return { correlationId };
}
