/**
 * Errors thrown by Tributary's library API and start-up. Each has a stable `code` (TRIB_ERR_*) that
 * programs can match on, and a message that says what went wrong and what to do about it.
 */
export type TributaryErrorCode =
  | 'TRIB_ERR_INVALID_CONFIG'
  | 'TRIB_ERR_LISTEN_FAILED'
  | 'TRIB_ERR_STORAGE'
  | 'TRIB_ERR_CLOSED';

export class TributaryError extends Error {
  readonly code: TributaryErrorCode;

  constructor(code: TributaryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TributaryError';
    this.code = code;
  }
}

/** An error a request handler turns into a Kafka error code in its response. */
export class KafkaProtocolError extends Error {
  readonly errorCode: number;

  constructor(errorCode: number, message: string) {
    super(message);
    this.name = 'KafkaProtocolError';
    this.errorCode = errorCode;
  }
}
