/**
 * One client connection: splits the byte stream into frames, hands each request to the dispatcher
 * as soon as it arrives (pipelining), and writes responses strictly in request order.
 *
 * Framing: `int32 size` then `size` bytes. A size below the smallest request header or above the
 * configured maximum closes the connection before anything is allocated for it; the bytes of a
 * frame are only gathered once they have all arrived, so memory follows what the peer actually
 * sent, never what it claimed.
 *
 * Concurrency: like Kafka, a connection's requests take effect in the order they were sent, so a
 * request sees the effects of every earlier one (a ListOffsets after an acks=0 Produce sees its
 * records). Requests for which `mayOverlap` is true (Produce) may run alongside each other, which
 * keeps pipelined producers fast and lets one fsync cover several of their batches; any other
 * request starts only once everything before it has finished, and holds back what follows.
 *
 * Backpressure: the socket stops being read while `maxInFlight` requests are being processed or
 * while the kernel's send buffer is full (the socket asks for a drain), and resumes afterwards.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';

/** api_key + api_version + correlation_id + client_id length: the smallest request header. */
export const MIN_REQUEST_SIZE = 10;

export interface ConnectionOptions {
  id: number;
  maxRequestBytes: number;
  maxInFlight: number;
  logger: Logger;
  /** Processes one request frame. Resolves with the response frame's chunks, or null for no response. */
  dispatch: (frame: Buffer, connection: Connection) => Promise<Buffer[] | null>;
  /** Whether a request may run alongside other such requests of the connection (see above). */
  mayOverlap: (frame: Buffer) => boolean;
  onClose: (connection: Connection) => void;
}

/** Thrown by the dispatcher for a request that cannot be answered: the connection is closed. */
export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

interface ResponseSlot {
  done: boolean;
  chunks: Buffer[] | null;
}

interface WaitingRequest {
  frame: Buffer;
  slot: ResponseSlot;
  overlaps: boolean;
}

export class Connection {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The client id of the first request, for logs (set by the dispatcher). */
  clientId: string | null | undefined = undefined;
  /** Set from the ApiVersions v3+ request, for logs and metrics. */
  clientSoftwareName: string | null = null;
  clientSoftwareVersion: string | null = null;
  lastActivityMs = Date.now();
  /** Requests received on this connection. */
  requestCount = 0;
  /** Logs about this connection: they carry its id and remote address. */
  readonly logger: Logger;

