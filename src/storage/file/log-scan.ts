/**
 * Sequential scans over a segment's `.log`, batch by batch, for recovery and index rebuilds. The file
 * is read in large chunks and only batch headers are parsed; records are never decoded.
 */
import type { FileHandle } from 'node:fs/promises';
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, CURRENT_MAGIC, Offsets, batchCrcMatches } from '../../protocol/records/record-batch.js';
import { readAt } from './fs-util.js';

export interface ScannedBatch {
  /** Byte position of the batch in the file. */
  position: number;
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: bigint;
}

export interface ScanOutcome {
  /**
   * Position after the last batch accepted: the valid length of the log. When `visit` stopped the
   * scan, the position of the batch it stopped at.
   */
  validSize: number;
  /** 'end': every byte up to `end` formed valid batches; 'stopped': `visit` asked to stop. */
  outcome: 'end' | 'stopped' | 'torn' | 'corrupt';
  reason: string;
}

/** Returned by a `visit` callback to end the scan at the batch just visited. */
export const STOP_SCAN: unique symbol = Symbol('stop scan');

const DEFAULT_CHUNK = 1 << 20;

/**
 * Walks the batches in [start, end) of `handle`. A batch is accepted when it is framed as a magic-2
 * batch that fits before `end`, its CRC-32C matches (when `verifyCrc`), and `visit` returns nothing;
 * `visit` may return a reason to reject the batch (e.g. an offset out of sequence). The scan stops at
 * the first rejected or incomplete batch and reports where the valid log ends. `visit` may also return
 * STOP_SCAN to end the scan early (the visited batch counts as not consumed).
 */
export async function scanBatches(
  handle: FileHandle,
  start: number,
  end: number,
  options: { verifyCrc: boolean; chunkSize?: number },
  visit: (batch: ScannedBatch) => string | typeof STOP_SCAN | undefined,
): Promise<ScanOutcome> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = start;
  let position = start;
  while (position < end) {
    if (end - position < BATCH_HEADER_SIZE) {
      return { validSize: position, outcome: 'torn', reason: `${end - position} bytes after the last batch` };
    }
    let at = position - chunkStart;
    if (at + BATCH_HEADER_SIZE > chunk.length) {
      chunk = await readAt(handle, position, Math.min(chunkSize, end - position));
      chunkStart = position;
      at = 0;
      if (chunk.length < BATCH_HEADER_SIZE) {
        return { validSize: position, outcome: 'torn', reason: 'file shorter than expected' };
      }
    }
    const size = chunk.readInt32BE(at + Offsets.batchLength) + BATCH_LOG_OVERHEAD;
    const magic = chunk.readInt8(at + Offsets.magic);
    const lastOffsetDelta = chunk.readInt32BE(at + Offsets.lastOffsetDelta);
    if (magic !== CURRENT_MAGIC || size < BATCH_HEADER_SIZE || lastOffsetDelta < 0) {
      return { validSize: position, outcome: 'corrupt', reason: `no valid batch header at position ${position}` };
    }
    if (size > end - position) {
      return { validSize: position, outcome: 'torn', reason: `batch of ${size} bytes at position ${position} runs past the end` };
    }
    if (options.verifyCrc) {
      if (at + size > chunk.length) {
        chunk = await readAt(handle, position, Math.max(size, Math.min(chunkSize, end - position)));
        chunkStart = position;
        at = 0;
        if (chunk.length < size) return { validSize: position, outcome: 'torn', reason: 'file shorter than expected' };
      }
      if (!batchCrcMatches(chunk, at, size)) {
        return { validSize: position, outcome: 'corrupt', reason: `CRC-32C mismatch in the batch at position ${position}` };
      }
    }
    const baseOffset = chunk.readBigInt64BE(at + Offsets.baseOffset);
    const rejection = visit({
      position,
      size,
      baseOffset,
      lastOffset: baseOffset + BigInt(lastOffsetDelta),
      maxTimestamp: chunk.readBigInt64BE(at + Offsets.maxTimestamp),
    });
    if (rejection === STOP_SCAN) return { validSize: position, outcome: 'stopped', reason: '' };
    if (rejection !== undefined) return { validSize: position, outcome: 'corrupt', reason: rejection };
    position += size;
  }
  return { validSize: position, outcome: 'end', reason: '' };
}
