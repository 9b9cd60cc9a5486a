/**
 * A transparent TCP proxy in front of the broker that notes, for every request frame a client sends,
 * its client id, API key and API version. The broker advertises the proxy's port (the CLI's
 * `--advertised-port`), so clients that follow Metadata keep talking through it, and the test can
 * report which API versions each client library negotiated. Bytes are forwarded unchanged.
 *
 * The proxy runs on the test's own event loop: a client driven from the same process must not
 * block that loop waiting for the broker (e.g. confluent-kafka-javascript's commitSync()).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface SeenRequest {
  clientId: string | null;
  apiKey: number;
  apiVersion: number;
}

export class SniffProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Where connections are forwarded; changes when the broker restarts on another port. */
  targetPort = 0;
  readonly seen: SeenRequest[] = [];
  port = 0;

  constructor() {
    this.server = createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no address');
    this.port = address.port;
    return this.port;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (size < 0 || size > 200 * 1024 * 1024) {
          pending = Buffer.alloc(0); // not ours to judge; the broker will close it
          break;
        }
        if (pending.length < 4 + size) break;
        this.note(pending.subarray(4, 4 + size));
        pending = pending.subarray(4 + size);
      }
      if (pending.length > 0 && pending.byteOffset > 0) pending = Buffer.from(pending);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }

  private note(frame: Buffer): void {
    if (frame.length < 10) return;
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const idLength = frame.readInt16BE(8);
    const clientId = idLength >= 0 && 10 + idLength <= frame.length ? frame.toString('utf8', 10, 10 + idLength) : null;
    this.seen.push({ clientId, apiKey, apiVersion });
  }

  /** Closes every proxied connection (as a broker restart would). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