  private readonly socket: Socket;
  private readonly options: ConnectionOptions;
  private readonly received: Buffer[] = [];
  private receivedBytes = 0;
  /** Size of the frame being gathered, or -1 while waiting for a size prefix. */
  private frameSize = -1;
  private readonly responses: ResponseSlot[] = [];
  /** Requests received but not started yet, in arrival order. */
  private readonly waiting: WaitingRequest[] = [];
  private running = 0;
  private runningExclusive = false;
  private waitingForDrain = false;
  /** A write of the ready responses is scheduled for the end of this tick. */
  private writeScheduled = false;
  private draining = false;
  private closed = false;
  private drained: (() => void) | null = null;
  private readonly openedAtMs = Date.now();

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.id = options.id;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remotePort = socket.remotePort ?? 0;
    this.logger = options.logger.child({ connection: this.id, remote: `${this.remoteAddress}:${this.remotePort}` });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.processFrames();
    });
    socket.on('error', (error) => this.logger.debug({ err: error }, 'socket error'));
    socket.on('close', () => this.onSocketClosed());
    this.logger.debug({ local: `${socket.localAddress ?? ''}:${socket.localPort ?? 0}` }, 'connection opened');
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.responses.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onData(chunk: Buffer): void {
    this.lastActivityMs = Date.now();
    this.received.push(chunk);
    this.receivedBytes += chunk.length;
    this.processFrames();
  }

  /** Cuts complete frames off the received bytes while the in-flight limit allows. */
  private processFrames(): void {
    // Frames already received wait too while the peer is not reading its responses: otherwise a
    // client that pipelines and never reads would make us buffer responses without bound.
    while (!this.closed && !this.draining && !this.waitingForDrain && this.responses.length < this.options.maxInFlight) {
      if (this.frameSize < 0) {
        if (this.receivedBytes < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < MIN_REQUEST_SIZE || size > this.options.maxRequestBytes) {
          this.abort(`frame size ${size} outside [${MIN_REQUEST_SIZE}, ${this.options.maxRequestBytes}]`);
          return;
        }
        this.frameSize = size;
      }
      if (this.receivedBytes < this.frameSize) break;
      const frame = this.take(this.frameSize);
      this.frameSize = -1;
      this.requestCount++;
      const slot: ResponseSlot = { done: false, chunks: null };
      this.responses.push(slot);
      this.waiting.push({ frame, slot, overlaps: this.options.mayOverlap(frame) });
      this.startWaitingRequests();
    }
    this.updateFlow();
  }

  /** Starts waiting requests, in arrival order, as far as the ordering rules of the class allow. */
  private startWaitingRequests(): void {
    while (!this.closed && !this.draining && this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const canStart = next.overlaps ? !this.runningExclusive : this.running === 0;
      if (!canStart) return;
      this.waiting.shift();
      this.running++;
      if (!next.overlaps) this.runningExclusive = true;
      this.startRequest(next.frame, next.slot, next.overlaps);
    }
  }

  /** Removes `size` bytes from the front of the received chunks; slices when they are contiguous. */
  private take(size: number): Buffer {
    const first = this.received[0]!;
    let frame: Buffer;
    if (first.length >= size) {
      frame = first.subarray(0, size);
      if (first.length === size) this.received.shift();
      else this.received[0] = first.subarray(size);
    } else {
      frame = Buffer.allocUnsafe(size);
      let copied = 0;
      while (copied < size) {
        const chunk = this.received[0]!;
        const part = Math.min(chunk.length, size - copied);
        chunk.copy(frame, copied, 0, part);
        copied += part;
        if (part === chunk.length) this.received.shift();
        else this.received[0] = chunk.subarray(part);
      }
    }
    this.receivedBytes -= size;
    return frame;
  }

  private startRequest(frame: Buffer, slot: ResponseSlot, overlaps: boolean): void {
    let pending: Promise<Buffer[] | null>;
    try {
      pending = this.options.dispatch(frame, this);
    } catch (error) {
      this.onDispatchError(error);
      return;
    }
    pending.then(
      (chunks) => {
        slot.chunks = chunks;
        slot.done = true;
        this.running--;
        if (!overlaps) this.runningExclusive = false;
        this.startWaitingRequests();
        this.scheduleResponseWrite();
      },
      (error: unknown) => this.onDispatchError(error),
    );
  }

  private onDispatchError(error: unknown): void {
    if (error instanceof ProtocolViolation) {
      this.abort(error.message);
    } else {
      this.logger.error({ err: error }, 'request failed unexpectedly; closing the connection');
      this.destroy();
    }
  }

  /**
   * Writes the ready responses once the promise chains running now have settled (a nextTick queued
   * from a promise callback runs after the microtask queue drains): the produce requests that one
   * coalesced disk write completes become ready in the same burst, and leave in one socket write
   * instead of one each.
   */
  private scheduleResponseWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    process.nextTick(() => {
      this.writeScheduled = false;
      this.writeReadyResponses();
    });
  }

  /** Writes every response at the head of the queue that is ready, in one corked batch. */
  private writeReadyResponses(): void {
    if (this.closed) return;
    let wrote = false;
    while (this.responses.length > 0 && this.responses[0]!.done) {
      const slot = this.responses.shift()!;
      if (slot.chunks === null) continue;
      if (!wrote) this.socket.cork();
      wrote = true;
      for (const chunk of slot.chunks) {
        if (!this.socket.write(chunk)) this.waitingForDrain = true;
      }
    }
    if (wrote) {
      this.socket.uncork();
      this.lastActivityMs = Date.now();
    }
    if (this.draining && this.responses.length === 0) this.finishDrain();
    else this.processFrames();
  }

  /** Pauses or resumes reading from the socket according to the in-flight limit and drain state. */
  private updateFlow(): void {
    if (this.closed) return;
    const mustPause = this.draining || this.waitingForDrain || this.responses.length >= this.options.maxInFlight;
    if (mustPause) {
      if (!this.socket.isPaused()) this.socket.pause();
    } else if (this.socket.isPaused()) {
      this.socket.resume();
    }
  }

  /** Closes the connection because the peer broke the protocol; other connections are unaffected. */
  abort(reason: string): void {
    if (this.closed) return;
    this.logger.warn({ reason }, 'closing connection after a protocol violation');
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.onSocketClosed();
  }

  /**
   * Graceful close: stop reading new requests, let the ones already received finish and their
   * responses be written, then end the socket. Resolves when that is done or after `timeoutMs`.
   */
  drain(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.draining = true;
    // Requests received but not started are dropped (their slots are the queue's tail, as requests
    // start in arrival order); the client sees the connection close and retries elsewhere or later.
    this.responses.splice(this.responses.length - this.waiting.length);
    this.waiting.length = 0;
    this.updateFlow();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.destroy();
        resolve();
      }, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
      if (this.responses.length === 0) this.finishDrain();
    });
  }

  private finishDrain(): void {
    this.socket.end();
    this.socket.once('close', () => this.drained?.());
    if (this.socket.destroyed) this.drained?.();
  }

  private onSocketClosed(): void {
    if (this.closed) {
      this.drained?.();
      return;
    }
    this.closed = true;
    this.received.length = 0;
    this.waiting.length = 0;
    this.receivedBytes = 0;
    this.logger.debug(
      {
        clientId: this.clientId ?? null,
        clientSoftwareName: this.clientSoftwareName,
        clientSoftwareVersion: this.clientSoftwareVersion,
        requests: this.requestCount,
        durationMs: Date.now() - this.openedAtMs,
      },
      'connection closed',
    );
    this.options.onClose(this);
    this.drained?.();
  }
}
