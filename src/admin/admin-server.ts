/**
 * The admin HTTP listener (node:http), off unless `admin.port` is set:
 * - `GET /metrics`: Prometheus text format (see metrics/broker-metrics.ts);
 * - `GET /health`: 200 while the process serves HTTP at all (liveness);
 * - `GET /ready`: 200 once the broker accepts Kafka connections with its group coordinator loaded,
 *   503 while it is starting or shutting down (readiness: take it out of load balancing);
 * - anything else: 404 (405 for methods other than GET and HEAD).
 * It starts before the broker opens its storage, so /health and /ready answer during a long
 * recovery, and stops last.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { TributaryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BrokerMetrics } from '../metrics/broker-metrics.js';

export type Readiness = 'starting' | 'ready' | 'stopping';

export interface AdminServerOptions {
  host: string;
  port: number;
  logger: Logger;
  metrics: BrokerMetrics;
  readiness: () => Readiness;
}

export class AdminServer {
  private readonly options: AdminServerOptions;
  private readonly server: Server;

  constructor(options: AdminServerOptions) {
    this.options = options;
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        options.logger.error({ err: error, path: request.url }, 'admin request failed');
        if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else response.destroy();
      });
    });
    this.server.on('error', (error) => options.logger.error({ err: error }, 'admin listener error'));
  }

  async listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) =>
        reject(
          new TributaryError(
            'TRIB_ERR_LISTEN_FAILED',
            `Cannot listen on ${host}:${port} for the admin listener: ${error.message}. Choose another --admin-port (or 0 for any free port).`,
            { cause: error },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('admin listener has no TCP address');
    return { host: address.address, port: address.port };
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://admin').pathname;
    const known = path === '/metrics' || path === '/health' || path === '/ready';
    if (!known) {
      send(response, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /health or /ready\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics':
        send(response, 200, this.options.metrics.contentType, await this.options.metrics.render());
        return;
      case '/health':
        send(response, 200, 'application/json', '{"status":"up"}\n');
        return;
      default: {
        const readiness = this.options.readiness();
        send(response, readiness === 'ready' ? 200 : 503, 'application/json', `{"status":"${readiness}"}\n`);
      }
    }
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
