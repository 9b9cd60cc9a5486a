/**
 * The TCP listener: accepts connections up to a limit, reaps idle ones, and shuts down gracefully
 * (stop accepting, let in-flight requests finish and be answered, then close every socket).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../logger.js';
import { TributaryError } from '../errors.js';
import { Connection } from './connection.js';

export interface ListenerOptions {
  host: string;
  port: number;
  maxConnections: number;
  connectionsMaxIdleMs: number;
  maxRequestBytes: number;
  maxInFlightRequestsPerConnection: number;
  logger: Logger;
  dispatch: (frame: Buffer, connection: Connection) => Promise<Buffer[] | null>;
  mayOverlap: (frame: Buffer) => boolean;
}

export class Listener {
  private readonly options: ListenerOptions;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private nextConnectionId = 1;
  private idleReaper: NodeJS.Timeout | null = null;
  /** Connections accepted, closed and refused since start (metrics). */
  connectionsOpened = 0;
  connectionsClosed = 0;
  connectionsRefused = 0;

  constructor(options: ListenerOptions) {
    this.options = options;
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (error) => options.logger.error({ err: error }, 'listener error'));
  }

  /** Binds and starts accepting; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        reject(
          new TributaryError(
            'TRIB_ERR_LISTEN_FAILED',
            `Cannot listen on ${this.options.host}:${this.options.port}: ${error.message}. ` +
              'Choose another --port (or 0 for any free port) or stop the process using it.',
            { cause: error },
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const checkEveryMs = Math.max(10, Math.min(this.options.connectionsMaxIdleMs / 4, 30_000));
    this.idleReaper = setInterval(() => this.reapIdle(), checkEveryMs);
    this.idleReaper.unref();
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('listener has no TCP address');
    return { host: address.address, port: address.port };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.options.maxConnections) {
      this.options.logger.warn(
        { remote: socket.remoteAddress, limit: this.options.maxConnections },
        'connection refused: max.connections reached',
      );
      this.connectionsRefused++;
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, {
      id: this.nextConnectionId++,
      maxRequestBytes: this.options.maxRequestBytes,
      maxInFlight: this.options.maxInFlightRequestsPerConnection,
      logger: this.options.logger,
      dispatch: this.options.dispatch,
      mayOverlap: this.options.mayOverlap,
      onClose: (closed) => {
        this.connections.delete(closed);
        this.connectionsClosed++;
      },
    });
    this.connections.add(connection);
    this.connectionsOpened++;
  }

  /** Closes connections with nothing in flight that have been silent for connections.max.idle.ms. */
  private reapIdle(): void {
    const cutoff = Date.now() - this.options.connectionsMaxIdleMs;
    for (const connection of this.connections) {
      if (connection.inFlight === 0 && connection.lastActivityMs < cutoff) {
        this.options.logger.debug({ connection: connection.id }, 'closing idle connection');
        connection.destroy();
      }
    }
  }

  /** Stops accepting, drains every connection (up to `timeoutMs`), and closes the server. */
  async close(timeoutMs: number): Promise<void> {
    if (this.idleReaper !== null) clearInterval(this.idleReaper);
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((connection) => connection.drain(timeoutMs)));
    await serverClosed;
  }
}
