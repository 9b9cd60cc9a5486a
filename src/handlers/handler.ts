/**
 * What a request handler is: the API key and version range it serves, the generated codec functions
 * for its request and response, and `handle`, which turns a decoded request into a response.
 * Handlers are thin (decode is done for them; they call the cluster or a coordinator and build the
 * typed response). The registry built from them is the only list of supported APIs: the dispatcher
 * and ApiVersions both read it, so they cannot disagree.
 */
import type { Reader } from '../protocol/primitives/reader.js';
import type { Writer } from '../protocol/primitives/writer.js';
import type { RequestHeader } from '../protocol/frame.js';
import type { BrokerConfig } from '../config.js';
import type { Cluster } from '../cluster/cluster.js';
import type { ProducerIdAllocator } from '../cluster/producer-ids.js';
import type { Logger } from '../logger.js';
import type { Connection } from '../server/connection.js';
import type { GroupCoordinator } from '../coordinator/group/group-coordinator.js';
import type { RequestMetrics } from '../metrics/request-metrics.js';

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly cluster: Cluster;
  readonly logger: Logger;
  readonly producerIds: ProducerIdAllocator;
  /** Consumer groups and their committed offsets. */
  readonly groups: GroupCoordinator;
  /** Host and port clients are told to use. */
  readonly advertised: { readonly host: string; readonly port: number };
  /** Aborted when the broker begins shutting down: long polls answer at once. */
  readonly shutdown: AbortSignal;
  readonly handlers: HandlerRegistry;
  /** Where the dispatcher counts requests, bytes and latency; absent when metrics are off. */
  readonly requestMetrics?: RequestMetrics | null;
}

export interface RequestContext {
  readonly header: RequestHeader;
  readonly connection: Connection;
  readonly broker: BrokerContext;
}

export interface Handler<Request, Response> {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  decodeRequest(reader: Reader, version: number): Request;
  encodeResponse(writer: Writer, version: number, response: Response): void;
  /** Returns the response, or null when the request gets none (Produce with acks=0). */
  handle(request: Request, context: RequestContext): Response | null | Promise<Response | null>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds handlers of every message type
export type AnyHandler = Handler<any, any>;

/** Identity function that lets TypeScript infer a handler's request and response types. */
export function defineHandler<Request, Response>(handler: Handler<Request, Response>): Handler<Request, Response> {
  return handler;
}

export class HandlerRegistry {
  private readonly byApiKey = new Map<number, AnyHandler>();

  constructor(handlers: readonly AnyHandler[]) {
    for (const handler of handlers) {
      if (this.byApiKey.has(handler.apiKey)) throw new Error(`two handlers for API key ${handler.apiKey}`);
      this.byApiKey.set(handler.apiKey, handler);
    }
  }

  get(apiKey: number): AnyHandler | undefined {
    return this.byApiKey.get(apiKey);
  }

  /** The supported APIs and versions, sorted by key, as ApiVersions advertises them. */
  supported(): Array<{ apiKey: number; minVersion: number; maxVersion: number }> {
    return [...this.byApiKey.values()]
      .map(({ apiKey, minVersion, maxVersion }) => ({ apiKey, minVersion, maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }
}
