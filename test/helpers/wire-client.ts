/**
 * A minimal Kafka wire client for protocol-level tests (pipelining, acks=0, hostile frames, exact
 * error codes). It speaks the protocol with the project's codec; compatibility itself is judged by
 * the real client libraries in the other end-to-end tests.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Reader } from '../../src/protocol/primitives/reader.js';
import { Writer } from '../../src/protocol/primitives/writer.js';
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/frame.js';
import { API_CODECS } from '../../src/protocol/generated/registry.js';

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (body: Reader) => void;
  reject: (error: Error) => void;
}

export class WireClient {
  private readonly socket: Socket;
  private received = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Correlation ids in the order their responses arrived. */
  readonly responseOrder: number[] = [];
  /** Bytes received from the broker so far (metrics tests compare them with the broker's count). */
  bytesReceived = 0;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    void this.closed.then(() => {
      for (const pending of this.pending.values()) pending.reject(new Error('connection closed'));
      this.pending.clear();
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    const socket = connect(port, host);
    await once(socket, 'connect');
    return new WireClient(socket);
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    this.received = Buffer.concat([this.received, chunk]);
    while (this.received.length >= 4) {
      const size = this.received.readInt32BE(0);
      if (this.received.length < 4 + size) break;
      const frame = this.received.subarray(4, 4 + size);
      this.received = this.received.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const pending = this.pending.get(correlationId);
      if (pending === undefined) continue;
      this.pending.delete(correlationId);
      this.responseOrder.push(correlationId);
      const reader = new Reader(frame);
      decodeResponseHeader(reader, pending.apiKey, pending.apiVersion);
      pending.resolve(reader);
    }
  }

  /** Writes raw bytes to the socket. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Encodes a request frame; returns it with its correlation id (not sent). */
  frame(apiKey: number, apiVersion: number, body: unknown, clientId: string | null = 'wire-test'): { correlationId: number; bytes: Buffer } {
    const codec = API_CODECS.get(apiKey);
    if (codec === undefined) throw new Error(`no codec for API ${apiKey}`);
    const correlationId = this.nextCorrelationId++;
    const writer = new Writer();
    writer.int32(0);
    encodeRequestHeader(writer, { apiKey, apiVersion, correlationId, clientId });
    codec.encodeRequest(writer, apiVersion, body);
    const bytes = writer.toBuffer();
    bytes.writeInt32BE(bytes.length - 4, 0);
    return { correlationId, bytes };
  }

  /** Sends a typed request and resolves with the decoded response. */
  request<T = any>(apiKey: number, apiVersion: number, body: unknown): Promise<T> {
    const { correlationId, bytes } = this.frame(apiKey, apiVersion, body);
    const response = this.expect(correlationId, apiKey, apiVersion).then((reader) => {
      const decoded = API_CODECS.get(apiKey)!.decodeResponse(reader, apiVersion);
      if (!reader.ok) throw new Error(`undecodable response: ${reader.error}`);
      return decoded as T;
    });
    this.socket.write(bytes);
    return response;
  }

  /** Registers interest in the response to `correlationId` (for frames sent with writeRaw). */
  expect(correlationId: number, apiKey: number, apiVersion: number): Promise<Reader> {
    return new Promise((resolve, reject) => this.pending.set(correlationId, { apiKey, apiVersion, resolve, reject }));
  }

  /** Stops reading responses (the kernel buffers fill and the broker must hold back). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }
}
