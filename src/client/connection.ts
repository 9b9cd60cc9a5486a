/**
 * One TCP connection to one broker: framing, correlation ids, pipelining and version negotiation.
 *
 * Requests are written as soon as they are made (pipelining); Kafka answers the requests of one
 * connection in the order they were sent, but responses are matched by correlation id anyway, so a
 * misbehaving peer cannot hand one request's answer to another. Right after connecting the
 * connection asks ApiVersions and from then on sends each API in the highest version both sides
 * support. A request that gets no answer in time closes the connection, as Kafka clients do: the
 * late answer could otherwise be mistaken for another one.
 */
import { connect, type Socket } from 'node:net';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { decodeResponseHeader, encodeRequestHeader } from '../protocol/frame.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { ApiVersionsResponse } from '../protocol/generated/api-versions.js';
import { Api, type ApiSpec } from './apis.js';
import { BrokerConnectionError, KafkaError, RequestTimeoutError, UnsupportedVersionError } from './errors.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

export function formatAddress(address: BrokerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export interface ConnectionOptions {
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface VersionRange {
  min: number;
  max: number;
}

export interface RequestOptions {
  /** Upper bound below the negotiated version (e.g. Fetch without topic ids). */
  maxVersion?: number;
  /** Overrides the connection's request timeout (long polls need more). */
  timeoutMs?: number;
  /** false for Produce with acks=0: the broker sends no response. */
  expectResponse?: boolean;
}

interface Pending {
  apiKey: number;
  apiVersion: number;
  what: string;
  timer: NodeJS.Timeout | null;
  resolve: (frame: Reader) => void;
  reject: (error: Error) => void;
}

/** Largest response accepted; a bigger size field means a corrupt stream or not a Kafka broker. */
const MAX_RESPONSE_BYTES = 1024 * 1024 * 1024;

export class Connection {
  readonly address: BrokerAddress;
  readonly label: string;
  private readonly socket: Socket;
  private readonly options: ConnectionOptions;
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closedError: Error | null = null;
  /** The broker's version range of every API it offers (from ApiVersions). */
  private brokerVersions = new Map<number, VersionRange>();

  private constructor(socket: Socket, address: BrokerAddress, options: ConnectionOptions) {
    this.socket = socket;
    this.address = address;
    this.label = formatAddress(address);
    this.options = options;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(new BrokerConnectionError([this.label], `connection to ${this.label} failed: ${error.message}`, { cause: error })));
    socket.on('close', () => this.fail(new BrokerConnectionError([this.label], `connection to ${this.label} was closed by the broker`)));
  }

  /** Connects and negotiates API versions; rejects with a BrokerConnectionError when unreachable. */
  static async open(address: BrokerAddress, options: ConnectionOptions): Promise<Connection> {
    const label = formatAddress(address);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BrokerConnectionError([label], `cannot connect to ${label} (no answer within ${options.connectTimeoutMs} ms)`));
      }, options.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new BrokerConnectionError([label], `cannot connect to ${label} (${error.code ?? error.message})`, { cause: error }));
      });
    });
    const connection = new Connection(socket, address, options);
    try {
      await connection.negotiateVersions();
    } catch (error) {
      connection.close();
      throw error;
    }
    return connection;
  }

  get isClosed(): boolean {
    return this.closedError !== null;
  }

  /** The broker's versions of every API it offers. */
  get apiVersions(): ReadonlyMap<number, VersionRange> {
    return this.brokerVersions;
  }

  /**
   * ApiVersions, highest version first. A broker that does not know that version answers
   * UNSUPPORTED_VERSION in a v0 body listing what it supports (KIP-511); the client then asks again
   * in the highest version the broker named.
   */
  private async negotiateVersions(): Promise<void> {
    let version = Api.ApiVersions.maxVersion;
    for (let attempt = 0; attempt < 3; attempt++) {
      const frame = await this.exchange(Api.ApiVersions.apiKey, version, 'ApiVersions', (w) =>
        Api.ApiVersions.encode(w, version, { clientSoftwareName: 'tributary', clientSoftwareVersion: '1' }),
      );
      const start = frame.offset;
      let response: ApiVersionsResponse = Api.ApiVersions.decode(frame, version);
      if (!frame.ok || response.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        const v0 = new Reader(frame.buffer, start, frame.end);
        response = Api.ApiVersions.decode(v0, 0);
        if (!v0.ok) throw new BrokerConnectionError([this.label], `${this.label} answered ApiVersions with bytes that do not parse: is it a Kafka broker?`);
      }
      if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        const offered = response.apiKeys.find((key) => key.apiKey === Api.ApiVersions.apiKey);
        if (offered === undefined || offered.maxVersion >= version) {
          throw new UnsupportedVersionError(this.label, 'ApiVersions', { min: 0, max: Api.ApiVersions.maxVersion }, null);
        }
        version = offered.maxVersion;
        continue;
      }
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `asking ${this.label} for its API versions`);
      this.brokerVersions = new Map(response.apiKeys.map((key) => [key.apiKey, { min: key.minVersion, max: key.maxVersion }]));
      return;
    }
    throw new UnsupportedVersionError(this.label, 'ApiVersions', { min: 0, max: Api.ApiVersions.maxVersion }, null);
  }

  /** The version to use for `api`: the highest both sides support, at most `cap`. */
  versionFor(api: ApiSpec<unknown, unknown>, cap = Number.POSITIVE_INFINITY): number {
    const broker = this.brokerVersions.get(api.apiKey);
    const max = Math.min(api.maxVersion, broker?.max ?? -1, cap);
    if (broker === undefined || max < api.minVersion || max < broker.min) {
      throw new UnsupportedVersionError(this.label, api.name, { min: api.minVersion, max: Math.min(api.maxVersion, cap) }, broker ?? null);
    }
    return max;
  }

  supports(api: ApiSpec<unknown, unknown>): boolean {
    try {
      this.versionFor(api);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends one request in the negotiated version. `build` makes the request body for that version
   * (fields differ between versions). Resolves with the decoded response and the version used.
   */
  async request<Request, Response>(
    api: ApiSpec<Request, Response>,
    build: (version: number) => Request,
    options: RequestOptions = {},
  ): Promise<{ response: Response; version: number }> {
    const version = this.versionFor(api as ApiSpec<unknown, unknown>, options.maxVersion);
    const body = build(version);
    const frame = await this.exchange(api.apiKey, version, api.name, (w) => api.encode(w, version, body), options);
    if (options.expectResponse === false) return { response: undefined as Response, version };
    const response = api.decode(frame, version);
    if (!frame.ok) {
      this.fail(new BrokerConnectionError([this.label], `${this.label} sent a ${api.name} v${version} response that does not parse: ${frame.error}`));
      throw this.closedError!;
    }
    return { response, version };
  }

  /** Writes one request frame; resolves with a reader positioned after the response header. */
  private exchange(
    apiKey: number,
    apiVersion: number,
    what: string,
    writeBody: (w: Writer) => void,
    options: RequestOptions = {},
  ): Promise<Reader> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId === 0x7fffffff ? 1 : this.nextCorrelationId + 1;
    const writer = new Writer(512);
    writer.int32(0);
    encodeRequestHeader(writer, { apiKey, apiVersion, correlationId, clientId: this.options.clientId });
    writeBody(writer);
    const chunks = writer.chunks();
    const head = chunks[0]!;
    head.writeInt32BE(writer.length - 4, 0);
    if (options.expectResponse === false) {
      return new Promise((resolve, reject) => {
        this.socket.write(chunks.length === 1 ? head : Buffer.concat(chunks), (error) =>
          error ? reject(new BrokerConnectionError([this.label], `writing to ${this.label} failed: ${error.message}`)) : resolve(new Reader(Buffer.alloc(0))),
        );
      });
    }
    return new Promise<Reader>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
      const pending: Pending = { apiKey, apiVersion, what: `${what} v${apiVersion}`, timer: null, resolve, reject };
      pending.timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new RequestTimeoutError(this.label, pending.what, timeoutMs));
        this.fail(new BrokerConnectionError([this.label], `connection to ${this.label} closed after a request timed out`));
      }, timeoutMs);
      this.pending.set(correlationId, pending);
      this.socket.write(chunks.length === 1 ? head : Buffer.concat(chunks));
    });
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const first = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.joinChunks();
      const size = first.readInt32BE(0);
      if (size < 4 || size > MAX_RESPONSE_BYTES) {
        this.fail(new BrokerConnectionError([this.label], `${this.label} sent a response frame of ${size} bytes: is it a Kafka broker?`));
        return;
      }
      if (this.buffered < 4 + size) return;
      const all = this.joinChunks();
      const frame = all.subarray(4, 4 + size);
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.dispatch(frame);
    }
  }

  private joinChunks(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0]!;
  }

  private dispatch(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const pending = this.pending.get(correlationId);
    if (pending === undefined) return; // the answer to a request that already timed out
    this.pending.delete(correlationId);
    if (pending.timer !== null) clearTimeout(pending.timer);
    const reader = new Reader(frame);
    decodeResponseHeader(reader, pending.apiKey, pending.apiVersion);
    pending.resolve(reader);
  }

  private fail(error: Error): void {
    if (this.closedError !== null) return;
    this.closedError = error;
    for (const pending of this.pending.values()) {
      if (pending.timer !== null) clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
    this.socket.destroy();
  }

  close(): void {
    this.fail(new BrokerConnectionError([this.label], `connection to ${this.label} was closed`));
  }
}
