/**
 * Errors of the Kafka client. Each class is a distinct kind of failure a caller (the CLI) reacts to
 * differently: a Kafka error code in a response, a broker that cannot be reached, a request that got
 * no answer in time, an API the broker does not offer in any version the client speaks.
 */
import { errorName, isRetriable } from '../protocol/generated/error-codes.js';

export class ClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A response carried a Kafka error code. `context` says what was being done ("creating topic 'orders'"). */
export class KafkaError extends ClientError {
  readonly errorCode: number;
  /** The protocol name, e.g. "TOPIC_ALREADY_EXISTS". */
  readonly errorName: string;
  readonly retriable: boolean;
  readonly context: string;
  /** The broker's own error message, when the response has one. */
  readonly serverMessage: string | null;

  constructor(errorCode: number, context: string, serverMessage: string | null = null) {
    const name = errorName(errorCode);
    super(`${name} while ${context}${serverMessage ? `: ${serverMessage}` : ''}`);
    this.errorCode = errorCode;
    this.errorName = name;
    this.retriable = isRetriable(errorCode);
    this.context = context;
    this.serverMessage = serverMessage;
  }
}

/** No broker could be reached, or a connection broke while requests were in flight. */
export class BrokerConnectionError extends ClientError {
  /** Every address that was tried, as host:port. */
  readonly addresses: string[];
  /**
   * No bootstrap broker could be reached at all. Not retried: a CLI pointed at the wrong address
   * should say so at once rather than after a minute of backoff.
   */
  readonly bootstrap: boolean;

  constructor(addresses: string[], message: string, options?: { cause?: unknown; bootstrap?: boolean }) {
    super(message, options);
    this.addresses = addresses;
    this.bootstrap = options?.bootstrap ?? false;
  }
}

/** A request got no response within its timeout; the connection is closed (as Kafka clients do). */
export class RequestTimeoutError extends ClientError {
  readonly address: string;
  readonly timeoutMs: number;

  constructor(address: string, what: string, timeoutMs: number) {
    super(`no response from ${address} to ${what} within ${timeoutMs} ms`);
    this.address = address;
    this.timeoutMs = timeoutMs;
  }
}

/** The broker offers an API in no version this client speaks (or not at all). */
export class UnsupportedVersionError extends ClientError {
  readonly apiName: string;

  constructor(address: string, apiName: string, client: { min: number; max: number }, broker: { min: number; max: number } | null) {
    super(
      broker === null
        ? `the broker at ${address} does not support ${apiName} (this client needs versions ${client.min}-${client.max})`
        : `the broker at ${address} supports ${apiName} versions ${broker.min}-${broker.max}, this client needs ${client.min}-${client.max}`,
    );
    this.apiName = apiName;
  }
}

/** Whether an error is worth retrying after refreshing metadata or reconnecting. */
export function isRetriableError(error: unknown): boolean {
  if (error instanceof KafkaError) return error.retriable;
  if (error instanceof BrokerConnectionError) return !error.bootstrap;
  return error instanceof RequestTimeoutError;
}
