/**
 * Errors raised by the storage engines. `code` is stable (TRIB_ERR_*) so callers and users can match
 * on it; the message says what happened and what to do.
 */
export type StorageErrorCode =
  /** A partition log was used after close(). */
  | 'TRIB_ERR_STORAGE_CLOSED'
  /** An earlier write or fsync failed; the log refuses appends until it is reopened (recovered). */
  | 'TRIB_ERR_STORAGE_FAILED'
  /** Bytes handed to append() are not whole record batches. */
  | 'TRIB_ERR_STORAGE_BAD_BATCH'
  /** On-disk data that cannot be read back as record batches where the log says they are. */
  | 'TRIB_ERR_STORAGE_CORRUPT'
  /** The data directory is already open in this process, or belongs to another node. */
  | 'TRIB_ERR_STORAGE_IN_USE'
  /** cluster.json / topics.json cannot be understood. */
  | 'TRIB_ERR_STORAGE_METADATA';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}
